"""Users, org units, API tokens and authentication.

- ``UserSnapshot``: what views hold of the caller — plain values, never a session-bound row (a cached
  token user must survive the transaction that loaded it).
- ``check_password_policy``: ≥ 10 characters, ≥ 3 of (lower, upper, digit, other), not the username;
  enforced by ``create_user`` / ``set_password`` for the web, the API and the CLI alike.
- ``sign_in``: throttled per user and per client address (``throttle``), same work for unknown users.
- ``end_sessions``: bumps ``session_version`` (sign-out: every browser session of the user is void).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app import clock
from app.errors import BadRequest, Conflict, Invalid, NotAuthenticated, TooMany
from app.models.auth import ApiToken, OrgUnit, SignInThrottle, User
from app.roles import ROLES
from app.services import caches

PASSWORD_MIN = 10
SLOW_AFTER = 5  # failures before each attempt waits (1 s, 2 s, 4 s … 60 s)
LOCK_AFTER = 20  # failures before a 15-minute lock
LOCK_SECONDS = 15 * 60
FORGET_AFTER = dt.timedelta(minutes=15)  # a quiet key starts again from zero
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


@dataclass(frozen=True)
class OrgSnapshot:
    id: int
    key: str
    name: str
    region_code: str | None
    type: str | None


@dataclass(frozen=True)
class UserSnapshot:
    id: int
    username: str
    display_name: str | None
    email: str | None
    roles: tuple[str, ...]
    org_unit: OrgSnapshot | None
    active: bool
    session_version: int

    @property
    def region_code(self) -> str | None:
        return self.org_unit.region_code if self.org_unit else None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def org_unit_id(self) -> int | None:
        return self.org_unit.id if self.org_unit else None


def snapshot(user: User) -> UserSnapshot:
    org = user.org_unit
    return UserSnapshot(
        id=user.id, username=user.username, display_name=user.display_name, email=user.email,
        roles=tuple(user.roles or ()), active=bool(user.active), session_version=int(user.session_version or 0),
        org_unit=OrgSnapshot(org.id, org.key, org.name, org.region_code, org.type) if org is not None else None)


def check_password_policy(password: str | None, username: str) -> None:
    """Refuse a weak password (422) with the rule in Chinese first."""
    password = password or ""
    classes = sum(any(c in group for c in password) for group in (
        string.ascii_lowercase, string.ascii_uppercase, string.digits))
    classes += any(not (c.isascii() and c.isalnum()) for c in password)
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"至少 {PASSWORD_MIN} 个字符")
    if classes < 3:
        problems.append("至少包含小写字母、大写字母、数字、符号中的三类")
    if username and username.strip().lower() in password.lower():
        problems.append("不能包含用户名")
    if problems:
        message = "密码不符合要求:" + ";".join(problems) + (
            f" / password needs {PASSWORD_MIN}+ characters, 3 character classes, and not the username")
        raise Invalid(message, [{"field": "password", "message": message}])


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
    if password is not None:
        check_password_policy(password, username)
    user = User(username=username, roles=list(roles), org_unit=org_unit, display_name=display_name or username,
                email=email, password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise BadRequest(f"用户 {username} 不存在 / user {username} not found")
    check_password_policy(password, username)
    user.password_hash = generate_password_hash(password)
    user.session_version = (user.session_version or 0) + 1


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None — the same hashing work whether or not the user exists."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(stored, password or "")
    return user if ok and user is not None and user.password_hash else None


# -- throttling ------------------------------------------------------------------------------------------------
def _retry_text(until: dt.datetime) -> str:
    local = until.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return local.strftime("%H:%M:%S")


def throttle_check(session: Session, keys: list[str]) -> None:
    """429 while any key is locked or waiting (the message says until when)."""
    now = clock.now()
    rows = session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))).all()
    waits = [r.locked_until for r in rows if r.locked_until and r.locked_until > now]
    if waits:
        until = max(waits)
        seconds = int((until - now).total_seconds()) + 1
        raise TooMany(f"尝试次数过多,请于 {_retry_text(until)} 后重试(约 {seconds} 秒) / too many attempts, "
                      f"retry in {seconds} s", retry_after=seconds)


def throttle_fail(session: Session, keys: list[str]) -> None:
    """Count a failure on each key; 5+ failures wait longer each time, 20+ lock for 15 minutes."""
    now = clock.now()
    for key in keys:
        row = session.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_at=now)
            session.add(row)
        if now - row.last_at > FORGET_AFTER and not (row.locked_until and row.locked_until > now):
            row.failures = 0
        row.failures += 1
        row.last_at = now
        if row.failures >= LOCK_AFTER:
            row.locked_until = now + dt.timedelta(seconds=LOCK_SECONDS)
        elif row.failures >= SLOW_AFTER:
            row.locked_until = now + dt.timedelta(seconds=min(60, 2 ** (row.failures - SLOW_AFTER)))
    session.flush()


def throttle_clear(session: Session, key: str) -> None:
    row = session.get(SignInThrottle, key)
    if row is not None:
        session.delete(row)


def sign_in(session: Session, username: str, password: str, client: str | None) -> UserSnapshot | None:
    """Throttled authentication (a write transaction: failures are counted). None on a wrong password;
    TooMany (429) while the user or the client address is throttled."""
    keys = [f"user:{username[:150]}", f"addr:{client or '-'}"]
    throttle_check(session, keys)
    user = authenticate(session, username, password)
    if user is None:
        throttle_fail(session, keys)
        return None
    throttle_clear(session, keys[0])
    return snapshot(user)


def end_sessions(session: Session, user_id: int) -> None:
    """Sign-out: every browser session of the user made before now stops working."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_version = (user.session_version or 0) + 1


def session_user(session: Session, user_id, version) -> UserSnapshot | None:
    """The user of a browser session, if it is still valid (active, same session version)."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(version, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or int(user.session_version or 0) != version:
        return None
    return snapshot(user)


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


def cached_user_for_token(session: Session, token: str, client: str | None = None) -> UserSnapshot:
    """``user_for_token`` as a plain snapshot, with a short per-database cache (a revoked token stops
    within seconds). Guessing is throttled per client address like sign-in (429)."""
    cache = caches.of(session)
    digest = _digest(token or "")
    user = cache.token_user(digest)
    if user is not None:
        return user
    keys = [f"token:{client or '-'}"]
    throttle_check(session, keys)
    try:
        user = snapshot(user_for_token(session, token))
    except NotAuthenticated as exc:
        exc.throttle_keys = keys  # counted by the caller after its transaction (see count_guess)
        raise
    cache.remember_token(digest, user)
    return user


def count_guess(db, exc: Exception) -> None:
    """Count a wrong token in a transaction of its own, once the request's one has ended."""
    keys = getattr(exc, "throttle_keys", None)
    if keys:
        with db.session_scope() as own:
            throttle_fail(own, keys)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))
