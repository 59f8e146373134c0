"""Sign-in, sessions, CSRF and the helpers every page uses.

Public interface (stable, used by every web module):

- ``login_required`` — view decorator; loads the signed-in user into ``g.user`` or redirects to ``/``
  (JSON requests get 401).
- ``roles_required(*roles)`` — view decorator (implies ``login_required``); admins always pass,
  others need one of ``roles`` or get 403 (``app.errors.NotAllowed``).
- ``current_user()`` — the signed-in :class:`~app.models.auth.User` (detached, read-only) or None.
- Jinja: global ``csrf_token()``; filters ``localtime`` (Asia/Shanghai ``YYYY-MM-DD HH:MM``),
  ``localdate``, ``stage_name``, ``region_name``, ``warning_label``, ``role_name``; context
  variables ``current_user`` and ``unread_count`` (from :mod:`app.web.notifications`).
- JS: our fetch() calls send the token of ``<meta name="csrf-token">`` as ``X-CSRF-Token``
  (``InvestFlow.fetchJSON`` in ``static/js/app.js`` does it).

CSRF: every non-GET request outside ``/api/`` must carry the session's token in the form field
``csrf_token`` or the ``X-CSRF-Token`` header. ``/api/v1`` accepts the browser session through
``app.extensions['session_user_loader']``, which demands the header for non-GET methods (bearer
tokens need no CSRF token: they are not sent by the browser on its own).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from app import get_db
from app.errors import NotAllowed, NotAuthenticated
from app.roles import ROLES

bp = Blueprint("auth", __name__)

TZ = ZoneInfo("Asia/Shanghai")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_KEY = "_csrf"
USER_KEY = "uid"
CSRF_MESSAGE = "安全令牌无效或已过期,请刷新页面后重试 / CSRF token missing or invalid"

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
               "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")

# 普洱市 county-level divisions (GB/T 2260); display names when the region table is not loaded.
REGION_NAMES = {
    "530800": "普洱市", "530802": "思茅区", "530821": "宁洱县", "530822": "墨江县", "530823": "景东县",
    "530824": "景谷县", "530825": "镇沅县", "530826": "江城县", "530827": "孟连县", "530828": "澜沧县",
    "530829": "西盟县",
}
STAGE_NAMES = {"S1_PLAN": "策划包装", "S2_SCREEN": "目标企业筛选", "S3_VISIT": "实地考察", "S4_NEGOTIATE": "商务谈判",
               "S5_SIGN": "合作协议签署", "S6_LAND": "推动项目落地", "S7_START": "项目开工", "DONE": "已开工"}
WARNING_LABELS = {"yellow": "黄灯", "red": "红灯", "none": "正常", "green": "绿灯", "blue": "蓝灯"}


# -- session user ----------------------------------------------------------------------------------
def _load_user(db_session, user_id):
    from app.models.auth import User

    if not isinstance(user_id, int):
        return None
    user = db_session.get(User, user_id)
    if user is None or not user.active:
        return None
    return user


def current_user():
    """The signed-in user (loaded once per request, detached from its session) or None."""
    if "_web_user" in g:
        return g._web_user
    user = None
    uid = session.get(USER_KEY)
    if uid is not None:
        with get_db().read_scope() as s:
            user = _load_user(s, uid)
            if user is not None:
                _ = user.org_unit  # joined; make sure it is loaded before detaching
                s.expunge_all()
        if user is None:
            session.pop(USER_KEY, None)
    g._web_user = user
    return user


def _wants_json() -> bool:
    from app.api.errors import wants_json

    return wants_json()


def login_required(fn):
    """Require a signed-in user; ``g.user`` is set for the view."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            if _wants_json():
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


# -- CSRF --------------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_valid(sent: str | None) -> bool:
    expected = session.get(CSRF_KEY)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def _sent_token() -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get("csrf_token")
    return None


def _csrf_protect():
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return None
    if not csrf_valid(_sent_token()):
        raise NotAllowed(CSRF_MESSAGE)
    return None


def session_user_loader(db_session):
    """/api/v1 with the browser session: the user, or None; non-GET calls need ``X-CSRF-Token``."""
    uid = session.get(USER_KEY)
    if uid is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get("X-CSRF-Token")):
        raise NotAllowed(CSRF_MESSAGE)
    return _load_user(db_session, uid)


# -- security headers ----------------------------------------------------------------------------
def _security_headers(response):
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "SAMEORIGIN")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Content-Security-Policy", current_app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP)
    if response.mimetype == "text/html" and session.get(USER_KEY):
        h.setdefault("Cache-Control", "no-store")
    return response


# -- template helpers ------------------------------------------------------------------------
def _to_datetime(value):
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(TZ)
    return value


def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    moment = _to_datetime(value)
    if moment is None:
        return ""
    return moment.strftime(fmt) if isinstance(moment, dt.datetime | dt.date) else str(moment)


def localdate(value) -> str:
    return localtime(value, "%Y-%m-%d")


def region_name(code) -> str:
    return REGION_NAMES.get(code or "", code or "")


def stage_name(code) -> str:
    return STAGE_NAMES.get(code or "", code or "")


def warning_label(level) -> str:
    return WARNING_LABELS.get(level or "none", level or "")


def role_name(key) -> str:
    role = ROLES.get(key or "")
    return role.name if role else (key or "")


def _context():
    user = current_user() if session.get(USER_KEY) is not None else None
    unread = 0
    if user is not None:
        try:
            from app.web.notifications import unread_count

            unread = unread_count(user)
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
        from app.services.domain import users

        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        user = None
        if username and password:
            with get_db().read_scope() as s:
                user = users.authenticate(s, username, password)
                uid = user.id if user is not None else None
        if user is None:
            error = "用户名或密码错误 / wrong username or password"
            status = 401
        else:
            session.clear()  # no session fixation: a fresh session (and CSRF token) per sign-in
            session[USER_KEY] = uid
            session.permanent = True
            g.pop("_web_user", None)
            current_app.logger.info("sign-in: %s", username)
            return redirect(nxt or url_for("inbox.index"))
    return render_template("auth/login.html", error=error, username=username, next=nxt or ""), status


@bp.post("/logout")
def logout():
    session.clear()
    g.pop("_web_user", None)
    flash("您已退出登录 / signed out", "info")
    return redirect(url_for("auth.login"))


def init_app(app) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=12)
    app.before_request(_csrf_protect)
    app.after_request(_security_headers)
    app.context_processor(_context)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters.update(localtime=localtime, localdate=localdate, region_name=region_name,
                                 stage_name=stage_name, warning_label=warning_label, role_name=role_name)
    app.extensions["session_user_loader"] = session_user_loader
