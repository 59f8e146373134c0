"""In Chromium (issue #11): a county user registers a project in the project library (a per-field
message first), starts its library admission from the project page, and finds the 入库申报 task in
the inbox tab 本单位; a user of another county does not see it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.test_inbox_flow import sign_in, sign_out

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scenario(db, factory):
    from app.models.domain import Chain, Region
    from app.services.definitions import deploy

    with db.session_scope() as s:
        s.add_all([Region(code="530802", name="思茅区", short_name="思茅", sort_order=1),
                   Region(code="530821", name="宁洱县", short_name="宁洱", sort_order=2),
                   Chain(code="C01", name="茶产业链")])
        deploy.deploy_folder(s, ROOT / "processes" / "library.bpmn", "tester", forms_dir=ROOT / "forms")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.org("ninger_ipb", "宁洱县投资促进局", region_code="530821")
    factory.user("simao", "county_ipb", org="simao_ipb")
    factory.user("ninger", "county_ipb", org="ninger_ipb")


def test_county_user_creates_project_starts_admission_and_sees_it_in_unit_tab(page, live_server, scenario,
                                                                               screenshot):
    base = live_server
    sign_in(page, base, "simao")
    page.goto(base + "/projects")
    page.locator("#new-project").click()
    page.wait_for_url(re.compile(r".*/projects/new$"))
    page.get_by_label("项目名称 *").fill("思茅普洱茶精制厂")
    page.get_by_label("计划总投资(万元) *").fill("0")
    page.get_by_label("所属产业链").select_option("C01")
    page.get_by_role("button", name="登记项目").click()
    assert "计划总投资必须大于 0 万元" in page.locator("#err-amount_wan").inner_text()
    assert page.get_by_label("项目名称 *").input_value() == "思茅普洱茶精制厂"  # what was typed is kept
    screenshot("people-01-project-422")
    page.get_by_label("计划总投资(万元) *").fill("12000")
    page.get_by_role("button", name="登记项目").click()
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    assert "思茅普洱茶精制厂" in page.locator("#project-title").inner_text()
    page.locator("#start-admission").click()
    page.wait_for_url(re.compile(r".*/inbox\?tab=unit$"))
    assert page.locator('[data-tab="unit"]').get_attribute("aria-current") == "page"
    rows = page.locator("tr.task-row")
    assert rows.count() == 1 and "思茅普洱茶精制厂" in rows.first.inner_text() and "入库申报" in rows.first.inner_text()
    assert page.locator('[data-tab="unit"] .count').inner_text() == "1"
    screenshot("people-02-unit-tab")
    sign_out(page)

    sign_in(page, base, "ninger")
    page.locator('[data-tab="unit"]').click()
    assert page.locator("tr.task-row").count() == 0
