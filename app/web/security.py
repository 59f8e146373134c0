"""Browser security: CSRF on every non-GET request outside /api/, the CSP and other response headers,
the session cookie flags (``Secure`` and HSTS when ``TLS`` is set).

CSRF: every non-GET request outside ``/api/`` must carry the session's token in the form field
``csrf_token`` or the ``X-CSRF-Token`` header. ``/api/v1`` accepts the browser session through
``app.extensions['session_user_loader']`` (web/auth), which demands the header for non-GET methods
(bearer tokens need no CSRF token: the browser does not send them on its own).
JS: our fetch() calls send the token of ``<meta name="csrf-token">`` as ``X-CSRF-Token``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from flask import current_app, request, session

from app.errors import NotAllowed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_KEY = "_csrf"
CSRF_MESSAGE = "安全令牌无效或已过期,请刷新页面后重试 / CSRF token missing or invalid"

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
               "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


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


def _security_headers(response):
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "SAMEORIGIN")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Content-Security-Policy", current_app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP)
    if current_app.config.get("TLS"):
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html" and session.get("uid"):
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("TLS"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=12)
    app.before_request(_csrf_protect)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
