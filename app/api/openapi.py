"""OpenAPI 3 document generated from the registered routes (served without a token)."""

from __future__ import annotations

import re

SUMMARIES = {
    ("POST", "/api/v1/deployments"): "部署流程文件 / deploy BPMN, DMN and form files (multipart field 'files', "
                                     "optional 'note'); the answer lists 'versions' and lint 'warnings'",
    ("GET", "/api/v1/processes"): "流程列表 / list processes",
    ("GET", "/api/v1/processes/{key}/versions"): "流程版本 / versions of a process",
    ("POST", "/api/v1/processes/{key}/instances"): "启动实例 / start an instance",
    ("POST", "/api/v1/processes/{key}/migrations"): "批量迁移 / bulk migration (dry run by default)",
    ("GET", "/api/v1/instances"): "实例列表 / list instances (admin)",
    ("GET", "/api/v1/instances/{instance_id}"): "实例详情 / instance with data and open tasks",
    ("POST", "/api/v1/instances/{instance_id}/{action}"): "cancel | suspend | resume | migrate",
    ("GET", "/api/v1/instances/{instance_id}/events"): "审计记录 / audit trail",
    ("GET", "/api/v1/tasks"): "我的待办 / the caller's inbox",
    ("GET", "/api/v1/tasks/{task_id}"): "任务详情与表单 / task with its form schema",
    ("POST", "/api/v1/tasks/{task_id}/claim"): "认领 / claim",
    ("POST", "/api/v1/tasks/{task_id}/unclaim"): "退回 / unclaim",
    ("POST", "/api/v1/tasks/{task_id}/complete"): "完成任务 / complete with form data",
    ("POST", "/api/v1/messages/{name}"): "发送消息 / correlate a message",
    ("GET", "/api/v1/incidents"): "故障列表 / open incidents",
    ("POST", "/api/v1/incidents/{incident_id}/retry"): "重试 / retry an incident",
    ("GET", "/api/v1/jobs"): "作业与定时器 / jobs and timers",
}
ERROR = {"type": "object", "properties": {"errors": {"type": "array", "items": {
    "type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}}}}


def document(app) -> dict:
    paths: dict = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            params = [{"name": n, "in": "path", "required": True,
                       "schema": {"type": "integer" if "int:" + n in rule.rule else "string"}}
                      for n in re.findall(r"{([a-z_]+)}", path)]
            public = path in ("/api/v1/openapi.json", "/api/v1/clock")
            op = {
                "summary": SUMMARIES.get((method, path), rule.endpoint),
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "parameters": params,
                "responses": {"200": {"description": "OK"},
                              **({} if public else {"401": _err("未认证"), "403": _err("无权")}),
                              "404": _err("不存在"), "409": _err("冲突"), "422": _err("数据无效")},
            }
            if not public:
                op["security"] = [{"bearer": []}]
            if method == "POST":
                if path.endswith("/deployments"):
                    op["requestBody"] = {"content": {"multipart/form-data": {"schema": {
                        "type": "object", "properties": {"files": {"type": "array", "items": {
                            "type": "string", "format": "binary"}}, "note": {"type": "string"}}}}}}
                else:
                    op["requestBody"] = {"required": False, "content": {"application/json": {
                        "schema": {"type": "object"}}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "普洱市招商引资全过程服务数字化平台 API", "version": "1.0.0"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": ERROR}},
        "paths": paths,
    }


def _err(text: str) -> dict:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
