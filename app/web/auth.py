"""Sign-in, sessions and the decorators every page uses.

- ``login_required`` — loads the signed-in user into ``g.user`` or redirects to ``/`` (JSON: 401).
- ``roles_required(*roles)`` — implies ``login_required``; admins always pass, others need one of
  ``roles`` or get 403.
- ``current_user()`` — the signed-in user (a plain snapshot, see services.domain.users) or None.
- Context variables ``current_user`` and ``unread_count``; ``safe_next`` for redirect targets.
CSRF, CSP and headers: web/security.py; Jinja filters: web/filters.py.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from app import get_db
from app.errors import NotAllowed, NotAuthenticated, TooMany, wants_json
from app.services.domain import notifications, users
from app.web.security import CSRF_MESSAGE, SAFE_METHODS, csrf_valid

bp = Blueprint("auth", __name__)

USER_KEY = "uid"
VERSION_KEY = "sv"


# -- session user ----------------------------------------------------------------------------------
def _load_user(db_session):
    """The session's user if the session is still valid (same session version: sign-out voids it)."""
    return users.session_user(db_session, session.get(USER_KEY), session.get(VERSION_KEY))


def current_user():
    """The signed-in user (a plain snapshot, loaded once per request) or None."""
    if "_web_user" in g:
        return g._web_user
    user = None
    if session.get(USER_KEY) is not None:
        with get_db().read_scope() as s:
            user = _load_user(s)
        if user is None:
            session.clear()
    g._web_user = user
    return user


def login_required(fn):
    """Require a signed-in user; ``g.user`` is set for the view."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            if wants_json():
                raise NotAuthenticated("请先登录 / sign in first")
            target = request.full_path if request.method == "GET" else None
            if target and target.endswith("?"):
                target = target[:-1]
            return redirect(url_for("auth.login", next=target) if target and target != "/" else url_for("auth.login"))
        g.user = user
        return fn(*args, **kwargs)

    return wrapper


def roles_required(*roles: str):
    """Require one of ``roles`` (admin always allowed); 403 otherwise."""

    def deco(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            user = g.user
            if not (user.is_admin or set(roles) & set(user.roles or [])):
                raise NotAllowed("无权访问此页面 / you do not have the role this page needs")
            return fn(*args, **kwargs)

        return login_required(inner)

    return deco


# -- API with the browser session -----------------------------------------------------------
def session_user_loader(db_session):
    """/api/v1 with the browser session: the user, or None; non-GET calls need ``X-CSRF-Token``."""
    if session.get(USER_KEY) is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get("X-CSRF-Token")):
        raise NotAllowed(CSRF_MESSAGE)
    return _load_user(db_session)


# -- template context ---------------------------------------------------------------------
def _context():
    user = current_user() if session.get(USER_KEY) is not None else None
    unread = 0
    if user is not None:
        try:
            with get_db().read_scope() as s:
                unread = notifications.unread_count(s, user.id, user.roles or [], user.region_code)
        except Exception:  # noqa: BLE001 - the bell must never break a page (e.g. the 500 page)
            current_app.logger.exception("unread count failed")
    return {"current_user": user, "unread_count": unread}


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are accepted as redirect targets (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# -- views ------------------------------------------------------------------------------------
@bp.route("/", methods=["GET", "POST"], endpoint="index")
@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user() is not None:
        return redirect(nxt or url_for("inbox.index"))
    error = None
    username = ""
    status = 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:100]
        password = request.form.get("password") or ""
        user = None
        try:
            if username and password:
                with get_db().session_scope() as s:  # failures are counted (throttle)
                    user = users.sign_in(s, username, password, request.remote_addr)
        except TooMany as exc:
            return render_template("auth/login.html", error=exc.message, username=username,
                                   next=nxt or ""), 429, {"Retry-After": str(exc.retry_after)}
        if user is None:
            error = "用户名或密码错误 / wrong username or password"
            status = 401
        else:
            session.clear()  # no session fixation: a fresh session (and CSRF token) per sign-in
            session[USER_KEY] = user.id
            session[VERSION_KEY] = user.session_version
            session.permanent = True
            g.pop("_web_user", None)
            current_app.logger.info("sign-in: %s", username)
            return redirect(nxt or url_for("inbox.index"))
    return render_template("auth/login.html", error=error, username=username, next=nxt or ""), status


@bp.post("/logout")
def logout():
    uid = session.get(USER_KEY)
    if isinstance(uid, int) and current_user() is not None:
        with get_db().session_scope() as s:
            users.end_sessions(s, uid)  # server-side: a copy of this cookie no longer signs anyone in
    session.clear()
    g.pop("_web_user", None)
    flash("您已退出登录 / signed out", "info")
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    app.context_processor(_context)
    app.extensions["session_user_loader"] = session_user_loader
