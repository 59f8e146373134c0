"""Every city process in processes/ opens in the bpmn-js modeler with its shapes drawn and no
validation problem listed (deploy-time validation and the modeler agree)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_modeler_flow import sign_in, vendored  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def test_each_city_process_opens_in_the_modeler(live_server, page, screenshot, factory, db, vendored):  # noqa: F811
    from app.services.definitions import deploy

    with db.session_scope() as s:
        versions = deploy.deploy_folder(s, ROOT / "processes", "tester", forms_dir=ROOT / "forms")
    keys = sorted(v["process_key"] for v in versions)
    assert len(keys) >= 10
    warnings: list[str] = []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.text.startswith("bpmn import") else None)
    sign_in(page, live_server)
    for key in keys:
        page.goto(f"{live_server}/admin/modeler?key={key}&version=1")
        page.wait_for_selector('#modeler-canvas[data-loaded="true"]', state="attached")
        page.wait_for_selector('#modeler-canvas[data-valid="true"]', state="attached", timeout=15000)
        shapes = page.locator(".djs-element.djs-shape").count()
        assert shapes > 5, key
        assert page.locator("#problem-list li").count() == 0, key
        assert page.locator("#modeler-canvas").get_attribute("data-import-warnings") == "0", (key, warnings)
        screenshot(f"modeler-{key}")
