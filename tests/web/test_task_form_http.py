"""The task page over HTTP: generated form, instructions, 422 with Chinese messages by the field,
values kept, coercion to schema types, drafts, uploads, 404/403/409."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from tests.web.helpers import csrf, login

RICH_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_rich" targetNamespace="http://t">
  <bpmn:process id="richform" name="富表单测试" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="county_ipb"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="zsw_office"><bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="报送项目情况">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="rich.json"/>
          <spiffworkflow:property name="formUiSchemaFilename" value="rich-uischema.json"/>
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>INSTRUCTIONS</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="市招商委办公室审核"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

FILE_SCHEMA = {"type": "object", "title": "可研报告",
               "properties": {"sha256": {"type": "string"}, "name": {"type": "string"},
                              "size": {"type": "integer"}, "type": {"type": "string"}}}
RICH_SCHEMA = {
    "title": "项目情况报送",
    "type": "object",
    "required": ["headcount", "industry", "contacts"],
    "properties": {
        "summary": {"type": "string", "title": "项目概述", "maxLength": 500},
        "headcount": {"type": "integer", "title": "拟用工人数", "minimum": 1, "description": "项目达产后的用工人数"},
        "land_mu": {"type": "number", "title": "用地(亩)", "minimum": 0},
        "top500": {"type": "boolean", "title": "是否500强企业"},
        "industry": {"type": "string", "title": "所属产业链",
                     "oneOf": [{"const": "tea", "title": "茶产业"}, {"const": "coffee", "title": "咖啡产业"}]},
        "mode": {"type": "string", "title": "招商方式", "enum": ["以商招商", "产业链招商", "驻点招商"]},
        "tags": {"type": "array", "title": "项目标签", "items": {"type": "string", "enum": ["链主", "专精特新", "外资"]}},
        "visit_date": {"type": "string", "format": "date", "title": "考察日期"},
        "report": FILE_SCHEMA,
        "contacts": {"type": "array", "title": "联系人", "minItems": 1,
                     "items": {"type": "object", "title": "联系人", "required": ["name"],
                               "properties": {"name": {"type": "string", "title": "姓名", "minLength": 1},
                                              "phone": {"type": "string", "title": "电话", "pattern": "^[0-9-]{7,20}$"}}}},
    },
}
RICH_UI = {
    "ui:order": ["industry", "headcount", "land_mu", "summary", "mode", "top500", "tags", "visit_date", "contacts",
                 "report"],
    "summary": {"ui:widget": "textarea", "ui:placeholder": "简要说明项目内容"},
    "mode": {"ui:widget": "radio"},
    "tags": {"ui:widget": "checkboxes"},
    "report": {"ui:widget": "file", "ui:help": "PDF 或 Word"},
    "land_mu": {"ui:help": "单位:亩"},
}
PDF = b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def deploy_rich(db, instructions="请核实 **{{ project_name }}** 的情况后报送。"):
    from app.services.definitions import deploy

    bpmn = RICH_BPMN.replace("INSTRUCTIONS", instructions.replace("&", "&amp;").replace("<", "&lt;")
                             .replace(">", "&gt;"))
    files = [("rich.bpmn", bpmn.encode()), ("rich.json", json.dumps(RICH_SCHEMA, ensure_ascii=False).encode()),
             ("rich-uischema.json", json.dumps(RICH_UI, ensure_ascii=False).encode())]
    with db.session_scope() as s:
        return deploy.deploy_files(s, files, "tester")


@pytest.fixture
def rich(factory, db, app, tmp_path):
    app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    deploy_rich(db)
    factory.org("ximeng", "西盟县投资促进局", region_code="530829")
    factory.user("xm", "county_ipb", org="ximeng")
    factory.user("off", "zsw_office")
    inst = factory.start("richform", data={"project_name": "西盟咖啡项目", "region_code": "530829", "tier": "重点",
                                           "stage": "S4_NEGOTIATE"})
    return {"instance": inst["id"], "task": factory.open_tasks(inst["id"])["fill"]}


def valid_form(token, **over):
    data = {"csrf_token": token, "action": "complete", "industry": "coffee", "headcount": "120", "land_mu": "35.5",
            "summary": "年产 1 万吨精品咖啡", "mode": "产业链招商", "top500": "true", "tags": ["链主", "外资"],
            "visit_date": "2026-03-01", "contacts[0][name]": "张三", "contacts[0][phone]": "0879-1234567",
            "contacts[1][name]": "李四", "contacts[1][phone]": ""}
    data.update(over)
    return data


def field_block(html: str, field_id: str) -> str:
    """The <div class="field"> (or fieldset) that holds the control with this id."""
    at = html.index(f'id="{field_id}"')
    start = max(html.rfind('<div class="field"', 0, at), html.rfind("<fieldset", 0, at))
    end = html.find("</div>", at) if html[start:start + 4] == "<div" else html.find("</fieldset>", at)
    return html[start:end]


def test_task_page_renders_the_generated_form_in_ui_order(client, rich):
    login(client, "xm")
    r = client.get(f"/tasks/{rich['task']}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    order = [html.index(f'id="f-{k}"') for k in RICH_UI["ui:order"]]
    assert order == sorted(order)
    assert '<label for="f-headcount">拟用工人数' in html
    assert "项目达产后的用工人数" in html and "单位:亩" in html and "PDF 或 Word" in html
    assert 'placeholder="简要说明项目内容"' in html
    assert re.search(r'<textarea id="f-summary"', html)
    assert '<option value="coffee">咖啡产业</option>' in html  # oneOf const + title
    flat = re.sub(r"\s+", " ", html)
    assert 'type="radio" id="f-mode-1" name="mode" value="产业链招商"' in flat
    assert 'type="checkbox" id="f-tags-0" name="tags" value="链主"' in flat
    assert 'type="checkbox" id="f-top500" name="top500" value="true"' in html
    assert 'type="date" id="f-visit_date"' in html
    assert 'type="file" id="f-report" name="report"' in html and 'enctype="multipart/form-data"' in html
    assert "data-repeat-template" in html and "contacts[__INDEX__][name]" in html and "data-repeat-add" in html
    # the project summary and the diagram link
    assert "西盟咖啡项目" in html and "西盟县" in html and "重点" in html and "商务谈判" in html
    assert "diagram-link" not in html  # no project id and not an admin: no diagram link
    assert "保存草稿" in html and "提交" in html
    # instructions: Markdown with the project name filled in
    assert "请核实 <strong>西盟咖啡项目</strong> 的情况后报送。" in html
    assert "/static/js/taskform.js" in html


def test_invalid_submit_is_422_with_chinese_messages_by_the_fields_and_values_kept(client, rich):
    login(client, "xm")
    token = csrf(client, f"/tasks/{rich['task']}")
    data = valid_form(token, headcount="十二", land_mu="-3", industry="",
                      **{"contacts[0][name]": "", "contacts[0][phone]": "abc", "contacts[1][name]": "",
                         "contacts[1][phone]": ""})
    r = client.post(f"/tasks/{rich['task']}", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "表单有" in html and "处需要修改" in html
    block = field_block(html, "f-headcount")
    assert 'value="十二"' in block  # kept as typed
    assert 'aria-invalid="true"' in block
    assert 'aria-describedby="f-headcount-help f-headcount-error"' in block
    assert '<p class="field-error" id="f-headcount-error" data-field="headcount">应为整数' in block
    assert "不能小于 0" in field_block(html, "f-land_mu") and 'value="-3"' in field_block(html, "f-land_mu")
    assert "此项为必填项" in field_block(html, "f-industry")
    assert "格式不正确" in html  # the phone of the first contact row
    assert 'name="contacts[0][phone]" value="abc"' in html
    # what was valid is kept too
    assert "年产 1 万吨精品咖啡</textarea>" in html
    assert 'value="产业链招商" checked' in html
    assert re.search(r'value="链主" checked', html) and re.search(r'value="外资" checked', html)
    assert 'value="2026-03-01"' in html
    assert re.search(r'id="f-top500" name="top500" value="true" checked', html)


def test_valid_submit_coerces_types_completes_and_the_next_task_is_for_the_office(client, rich, factory, db):
    from app.models.runtime import Instance
    from app.services.runtime import instances

    login(client, "xm")
    token = csrf(client, f"/tasks/{rich['task']}")
    r = client.post(f"/tasks/{rich['task']}", data=valid_form(token))
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    html = client.get("/inbox").get_data(as_text=True)
    assert "任务已完成" in html
    assert "市招商委办公室审核" not in html  # not for the county
    open_tasks = factory.open_tasks(rich["instance"])
    assert list(open_tasks) == ["review"]
    with db.read_scope() as s:
        data = instances.instance_data(s, s.get(Instance, rich["instance"]))
    assert data["headcount"] == 120 and isinstance(data["headcount"], int)
    assert data["land_mu"] == 35.5
    assert data["top500"] is True
    assert data["industry"] == "coffee"
    assert data["tags"] == ["链主", "外资"]
    assert data["contacts"] == [{"name": "张三", "phone": "0879-1234567"}, {"name": "李四"}]
    assert "report" not in data
    # the office sees the next task
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "off")
    html = client.get("/inbox").get_data(as_text=True)
    assert "市招商委办公室审核" in html
    # submitting the completed task again is a conflict
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "xm")
    page = client.get(f"/tasks/{rich['task']}")
    assert page.status_code == 200 and "此任务已完成" in page.get_data(as_text=True)
    r = client.post(f"/tasks/{rich['task']}", data=valid_form(csrf(client, "/inbox")))
    assert r.status_code == 409
    assert "操作冲突" in r.get_data(as_text=True)


def test_unchecked_boolean_is_false_and_empty_optional_fields_are_omitted(client, rich, db):
    from app.models.runtime import Instance
    from app.services.runtime import instances

    login(client, "xm")
    token = csrf(client, f"/tasks/{rich['task']}")
    form = valid_form(token, land_mu="", summary="", visit_date="", mode="")
    del form["top500"], form["tags"]
    assert client.post(f"/tasks/{rich['task']}", data=form).status_code == 302
    with db.read_scope() as s:
        data = instances.instance_data(s, s.get(Instance, rich["instance"]))
    assert data["top500"] is False and data["tags"] == []
    assert "land_mu" not in data and "visit_date" not in data and "summary" not in data


def test_draft_is_saved_without_validation_and_shown_again(client, rich, factory):
    login(client, "xm")
    token = csrf(client, f"/tasks/{rich['task']}")
    r = client.post(f"/tasks/{rich['task']}", data={"csrf_token": token, "action": "draft", "headcount": "abc",
                                                    "summary": "草稿内容", "contacts[0][name]": "王五"})
    assert r.status_code == 302
    html = client.get(f"/tasks/{rich['task']}").get_data(as_text=True)
    assert "草稿已保存" in html
    assert 'value="abc"' in field_block(html, "f-headcount")
    assert "草稿内容</textarea>" in html
    assert 'name="contacts[0][name]" value="王五"' in html
    assert factory.open_tasks(rich["instance"]) == {"fill": rich["task"]}


def test_file_upload_is_stored_by_content_hash_and_kept(client, rich, app):
    login(client, "xm")
    token = csrf(client, f"/tasks/{rich['task']}")
    form = valid_form(token, action="draft")
    form["report"] = (io.BytesIO(PDF), "可研报告.pdf")
    assert client.post(f"/tasks/{rich['task']}", data=form, content_type="multipart/form-data").status_code == 302
    sha = hashlib.sha256(PDF).hexdigest()
    stored = Path(app.config["ATTACHMENT_DIR"]) / sha[:2] / sha
    assert stored.read_bytes() == PDF
    html = client.get(f"/tasks/{rich['task']}").get_data(as_text=True)
    assert "可研报告.pdf" in html
    link = re.search(rf'href="(/tasks/{rich["task"]}/attachments/{sha}[^"]*)"', html).group(1)
    download = client.get(link.replace("&amp;", "&"))
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    # unrelated hash → 404
    assert client.get(f"/tasks/{rich['task']}/attachments/{'a' * 64}").status_code == 404
    # complete: the existing file is carried over via its hidden value
    existing = re.search(r'name="_existing:report" value="([^"]+)"', html).group(1)
    form = valid_form(csrf(client, "/inbox"))
    form["_existing:report"] = existing.replace("&#34;", '"').replace("&quot;", '"')
    assert client.post(f"/tasks/{rich['task']}", data=form).status_code == 302


def test_submitted_file_value_is_sha_name_size_type(client, rich, db):
    from app.models.runtime import Instance
    from app.services.runtime import instances

    login(client, "xm")
    form = valid_form(csrf(client, f"/tasks/{rich['task']}"))
    form["report"] = (io.BytesIO(PDF), "../../etc/报告.pdf")
    assert client.post(f"/tasks/{rich['task']}", data=form, content_type="multipart/form-data").status_code == 302
    with db.read_scope() as s:
        data = instances.instance_data(s, s.get(Instance, rich["instance"]))
    assert data["report"] == {"sha256": hashlib.sha256(PDF).hexdigest(), "name": "报告.pdf", "size": len(PDF),
                              "type": "application/pdf"}


@pytest.mark.parametrize("filename,content,message", [
    ("malware.exe", b"MZ\x90\x00", "文件类型不允许"),
    ("fake.pdf", b"<html><script>alert(1)</script>", "文件内容与扩展名不符"),
    ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "大小限制"),
])
def test_upload_type_and_size_limits(client, rich, app, filename, content, message):
    login(client, "xm")
    form = valid_form(csrf(client, f"/tasks/{rich['task']}"))
    form["report"] = (io.BytesIO(content), filename)
    r = client.post(f"/tasks/{rich['task']}", data=form, content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in field_block(html, "f-report")
    assert 'value="120"' in html  # the rest of the form is kept
    directory = Path(app.config["ATTACHMENT_DIR"])
    assert not directory.exists() or not [p for p in directory.rglob("*") if p.is_file()]


def test_onboarding_form_invalid_then_valid(client, factory):
    factory.deploy_onboarding()
    factory.user("off", "zsw_office")
    inst = factory.start(data={"project_name": "普洱茶项目", "project_id": 7})
    task = factory.open_tasks(inst["id"])["ut1"]
    login(client, "off")
    html = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert f'href="/projects/7?instance={inst["id"]}#sec-diagram"' in html
    assert 'value="普洱茶项目"' in html  # prefilled from the instance data
    assert "请填写 普洱茶项目 的基本信息" in html
    token = csrf(client, "/inbox")
    r = client.post(f"/tasks/{task}", data={"csrf_token": token, "project_name": "", "amount_wan": "一百",
                                            "tier": "重大"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "此项为必填项" in field_block(html, "f-project_name")
    assert "应为数字" in field_block(html, "f-amount_wan")
    assert '<option value="重大" selected>' in html
    r = client.post(f"/tasks/{task}", data={"csrf_token": token, "project_name": "普洱茶项目", "amount_wan": "1000",
                                            "tier": "重大", "sign_date": "2026-05-01"})
    assert r.status_code == 302
    assert "ut2" in factory.open_tasks(inst["id"])


def test_unknown_task_404_and_foreign_task_403(client, rich, factory):
    factory.user("legal1", "legal")
    login(client, "legal1")
    r = client.get("/tasks/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    r = client.get(f"/tasks/{rich['task']}")
    assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True)
    r = client.post(f"/tasks/{rich['task']}", data=valid_form(csrf(client, "/inbox")))
    assert r.status_code == 403


def test_task_claimed_by_another_is_read_only(client, rich, factory):
    factory.org("ximeng2", region_code="530829")
    factory.user("xm2", "county_ipb", org="ximeng2")
    login(client, "xm2")
    client.post(f"/tasks/{rich['task']}/claim", data={"csrf_token": csrf(client, "/inbox")})
    client.post("/logout", data={"csrf_token": csrf(client, "/inbox")})
    login(client, "xm")
    html = client.get(f"/tasks/{rich['task']}").get_data(as_text=True)
    assert "此任务已由 xm2 认领" in html and "data-task-form" not in html
    r = client.post(f"/tasks/{rich['task']}", data=valid_form(csrf(client, "/inbox")))
    assert r.status_code == 403
