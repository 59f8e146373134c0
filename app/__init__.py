"""普洱市招商引资全过程服务数字化平台 — application factory."""

from __future__ import annotations

import logging

from flask import Flask

from app.config import Config, RuntimeSettings


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config.as_dict())
    from app.config import secret_key

    app.config["SECRET_KEY"] = secret_key(config)
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    app.json.ensure_ascii = False
    from app import params

    params.init_app(app)  # the bounded <int:…> converter must be in place before any route is added
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("spiff", "spiff.task", "spiff.workflow", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from app import clock
    from app.db import Database

    db = Database(config.DATABASE_URL, RuntimeSettings.from_config(config))
    if config.DEMO:  # only demo/test mode may move the clock; production never reads an offset
        db.install_clock()
    app.extensions["db"] = db

    from app.ops import init_app as init_ops

    init_ops(app)  # request id, JSON access log, HTTP metrics, /metrics, /readyz

    from app import errors
    from app.api import init_app as init_api
    from app.web import init_app as init_web

    errors.init_app(app)
    init_api(app)
    init_web(app)

    @app.get("/healthz")
    def healthz():
        from sqlalchemy import text

        with db.read_scope() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "time": clock.now().isoformat(), "database": db.dialect}

    return app


def get_db(app: Flask | None = None):
    from flask import current_app

    return (app or current_app).extensions["db"]
