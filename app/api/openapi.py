"""OpenAPI 3 document generated from the registered routes plus ``OPERATIONS`` (served without a token).

Every route of the API blueprint must have an entry in ``OPERATIONS`` (summary, query parameters,
request body, response schema, error codes); ``tests/security/test_authz_matrix.py`` fails otherwise.
"""

from __future__ import annotations

import re

from flask import current_app

from app import clock
from app.api.auth import bp
from app.params import INT32_MAX, INT_MAX, MAX_PAGE

ID = {"type": "integer", "minimum": 1, "maximum": INT_MAX}
VERSION = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
TEXT = {"type": "string", "maxLength": 200}
KEY = {"type": "string", "maxLength": 200, "pattern": "^[A-Za-z0-9_.:-]+$"}
OBJ = {"type": "object", "additionalProperties": True}
PAGE = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]


def _q(name: str, schema: dict | None = None, description: str = "") -> dict:
    out = {"name": name, "in": "query", "schema": schema or TEXT}
    if description:
        out["description"] = description
    return out


def _list(item: str) -> dict:
    return {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}, "total": {"type": "integer"}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict, required: bool = False) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


SCHEMAS = {
    "Error": {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": {
        "type": "object", "required": ["message"], "properties": {"message": {"type": "string"},
                                                                  "field": {"type": "string"}}}}}},
    "Task": {"type": "object", "properties": {
        "id": {"type": "string"}, "instance_id": {"type": "integer"}, "process_key": {"type": "string"},
        "element_id": {"type": "string"}, "name": {"type": "string", "nullable": True}, "lane": {"type": "string", "nullable": True},
        "assignee": {"type": "string", "nullable": True}, "due_at": {"type": "string", "nullable": True},
        "state": {"type": "string"}, "region_code": {"type": "string", "nullable": True}}},
    "Instance": {"type": "object", "required": ["id", "process_key", "status"], "properties": {
        "id": {"type": "integer"}, "process_key": {"type": "string"}, "version": {"type": "integer", "nullable": True},
        "business_key": {"type": "string", "nullable": True}, "status": {"type": "string"},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
        "incidents": {"type": "array"}, "summary": {"type": "object"}, "data": {"type": "object"}}},
    "Process": {"type": "object", "properties": {"process_key": {"type": "string"}, "name": {"type": "string", "nullable": True},
                                                 "latest_version": {"type": "integer"}}},
    "Version": {"type": "object", "properties": {"process_key": {"type": "string"}, "version": {"type": "integer"},
                                                 "created": {"type": "boolean"}}},
    "Event": {"type": "object", "properties": {"id": {"type": "integer"}, "type": {"type": "string"},
                                               "at": {"type": "string"}, "actor": {"type": "string", "nullable": True},
                                               "instance_id": {"type": "integer", "nullable": True},
                                               "element_id": {"type": "string", "nullable": True}, "detail": {}}},
    "Incident": {"type": "object", "properties": {"id": {"type": "integer"}, "instance_id": {"type": "integer"},
                                                  "element_id": {"type": "string", "nullable": True},
                                                  "message": {"type": "string"}, "attempts": {"type": "integer"}}},
    "Job": {"type": "object", "properties": {"id": {"type": "integer"}, "kind": {"type": "string"}}},
    "TaskPage": {"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}, "total": {"type": "integer"},
        "page": {"type": "integer"}, "per_page": {"type": "integer"}}},
    "MessageResult": {"type": "object", "properties": {
        "delivered": {"type": "array", "items": {"type": "integer"}},
        "started": {"type": "array", "items": {"type": "integer"}}, "refused": {"type": "array"}}},
}

START_BODY = {"type": "object", "properties": {
    "data": OBJ, "business_key": TEXT, "version": VERSION}, "description": "启动数据 / start data"}
MAPPING = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 200}}
MIGRATE_BODY = {"type": "object", "properties": {"to_version": VERSION, "dry_run": {"type": "boolean"},
                                                 "mapping": MAPPING}}
BULK_BODY = {"type": "object", "required": ["from_version", "to_version"], "properties": {
    "from_version": VERSION, "to_version": VERSION, "dry_run": {"type": "boolean"}, "business_key": TEXT,
    "status": {"type": "string", "maxLength": 20}, "mapping": MAPPING}}
MESSAGE_BODY = {"type": "object", "properties": {"business_key": TEXT, "correlation": OBJ, "data": OBJ,
                                                 "broadcast": {"type": "boolean"}}}
COMPLETE_BODY = {"type": "object", "properties": {"data": OBJ}}
DEPLOY_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                     "note": {"type": "string", "maxLength": 2000}}}}}}

EVIDENCE_BODY = {"type": "object", "required": ["kind"], "properties": {
    "kind": {"type": "string", "maxLength": 32}, "title": TEXT, "number": {"type": "string", "maxLength": 64},
    "issued_on": {"type": "string", "format": "date"}, "attachment": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
CLAIM_BODY = {"type": "object", "properties": {
    "claim_reason": {"type": "string", "maxLength": 1000}, "approach": {"type": "string", "maxLength": 2000},
    "target_sign_date": {"type": "string", "format": "date"}, "commissioner_name": {"type": "string", "maxLength": 50},
    "contact_mobile": {"type": "string", "maxLength": 20}}}
REACTIVATE_BODY = {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string", "minLength": 5, "maxLength": 2000}}}

# (method, path) -> summary, query, body, response schema, status of success, extra error codes
OPERATIONS: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/deployments"): dict(
        summary="部署流程文件 / deploy BPMN, DMN and form files (admin)", query=[_q("dry_run", {"enum": ["0", "1",
                                                                                             "true", "false"]})],
        body=DEPLOY_BODY, response={"type": "object", "properties": {"versions": {"type": "array", "items": _ref(
            "Version")}}}, status="201", errors=["400", "403", "413", "422"]),
    ("GET", "/api/v1/processes"): dict(summary="流程列表 / list processes", response=_list("Process")),
    ("GET", "/api/v1/processes/{key}/versions"): dict(summary="流程版本 / versions of a process",
                                                      response=_list("Version"), errors=["404"]),
    ("POST", "/api/v1/processes/{key}/instances"): dict(
        summary="启动实例 / start an instance (declared roles; start data within your jurisdiction)",
        body=_body(START_BODY), response=_ref("Instance"), status="201", errors=["400", "403", "404", "409", "422"]),
    ("POST", "/api/v1/processes/{key}/migrations"): dict(
        summary="批量迁移 / bulk migration (admin, dry run by default)", body=_body(BULK_BODY, True),
        response=OBJ, errors=["400", "403", "404", "409", "422"]),
    ("GET", "/api/v1/instances"): dict(
        summary="实例列表 / list instances (admin)", query=[_q("process_key"), _q("status"), _q("business_key"), *PAGE],
        response=_list("Instance"), errors=["400", "403"]),
    ("GET", "/api/v1/instances/{instance_id}"): dict(summary="实例详情 / instance with data and open tasks",
                                                     response=_ref("Instance"), errors=["403", "404"]),
    ("POST", "/api/v1/instances/{instance_id}/{action}"): dict(
        summary="cancel | suspend | resume | migrate (admin)", body=_body(MIGRATE_BODY), response=_ref("Instance"),
        errors=["400", "403", "404", "409", "422"]),
    ("GET", "/api/v1/instances/{instance_id}/events"): dict(summary="审计记录 / audit trail", response=_list("Event"),
                                                            errors=["403", "404"]),
    ("GET", "/api/v1/tasks"): dict(
        summary="我的待办 / the caller's inbox",
        query=[_q("process_key"), _q("element_id"), _q("region_code"), _q("tier"), _q("stage"), _q("lane"),
               _q("instance_id", ID), _q("warning"), _q("due", {"enum": ["overdue"]}),
               _q("q", {"type": "string", "maxLength": 100}, "项目或任务名称 / project or task name"),
               _q("mine", {"enum": ["0", "1", "true", "false"]}), *PAGE],
        response=_ref("TaskPage"), errors=["400"]),
    ("GET", "/api/v1/tasks/{task_id}"): dict(summary="任务详情与表单 / task with its form schema",
                                             response=_ref("Task"), errors=["403", "404"]),
    ("POST", "/api/v1/tasks/{task_id}/claim"): dict(summary="认领 / claim", response=_ref("Task"),
                                                    errors=["403", "404", "409"]),
    ("POST", "/api/v1/tasks/{task_id}/unclaim"): dict(summary="退回 / unclaim", response=_ref("Task"),
                                                      errors=["403", "404", "409"]),
    ("POST", "/api/v1/tasks/{task_id}/complete"): dict(
        summary="完成任务 / complete with form data", body=_body(COMPLETE_BODY), response=OBJ,
        errors=["400", "403", "404", "409", "422"]),
    ("POST", "/api/v1/messages/{name}"): dict(
        summary="发送消息 / correlate a message (declared roles; jurisdiction over every target)",
        body=_body(MESSAGE_BODY), response=_ref("MessageResult"), status="202",
        errors=["400", "403", "404", "409", "422"]),
    ("GET", "/api/v1/incidents"): dict(summary="故障列表 / open incidents (admin)", response=_list("Incident"),
                                       errors=["403"]),
    ("POST", "/api/v1/incidents/{incident_id}/retry"): dict(summary="重试 / retry an incident (admin)",
                                                            response=OBJ, errors=["403", "404", "409"]),
    ("GET", "/api/v1/jobs"): dict(summary="作业与定时器 / jobs and timers (admin)", query=[_q("kind")],
                                  response=_list("Job"), errors=["403"]),
    # projects branch (issue #12): stage evidence, 揭牌认领, reactivation of a sealed project
    ("GET", "/api/v1/projects/{project_id}/evidence"): dict(
        summary="转段材料 / the project's stage evidence: required per stage and present", response=OBJ,
        errors=["403", "404"]),
    ("POST", "/api/v1/projects/{project_id}/evidence"): dict(
        summary="登记转段材料 / attach a piece of stage evidence (editor role, own county)",
        body=_body(EVIDENCE_BODY, True), response=OBJ, status="201", errors=["403", "404", "422"]),
    ("GET", "/api/v1/projects/{project_id}/claim"): dict(
        summary="揭牌认领情况 / the project's claim (one claimant per project)", response=OBJ, errors=["403", "404"]),
    ("POST", "/api/v1/projects/{project_id}/claim"): dict(
        summary="揭牌认领 / claim a listed project for the caller's unit (county units, 市直部门)",
        body=_body(CLAIM_BODY), response=OBJ, status="201", errors=["403", "404", "409", "422"]),
    ("POST", "/api/v1/projects/{project_id}/reactivate"): dict(
        summary="重新激活封存项目 / reactivate a sealed project (committee office), with a reason",
        body=_body(REACTIVATE_BODY, True), response=OBJ, errors=["403", "404", "409", "422"]),
    ("GET", "/api/v1/clock"): dict(summary="服务器时钟 / the app clock", public=True, response={
        "type": "object", "properties": {"now": {"type": "string"}, "offset_seconds": {"type": "number"}}}),
    ("GET", "/api/v1/openapi.json"): dict(summary="本文档 / this document", public=True, response=OBJ),
}

PATH_PARAMS = {"key": KEY, "name": KEY, "task_id": {"type": "string", "maxLength": 64},
               "action": {"enum": ["cancel", "suspend", "resume", "migrate"]}, "instance_id": ID,
               "incident_id": ID, "project_id": {"type": "integer", "minimum": 1, "maximum": INT32_MAX}}
HTTP_TEXT = {"400": "请求格式错误 / malformed", "401": "未认证 / no or invalid token", "403": "无权 / not allowed",
             "404": "不存在 / not found", "409": "冲突 / conflict", "413": "过大 / too large",
             "422": "数据无效 / invalid data", "429": "尝试过多 / too many attempts"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def document(app) -> dict:
    paths: dict = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = openapi_path(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            spec = OPERATIONS.get((method, path), {"summary": rule.endpoint})
            params = [{"name": n, "in": "path", "required": True, "schema": PATH_PARAMS.get(n, TEXT)}
                      for n in re.findall(r"{([a-z_]+)}", path)] + list(spec.get("query", []))
            errors = ["400", *spec.get("errors", [])] if spec.get("public") else ["400", "401", "429",
                                                                                 *spec.get("errors", [])]
            responses = {spec.get("status", "200"): {"description": "OK", "content": {
                "application/json": {"schema": spec.get("response", OBJ)}}}}
            for code in sorted(set(errors)):
                responses[code] = {"description": HTTP_TEXT.get(code, code),
                                   "content": {"application/json": {"schema": _ref("Error")}}}
            responses["405"] = {"description": "不支持的方法 / method not allowed (Allow header)",
                                "headers": {"Allow": {"schema": {"type": "string"}}}}
            op = {"summary": spec["summary"], "operationId": f"{rule.endpoint}_{method.lower()}",
                  "parameters": params, "responses": responses}
            if not spec.get("public"):
                op["security"] = [{"bearer": []}]
            if "body" in spec:
                op["requestBody"] = spec["body"]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "普洱市招商引资全过程服务数字化平台 API", "version": "1.0.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": paths,
    }


@bp.get("/clock")
def get_clock():
    return {"now": clock.now().isoformat(), "offset_seconds": clock.offset().total_seconds()}


@bp.get("/openapi.json")
def openapi():
    return document(current_app)
