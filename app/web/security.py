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
from flask.sessions import SecureCookieSessionInterface

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
    """Each header unless the view set its own (one scan of the headers: a missing key costs werkzeug
    an exception per lookup)."""
    h = response.headers
    present = {key.lower() for key in h.keys()}
    config = current_app.config
    wanted = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "SAMEORIGIN"),
              ("Referrer-Policy", "same-origin"),
              ("Content-Security-Policy", config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP)]
    if config.get("TLS"):
        wanted.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    if response.mimetype == "text/html" and session.get("uid"):
        wanted.append(("Cache-Control", "no-store"))
    for key, value in wanted:
        if key.lower() not in present:
            h.add(key, value)
    return response


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions without building a signing serializer for every request: a
    request without the cookie (API clients with a bearer token, a first visit) gets an empty session
    straight away, and the serializer is made once per secret key (itsdangerous serializers are
    immutable) instead of once per request (~30 µs each)."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            if len(self._serializers) > 8:  # keys rotate rarely; never grow without bound
                self._serializers.clear()
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app) -> None:
    app.session_interface = CookieSessions()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("TLS"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=12)
    app.before_request(_csrf_protect)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
