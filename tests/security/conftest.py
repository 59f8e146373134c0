"""Security tests: two counties, a city desk, an external user, each with a token."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

FIX = Path(__file__).parent.parent / "fixtures" / "bpmn"
SIMAO, NINGER = "530802", "530821"


class Api:
    def __init__(self, client, token=None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self.headers, **kw)

    def open(self, url, method, **kw):
        return self.client.open(url, method=method, headers=self.headers, **kw)


@pytest.fixture
def world(factory, client):
    """Users: admin, office (city desk), simao / ninger (county_ipb), investor (external), lost (no county)."""
    factory.org("city", "市招商委办公室")
    factory.org("simao", "思茅区投资促进局", region_code=SIMAO)
    factory.org("ninger", "宁洱县投资促进局", region_code=NINGER)
    factory.org("investors", "投资方")
    factory.user("office", "zsw_office", org="city")
    factory.user("simao", "county_ipb", org="simao")
    factory.user("ninger", "county_ipb", org="ninger")
    factory.user("investor", "investor", org="investors")
    factory.user("lost", "county_ipb", org="investors")  # a county role in an org without region
    files = [(n, (FIX / n).read_bytes()) for n in ("onboarding.bpmn", "ob-basic.json", "ob-basic-uischema.json",
                                                    "timers.bpmn")]
    from app.services.definitions import deploy

    with factory.db.session_scope() as s:
        deploy.deploy_files(s, files, "tester")

    class World:
        pass

    w = World()
    w.factory = factory
    w.client = client
    w.anon = Api(client)
    for name in ("admin", "office", "simao", "ninger", "investor", "lost"):
        setattr(w, name, Api(client, factory.token(name)))
    return w


PROJECT_NAME = "宁洱县保密项目"


@pytest.fixture
def matrix(world, db):
    """A 宁洱 project and two 宁洱 instances whose first task sits in the office lane (one claimed by the
    office), a notification addressed to the office."""
    from app.models.domain import Notification, Project, Region
    from app.services import tasks
    from app.services.domain import users
    from app.services.runtime import instances

    with db.session_scope() as s:
        s.add_all([Region(code=SIMAO, name="思茅区", short_name="思茅"), Region(code=NINGER, name="宁洱县",
                                                                              short_name="宁洱")])
        s.flush()
        project = Project(code="P-NE-1", name=PROJECT_NAME, region_code=NINGER)
        s.add(project)
        s.flush()
        data = {"yellow_after": "P1D", "region_code": NINGER, "project_id": project.id, "project_name": PROJECT_NAME}
        first = instances.start_instance(s, "onboarding", data=data, actor="office")
        second = instances.start_instance(s, "onboarding", data=data, actor="office")
        tasks.claim_task(s, users.snapshot(users.get_user(s, "office")), second["tasks"][0]["id"])
        note = Notification(user_id=users.get_user(s, "office").id, title="仅办公室", body="x", level="info")
        s.add(note)
        s.flush()
        ids = {"instance": first["id"], "task": first["tasks"][0]["id"], "claimed": second["tasks"][0]["id"],
               "project": project.id, "notification": note.id}
    return ids


def files(*names):
    return {"files": [(io.BytesIO((FIX / n).read_bytes()), n) for n in names]}
