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


def files(*names):
    return {"files": [(io.BytesIO((FIX / n).read_bytes()), n) for n in names]}
