"""Operator endpoints and per-request hooks: request id, JSON access log, HTTP metrics, /metrics, /readyz."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, jsonify, request

from app.errors import NotAllowed, NotAuthenticated
from app.ops import context, logs, metrics

bp = Blueprint("ops", __name__)
METRICS_ROLES = {"admin", "metrics"}


def _db():
    return current_app.extensions["db"]


def _user_name(state) -> str | None:
    user = state.get("user") or state.get("_web_user")
    return getattr(user, "username", None)


def init_app(app) -> None:
    logs.configure()

    @app.before_request
    def _ops_begin():
        state = g._get_current_object()  # one proxy lookup instead of one per attribute
        state._ops_started = time.perf_counter()
        state.request_id = context.accept(request.headers.get("X-Request-Id"))
        state._ops_token = context.REQUEST_ID.set(state.request_id)

    @app.after_request
    def _ops_finish(response):
        state, req = g._get_current_object(), request._get_current_object()
        started = state.pop("_ops_started", None)
        request_id = state.get("request_id")
        if started is None or request_id is None:  # a hook before ours failed: nothing to time
            return response
        seconds = time.perf_counter() - started
        route = req.url_rule.rule if req.url_rule is not None else "<unmatched>"
        status = response.status_code
        metrics.observe_request(route, req.method, status, seconds)
        logs.request_line(request_id=request_id, user=_user_name(state), method=req.method, route=route,
                          path=req.path, status=status, duration_ms=seconds * 1000)
        response.headers["X-Request-Id"] = request_id
        return response

    @app.teardown_request
    def _ops_reset(_exc):
        token = g.pop("_ops_token", None)
        if token is not None:
            try:
                context.REQUEST_ID.reset(token)
            except ValueError:  # set in another context (cannot happen with Flask's request context)
                context.REQUEST_ID.set(None)

    app.register_blueprint(bp)


def _metrics_user(session):
    from app.services.domain import users

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return users.cached_user_for_token(session, header[len("Bearer "):].strip())
    loader = current_app.extensions.get("session_user_loader")
    user = loader(session) if loader is not None else None
    if user is None:
        raise NotAuthenticated("需要令牌或登录 (Authorization: Bearer …) / token or sign-in required")
    return user


@bp.get("/metrics")
def metrics_view():
    """Prometheus text exposition; admin or a user with the ``metrics`` role (token or session)."""
    with _db().read_scope() as session:
        user = _metrics_user(session)
        if not METRICS_ROLES & set(user.roles or []):
            raise NotAllowed("需要 metrics 或 admin 角色 / the metrics or admin role is required")
        g.user = user
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(metrics.exposition(_db()), mimetype=None, content_type=CONTENT_TYPE_LATEST)


@bp.get("/readyz")
def readyz():
    """Readiness for load balancers: the database answers and its schema is at the migrations' head."""
    from app.ops.health import readiness

    report = readiness(_db())
    return jsonify(report), 200 if report["status"] == "ready" else 503
