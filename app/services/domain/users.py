"""Users, org units, API tokens and authentication."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import BadRequest, Conflict, NotAuthenticated
from app.models.auth import ApiToken, OrgUnit, User
from app.roles import ROLES
from app.services import caches


def create_org(session: Session, key: str, name: str, region_code: str | None = None, type_: str | None = None,
               parent_key: str | None = None) -> OrgUnit:
    org = session.scalar(select(OrgUnit).where(OrgUnit.key == key))
    parent = session.scalar(select(OrgUnit).where(OrgUnit.key == parent_key)) if parent_key else None
    if org is None:
        org = OrgUnit(key=key, name=name, region_code=region_code, type=type_, parent_id=parent.id if parent else None)
        session.add(org)
        session.flush()
    return org


def create_user(session: Session, username: str, roles: list[str], org: str | None = None,
                password: str | None = None, display_name: str | None = None, email: str | None = None) -> User:
    username = (username or "").strip()
    if not username:
        raise BadRequest("用户名不能为空 / username is required")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise BadRequest(f"未知角色 / unknown role(s): {', '.join(unknown)}")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"用户 {username} 已存在 / user {username} already exists")
    org_unit = None
    if org:
        org_unit = session.scalar(select(OrgUnit).where(OrgUnit.key == org))
        if org_unit is None:
            raise BadRequest(f"组织机构 {org} 不存在 / org unit {org} not found")
    user = User(username=username, roles=list(roles), org_unit=org_unit, display_name=display_name or username,
                email=email, password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str | None = None) -> str:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise BadRequest(f"用户 {username} 不存在 / user {username} not found")
    token = "ifw_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), name=name))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token or "")))
    if row is None or not row.user.active:
        raise NotAuthenticated("令牌无效 / invalid token")
    return row.user


def cached_user_for_token(session: Session, token: str, client: str | None = None) -> User:
    """``user_for_token`` with a short per-database cache (a revoked token stops within seconds).
    """
    cache = caches.of(session)
    digest = _digest(token or "")
    user = cache.token_user(digest)
    if user is not None:
        return user
    user = user_for_token(session, token)
    session.expunge(user)
    cache.remember_token(digest, user)
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))
