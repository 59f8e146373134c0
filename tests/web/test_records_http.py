"""台账 pages: the complaint and visit ledgers, scoped by county, closed to external roles."""

import datetime as dt

from app import clock
from app.models.domain import Complaint, Visit
from tests.web.helpers import login


def _seed(db):
    now = clock.now()
    with db.session_scope() as s:
        s.add(Complaint(complainant="思茅茶企", category="要素保障", region_code="530802", content="供电",
                        handler_unit="思茅区投资促进局", received_at=now - dt.timedelta(days=40),
                        due_at=now - dt.timedelta(days=10), status="handling"))
        s.add(Complaint(complainant="宁洱企业", category="政策兑现", region_code="530821", content="补贴",
                        received_at=now - dt.timedelta(days=5), due_at=now + dt.timedelta(days=25),
                        status="received"))
        s.add(Visit(visit_date=now.date(), enterprise_name="澜湄冷链物流有限公司", interests=["冷链"],
                    region_code="530802", routing_type="链长", routed_to="市商务局", status="routed"))
        s.add(Visit(visit_date=now.date(), enterprise_name="宁洱来访企业", interests=[], region_code="530821",
                    status="registered"))


def test_county_user_sees_only_its_county_in_both_ledgers(client, db, people):
    _seed(db)
    login(client, "county")
    page = client.get("/records/complaints").get_data(as_text=True)
    assert "思茅茶企" in page and "宁洱企业" not in page and "已超期" in page
    visits = client.get("/records/visits").get_data(as_text=True)
    assert "澜湄冷链物流有限公司" in visits and "宁洱来访企业" not in visits


def test_office_sees_every_county_and_filters_by_status(client, db, people):
    _seed(db)
    login(client, "office")
    page = client.get("/records/complaints").get_data(as_text=True)
    assert "思茅茶企" in page and "宁洱企业" in page
    only_received = client.get("/records/complaints?status=received").get_data(as_text=True)
    assert "宁洱企业" in only_received and "思茅茶企" not in only_received


def test_external_roles_and_anonymous_users_are_refused(client, db, factory, people):
    factory.user("investor1", "investor")
    assert client.get("/records/complaints").status_code in (302, 401)
    login(client, "investor1")
    assert client.get("/records/complaints").status_code == 403
    assert client.get("/records/visits").status_code == 403
    assert "台账" not in client.get("/inbox").get_data(as_text=True).split("</nav>")[0]


def test_bad_page_number_is_a_clear_400(client, db, people):
    login(client, "office")
    response = client.get("/records/visits?page=abc")
    assert response.status_code == 400 and "page" in response.get_data(as_text=True)
