"""Security by default (rule 10): CSRF on every form, escaping of everything that comes from data,
BPMN or forms, security headers, and the pinned-asset fetcher's integrity and path checks."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from tests.web.helpers import csrf, login

XSS = "<script>alert('x')</script>"
XSS_ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
IMG = '<img src=x onerror="alert(1)">'

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_x" targetNamespace="http://t">
  <bpmn:process id="xss" name="XSS" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="zsw_office">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>t1</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="t1" name="TASKNAME">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="x.json"/>
          <spiffworkflow:property name="formUiSchemaFilename" value="x-uischema.json"/>
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>INSTRUCTIONS</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="t1"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
INSTRUCTIONS = ("# 说明\n\n" + XSS + "\n\n" + IMG + "\n\n**重要**:项目 {{ project_name }}\n\n"
                "[点我](javascript:alert(1)) [政策](https://www.puershi.gov.cn/) {{ __class__ }} {{ 1+1 }}")
SCHEMA = {"type": "object", "title": XSS, "required": ["choice"], "properties": {
    "choice": {"type": "string", "title": "选项" + XSS, "description": "帮助" + IMG,
               "oneOf": [{"const": "a\"><script>alert(2)</script>", "title": "选项A" + XSS}]},
    "note": {"type": "string", "title": "备注", "default": "\"><script>alert(3)</script>"},
}}
UI = {"note": {"ui:help": XSS, "ui:placeholder": "\" onfocus=\"alert(4)"}}


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@pytest.fixture
def xss_task(factory, db):
    from app.services.definitions import deploy

    bpmn = BPMN.replace("TASKNAME", esc("任务" + XSS)).replace("INSTRUCTIONS", esc(INSTRUCTIONS))
    files = [("x.bpmn", bpmn.encode()), ("x.json", json.dumps(SCHEMA).encode()), ("x-uischema.json", json.dumps(UI).encode())]
    with db.session_scope() as s:
        deploy.deploy_files(s, files, "tester")
    factory.user("off", "zsw_office")
    inst = factory.start("xss", data={"project_name": "项目" + XSS + IMG, "region_code": "530802"})
    return factory.open_tasks(inst["id"])["t1"]


# -- CSRF ----------------------------------------------------------------------------------------
def test_every_form_post_without_or_with_a_wrong_token_is_refused(client, factory, xss_task, db):
    from app.models.domain import Notification

    with db.session_scope() as s:
        s.add(Notification(user_id=None, role="zsw_office", title="通知"))
    assert client.post("/login", data={"username": "off", "password": "Secret-pass-9"}).status_code in (400, 403)
    login(client, "off")
    posts = [f"/tasks/{xss_task}", f"/tasks/{xss_task}/claim", f"/tasks/{xss_task}/unclaim",
             "/notifications/1/read", "/notifications/read-all", "/logout"]
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            r = client.post(path, data={**data, "choice": "x"})
            assert r.status_code in (400, 403), path
            assert "安全令牌无效" in r.get_data(as_text=True)
    assert client.get("/inbox").status_code == 200  # still signed in: logout was refused
    assert factory.open_tasks(1) == {"t1": xss_task}  # nothing completed


def test_token_of_another_session_is_refused(app, client, factory, xss_task):
    other = app.test_client()
    login(other, "off")
    stolen = csrf(other, "/inbox")
    login(client, "off")
    r = client.post(f"/tasks/{xss_task}/claim", data={"csrf_token": stolen})
    assert r.status_code == 403


def test_json_fetch_with_header_token_is_accepted(client, factory, xss_task):
    login(client, "off")
    token = csrf(client, "/inbox")
    r = client.post(f"/tasks/{xss_task}/claim", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert r.status_code == 302
    r = client.post(f"/tasks/{xss_task}/unclaim", headers={"X-CSRF-Token": "nope", "Accept": "application/json"})
    assert r.status_code == 403 and r.is_json


# -- escaping ------------------------------------------------------------------------------------
def test_project_name_and_task_name_are_escaped_in_the_inbox(client, xss_task):
    login(client, "off")
    html = client.get("/inbox").get_data(as_text=True)
    assert XSS not in html and "<img src=x" not in html
    assert XSS_ESCAPED in html
    assert "项目" + XSS_ESCAPED + "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "任务" + XSS_ESCAPED in html


def test_task_page_escapes_labels_help_options_values_and_sanitizes_instructions(client, xss_task):
    login(client, "off")
    html = client.get(f"/tasks/{xss_task}").get_data(as_text=True)
    assert "<script>" not in html.replace('<script src="/static/js/app.js"></script>', "").replace(
        '<script src="/static/js/taskform.js"></script>', "")
    assert "<img" not in html
    tags = [re.sub(r'"[^"]*"', '""', t) for t in re.findall(r"<[a-zA-Z][^>]*>", html)]  # attribute names only
    assert not [t for t in tags if re.search(r"\son[a-z]+=", t)]  # no event handler made it into a tag
    assert 'href="javascript:' not in html
    # labels, help, option titles, values, placeholder: escaped, visible as text
    assert "选项" + XSS_ESCAPED in html
    assert "帮助&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "选项A" + XSS_ESCAPED in html
    assert 'value="a&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in html
    assert 'placeholder="&#34; onfocus=&#34;alert(4)"' in html
    # instructions: Markdown works, raw HTML is shown as text, links are sanitized
    block = html[html.index('data-testid="instructions"'):]
    block = block[:block.index("</div>")]
    assert "<h1>说明</h1>" in block
    assert "<strong>重要</strong>" in block
    assert XSS_ESCAPED in block or "&lt;script&gt;alert('x')&lt;/script&gt;" in block
    assert '<a href="https://www.puershi.gov.cn/" rel="noopener noreferrer nofollow">政策</a>' in block
    assert "[点我](javascript:alert(1))" in block  # refused as a link, shown as text
    # {{ project_name }} is a plain lookup (escaped), never template evaluation
    assert "项目 项目&lt;script&gt;" in block
    assert "__class__" not in block and "{{ 1+1 }}" in block and ">2<" not in block


def test_invalid_submit_messages_and_kept_values_are_escaped(client, xss_task):
    login(client, "off")
    token = csrf(client, f"/tasks/{xss_task}")
    r = client.post(f"/tasks/{xss_task}", data={"csrf_token": token, "choice": XSS, "note": XSS + IMG})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "请从给定选项中选择" in html
    assert XSS + IMG not in html
    assert XSS_ESCAPED in html


def test_notification_text_and_links_are_escaped(client, factory, db, xss_task):
    from app.models.domain import Notification

    with db.session_scope() as s:
        s.add(Notification(role="zsw_office", title="标题" + XSS, body=IMG, link="javascript:alert(1)"))
        s.add(Notification(role="zsw_office", title="外链", link="https://evil.example.com/"))
    login(client, "off")
    html = client.get("/notifications").get_data(as_text=True)
    assert "标题" + XSS_ESCAPED in html and "<img" not in html
    assert "javascript:" not in html and "evil.example.com" not in html


def test_error_page_escapes_the_message(client, factory):
    factory.user("off", "zsw_office")
    login(client, "off")
    r = client.get("/tasks/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# -- headers -----------------------------------------------------------------------------------
def test_security_headers_and_no_inline_scripts(client, factory, xss_task):
    r = client.get("/")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "img-src 'self' data:" in csp and "object-src 'none'" in csp
    login(client, "off")
    for path in ("/inbox", f"/tasks/{xss_task}", "/notifications"):
        r = client.get(path)
        html = r.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        tags = [re.sub(r'"[^"]*"', '""', t) for t in re.findall(r"<[a-zA-Z][^>]*>", html)]  # attribute names only
        assert not [t for t in tags if re.search(r"\son[a-z]+=", t)], path  # no inline event handlers
        assert not re.search(r'href="\s*javascript:', html), path
        assert r.headers["Cache-Control"] == "no-store"


def test_attachment_route_rejects_bad_hashes(client, factory, xss_task):
    login(client, "off")
    assert client.get(f"/tasks/{xss_task}/attachments/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get(f"/tasks/{xss_task}/attachments/{'g' * 64}").status_code == 404


def test_oversized_request_is_413(app, client, factory, xss_task):
    login(client, "off")
    token = csrf(client, "/inbox")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    r = client.post(f"/tasks/{xss_task}", data={"csrf_token": token, "report": (io.BytesIO(b"x" * 4096), "a.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 413


# -- pinned assets -----------------------------------------------------------------------------
def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_assets_are_verified_extracted_selectively_and_idempotent(tmp_path):
    from app.web import assets

    data = _tarball({"package/dist/lib.min.js": b"// lib", "package/dist/assets/a.css": b"a{}",
                     "package/dist/assets/font/f.woff": b"woff", "package/src/other.js": b"no",
                     "package/../../escape.js": b"evil", "package/LICENSE": b"MIT"})
    manifest = tmp_path / "assets.json"
    pkg = {"name": "demo-lib", "version": "1.0.0", "integrity": _integrity(data),
           "files": ["LICENSE", "dist/lib.min.js", "dist/assets/**"]}
    manifest.write_text(json.dumps({"packages": [pkg]}))
    vendor = tmp_path / "vendor"
    urls = []

    def fake_fetch(name, version):
        urls.append(f"{name}@{version}")
        return data

    assert assets.fetch_all(manifest, vendor, fetch=fake_fetch) == 1
    assert urls == ["demo-lib@1.0.0"]
    got = sorted(p.relative_to(vendor).as_posix() for p in vendor.rglob("*") if p.is_file())
    assert got == ["demo-lib/.manifest.json", "demo-lib/LICENSE", "demo-lib/dist/assets/a.css",
                   "demo-lib/dist/assets/font/f.woff", "demo-lib/dist/lib.min.js"]
    assert not (tmp_path / "escape.js").exists()
    assert assets.fetch_all(manifest, vendor, fetch=fake_fetch) == 0  # present and verified
    assert len(urls) == 1
    (vendor / "demo-lib" / "dist" / "lib.min.js").write_bytes(b"// tampered")
    assert assets.status(manifest, vendor) == {"demo-lib@1.0.0": False}
    assert assets.fetch_all(manifest, vendor, fetch=fake_fetch) == 1
    assert (vendor / "demo-lib" / "dist" / "lib.min.js").read_bytes() == b"// lib"


def test_assets_integrity_mismatch_is_refused(tmp_path):
    from app.web import assets

    good = _tarball({"package/dist/lib.min.js": b"// lib"})
    evil = _tarball({"package/dist/lib.min.js": b"alert('pwned')"})
    manifest = tmp_path / "assets.json"
    manifest.write_text(json.dumps({"packages": [{"name": "demo-lib", "version": "1.0.0", "integrity": _integrity(good),
                                                  "files": ["dist/lib.min.js"]}]}))
    with pytest.raises(assets.AssetError, match="完整性校验失败"):
        assets.fetch_all(manifest, tmp_path / "vendor", fetch=lambda name, version: evil)
    assert not (tmp_path / "vendor" / "demo-lib").exists()


def test_assets_install_offline_from_a_folder_of_npm_pack_tarballs(tmp_path):
    """investflow assets fetch --from DIR: the same tarballs, the same integrity check, no network."""
    from click.testing import CliRunner

    from app.web import assets

    data = _tarball({"package/dist/lib.min.js": b"// lib"})
    scoped = _tarball({"package/dist/s.js": b"// scoped"})
    manifest = tmp_path / "assets.json"
    manifest.write_text(json.dumps({"packages": [
        {"name": "demo-lib", "version": "1.0.0", "integrity": _integrity(data), "files": ["dist/lib.min.js"]},
        {"name": "@demo/scoped", "version": "2.0.0", "integrity": _integrity(scoped), "files": ["dist/s.js"]}]}))
    folder = tmp_path / "tarballs"
    folder.mkdir()
    (folder / "demo-lib-1.0.0.tgz").write_bytes(data)
    assert assets.tarball_name("@demo/scoped", "2.0.0") == "demo-scoped-2.0.0.tgz"
    with pytest.raises(assets.AssetError, match="demo-scoped-2.0.0.tgz"):
        assets.fetch_all(manifest, tmp_path / "vendor", fetch=assets.from_folder(folder))
    (folder / "demo-scoped-2.0.0.tgz").write_bytes(_tarball({"package/dist/s.js": b"// tampered"}))
    with pytest.raises(assets.AssetError, match="完整性校验失败"):
        assets.fetch_all(manifest, tmp_path / "vendor", fetch=assets.from_folder(folder))
    (folder / "demo-scoped-2.0.0.tgz").write_bytes(scoped)
    # demo-lib was installed by the first attempt already; only the scoped package is left
    assert assets.fetch_all(manifest, tmp_path / "vendor", fetch=assets.from_folder(folder)) == 1
    assert assets.status(manifest, tmp_path / "vendor") == {"demo-lib@1.0.0": True, "@demo/scoped@2.0.0": True}
    assert (tmp_path / "vendor" / "@demo" / "scoped" / "dist" / "s.js").read_bytes() == b"// scoped"
    with pytest.raises(assets.AssetError, match="文件夹不存在"):
        assets.from_folder(tmp_path / "nope")

    # the CLI command reads the shipped manifest; an empty folder fails with a one-line reason
    from app.cli import main

    result = CliRunner().invoke(main, ["assets", "fetch", "--from", str(tmp_path / "empty-does-not-exist")])
    assert result.exit_code != 0


def test_no_registry_host_is_named_in_the_asset_code():
    from app.web import assets

    text = assets.MANIFEST.read_text(encoding="utf-8") + Path(assets.__file__).read_text(encoding="utf-8")
    assert "registry" not in assets.load_manifest()
    assert "https://" not in text and "npmjs" not in text


def test_shipped_manifest_pins_sha512_for_bpmn_js_and_echarts():
    from app.web import assets

    manifest = assets.load_manifest()
    names = {p["name"]: p for p in manifest["packages"]}
    assert {"bpmn-js", "echarts"} <= set(names)
    assert "dist/echarts.min.js" in names["echarts"]["files"]
    assert any(f.startswith("dist/bpmn-modeler") for f in names["bpmn-js"]["files"])
    assert all(p["integrity"].startswith("sha512-") and len(p["integrity"]) == 95 for p in manifest["packages"])
