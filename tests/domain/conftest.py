"""Fixtures for the domain-operator tests: a real SQLite file, a session, an OperatorContext,
seed rows, and a tiny threaded SMTP sink (aiosmtpd is not installed)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socketserver
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models.base import Base
from app.services.runtime.service_calls import OperatorContext, load_all

try:
    import app.models  # noqa: F401  (all tables: runtime, auth, domain)
except ImportError:  # auth/runtime not present yet: domain tables alone
    import app.models.domain  # noqa: F401

from app.models.domain import Chain, Enterprise, Park, Project, Region

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def auth_models():
    try:
        from app.models.auth import OrgUnit, User
    except ImportError:
        pytest.skip("auth models not yet present")
    return OrgUnit, User


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def ops():
    return load_all()


@pytest.fixture
def engine(tmp_path):
    eng = sa.create_engine(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def make_ctx(db):
    def make(now: dt.datetime = NOW, **kw) -> OperatorContext:
        kw.setdefault("instance_id", None)
        kw.setdefault("process_key", "t")
        kw.setdefault("business_key", None)
        return OperatorContext(session=db, now=now, **kw)

    return make


@pytest.fixture
def ctx(make_ctx):
    return make_ctx(actor="tester", instance_id=7, element_id="Task_1")


@pytest.fixture
def seed(db):
    """Two counties, a park, a chain, two enterprises, two projects."""
    db.add_all([Region(code="530802", name="思茅区", short_name="思茅"),
                Region(code="530821", name="宁洱哈尼族彝族自治县", short_name="宁洱"),
                Chain(code="C01", name="茶产业链", lead_org_unit_key="tea_coffee_center", chief_name="副市长A")])
    db.flush()
    park = Park(code="PK04", name="宁洱产业园区", region_code="530821", level="省级")
    e1 = Enterprise(uscc="91530000MA6K000001", name="云岭茗源茶业集团有限公司", rank_tags=["行业龙头", "中国民营企业500强"],
                    chain_code="C01", tags=[])
    e2 = Enterprise(name="闽茶鲜饮供应链有限公司", rank_tags=["链主企业"], chain_code="C01", tags=[])
    db.add_all([park, e1, e2])
    db.flush()
    p1 = Project(code="P-02", name="年产2万吨普洱茶精深加工及茶饮原料基地", region_code="530821", park_id=park.id,
                 chain_code="C01", planned_investment_wan=150000, tier="重大", enterprise=e1, created_at=NOW)
    p2 = Project(code="P-17", name="速溶茶粉及茶饮原料项目", region_code="530802", chain_code="C01",
                 planned_investment_wan=40000, tier="重点", enterprise=e2, created_at=NOW)
    db.add_all([p1, p2])
    db.flush()
    return {"park": park, "e1": e1, "e2": e2, "p1": p1, "p2": p2}


# ---------------------------------------------------------------- SMTP sink


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        mail_from, rcpts = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                mail_from, rcpts = line.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                chunks = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    chunks.append(data[1:] if data.startswith(b"..") else data)
                msg = email.message_from_bytes(b"".join(chunks), policy=email.policy.default)
                self.server.messages.append({"from": mail_from, "to": list(rcpts), "message": msg})
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SMTPSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[dict] = []

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def smtp_sink(monkeypatch):
    sink = SMTPSink()
    thread = threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(sink.port))
    monkeypatch.setenv("SMTP_FROM", "platform@puer.test")
    for name in ("SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS"):
        monkeypatch.delenv(name, raising=False)
    yield sink
    sink.shutdown()
    sink.server_close()
    thread.join(timeout=5)
