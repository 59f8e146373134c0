"""The API blueprint and who is calling: a bearer token (``Authorization: Bearer …``) or the browser
session (the pages call the API too; CSRF header checked by the web loader). ``authed`` runs a view
with ``(session, user)`` in one transaction (writes) or a read transaction."""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, g, request

from app import get_db
from app.errors import NotAllowed, NotAuthenticated
from app.services.domain import users

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def user_from_request(session):
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return users.cached_user_for_token(session, header[len("Bearer "):].strip(), client=request.remote_addr)
    loader = current_app.extensions.get("session_user_loader")
    if loader is not None:
        user = loader(session)  # web session; CSRF checked by the loader
        if user is not None:
            return user
    raise NotAuthenticated("需要令牌 (Authorization: Bearer …) / token required")


def authed(write: bool = True):
    """Run the view with (session, user); one transaction for writes, a read transaction otherwise."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            db = get_db()
            scope = db.session_scope() if write else db.read_scope()
            try:
                with scope as session:
                    user = user_from_request(session)
                    g.user = user
                    return fn(session, user, *args, **kwargs)
            except NotAuthenticated as exc:
                users.count_guess(db, exc)  # a wrong token counts towards the client's throttle
                raise

        return wrapper

    return deco


def require_admin(user) -> None:
    if not user.is_admin:
        raise NotAllowed("仅流程管理员可执行此操作 / admin role required")
