"""Demo data loader: static data on an empty database, idempotence with --if-empty, and (when
processes/ deploys) instances played forward until yellow/red lights appear."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.demo import forms as demo_forms
from app.demo import loader as demo
from app.demo.data import REGIONS
from app.models.auth import User
from app.models.domain import Chain, Park, Project, Region, TimelineEvent
from app.models.runtime import Instance
from app.roles import ROLES

CODES = {"530802", "530821", "530822", "530823", "530824", "530825", "530826", "530827", "530828", "530829"}


def _count(database, model, *where) -> int:
    with database.read_scope() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _snapshot(database) -> tuple:
    with database.read_scope() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Region, Park, Chain, User, Project,
                                                                            Instance, TimelineEvent))


def _deploy(database) -> str | None:
    from app.services.definitions import deploy
    from app.services.definitions.deploy import DeploymentInvalid

    try:
        with database.session_scope() as s:
            deploy.deploy_folder(s, "processes", "demo", forms_dir="forms")
    except DeploymentInvalid as exc:
        errors = "; ".join(str(e.get("message"))[:120] for e in (getattr(exc, "errors", None) or [])[:3])
        return f"processes/ does not deploy yet: {errors or exc}"
    return None


def test_uscc_check_digit():
    assert demo_forms.uscc("91350100M000100Y4") == "91350100M000100Y43"  # a published valid example
    assert len(demo_forms.uscc("91530800MA0000001")) == 18


def test_fill_form_generates_valid_data():
    schema = {"type": "object", "required": ["a", "b", "c", "d", "e", "f"], "properties": {
        "a": {"type": "string", "oneOf": [{"const": "x", "title": "X"}, {"const": "y", "title": "Y"}]},
        "b": {"type": "integer", "minimum": 3},
        "c": {"type": "string", "format": "date"},
        "d": {"type": "string", "pattern": "^1[3-9]\\d{9}$"},
        "e": {"type": "array", "minItems": 2, "items": {"type": "object", "required": ["n"],
                                                          "properties": {"n": {"enum": ["p", "q", "r"]}}}},
        "f": {"type": "string", "minLength": 20},
        "g": {"type": "boolean"}}}
    data = demo_forms.fill_form(schema, {"b": 5})
    assert data["a"] == "x" and data["b"] == 5 and data["g"] is True
    assert [i["n"] for i in data["e"]] == ["p", "q"]
    assert len(data["f"]) >= 20


def test_load_static_data_and_if_empty(app):
    database = app.extensions["db"]
    lines: list[str] = []
    summary = demo.load(database, echo=lines.append)
    assert "projects" in summary

    with database.read_scope() as s:
        assert {r.code for r in s.scalars(select(Region))} == CODES
        assert {r.name for r in s.scalars(select(Region))} >= {"思茅区", "镇沅彝族哈尼族拉祜族自治县"}
        assert s.scalar(select(func.count()).select_from(Chain)) == 8
        assert s.scalar(select(func.count()).select_from(Project)) >= 18
        roles = {r for u in s.scalars(select(User)) for r in (u.roles or [])}
        assert set(ROLES) <= roles, set(ROLES) - roles
        simao = s.scalar(select(User).where(User.username == "simao_ipb"))
        assert simao.region_code == "530802" and "county_ipb" in simao.roles
        office = s.scalar(select(User).where(User.username == "office1"))
        assert office.region_code is None and "zsw_office" in office.roles
        tiers = {p.tier for p in s.scalars(select(Project))}
        assert tiers == {"重大", "重点", "一般"}
        assert len({p.region_code for p in s.scalars(select(Project))}) == len(REGIONS)
    # one password line per created user
    assert any(line.startswith("admin / ") for line in lines)

    before = _snapshot(database)
    assert demo.load(database, if_empty=True, echo=lines.append) == "demo data already present"
    assert _snapshot(database) == before


def test_load_plays_processes_forward(app):
    database = app.extensions["db"]
    reason = _deploy(database)
    if reason:
        pytest.skip(reason)
    lines: list[str] = []
    summary = demo.load(database, echo=lines.append)
    print(summary)
    assert _count(database, Instance, Instance.process_key == "project_lifecycle") >= 10
    with database.read_scope() as s:
        lights = [p.light for p in s.scalars(select(Project).where(Project.status == "active"))]
        events = s.scalar(select(func.count()).select_from(TimelineEvent).where(
            TimelineEvent.kind == "light", TimelineEvent.instance_id.is_not(None)))
    assert {"yellow", "red"} & set(lights), lights
    assert "green" in lights
    assert events >= 1
