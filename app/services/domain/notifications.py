"""站内通知 and e-mail.

``send_mail`` reads its settings from the environment (no Flask): ``SMTP_HOST`` (empty → mail is
off), ``SMTP_PORT`` (default 25), ``SMTP_FROM`` (default ``noreply@localhost``), optional
``SMTP_USER``/``SMTP_PASSWORD`` (login) and ``SMTP_STARTTLS=1``. A mail failure is logged and
reported as 0 sent; it never fails the workflow step that asked for it (the in-app notification
row is the record, e-mail is a courtesy copy).

``visible_filter`` / ``list_for_user`` / ``mark_read`` serve the web inbox bell: a user sees the
rows addressed to them, and the rows addressed to one of their roles, within their county for
county-scoped roles (city-level users, org region NULL, see all counties).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import and_, func, or_, select

from app import clock
from app.models.domain import Notification

log = logging.getLogger(__name__)


def mail_settings() -> dict:
    return {
        "host": os.environ.get("SMTP_HOST", "").strip(),
        "port": int(os.environ.get("SMTP_PORT", "") or 25),
        "sender": os.environ.get("SMTP_FROM", "").strip() or "noreply@localhost",
        "user": os.environ.get("SMTP_USER", "").strip(),
        "password": os.environ.get("SMTP_PASSWORD", ""),
        "starttls": os.environ.get("SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes"),
    }


def send_mail(recipients: Iterable[str], subject: str, body: str, *, timeout: float = 10.0) -> int:
    """Send one plain-text UTF-8 message per recipient over one SMTP connection.

    Returns the number of messages accepted; 0 when SMTP_HOST is empty or the server fails.
    """
    settings = mail_settings()
    to = sorted({r.strip() for r in recipients if r and r.strip()})
    if not settings["host"] or not to:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(settings["host"], settings["port"], timeout=timeout) as smtp:
            if settings["starttls"]:
                smtp.starttls()
            if settings["user"]:
                smtp.login(settings["user"], settings["password"])
            for address in to:
                msg = EmailMessage()
                msg["From"] = settings["sender"]
                msg["To"] = address
                msg["Subject"] = subject
                msg["Date"] = formatdate(localtime=False)
                msg["Message-ID"] = make_msgid(domain="investflow")
                msg.set_content(body or subject)
                try:
                    smtp.send_message(msg)
                    sent += 1
                except smtplib.SMTPRecipientsRefused:
                    log.warning("mail to %s refused", address)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail not sent (%s:%s): %s", settings["host"], settings["port"], exc)
    return sent


def visible_filter(user_id: int, roles: Iterable[str], region_code: str | None):
    """SQL condition: notifications a user may see (own rows + own roles within jurisdiction)."""
    roles = list(roles)
    conds = [Notification.user_id == user_id]
    if roles:
        role_cond = and_(Notification.user_id.is_(None), Notification.role.in_(roles))
        if region_code:
            role_cond = and_(role_cond, or_(Notification.region_code.is_(None),
                                            Notification.region_code == region_code))
        conds.append(role_cond)
    return or_(*conds)


def unread_count(session, user_id: int, roles: Iterable[str], region_code: str | None) -> int:
    """Unread notifications the user may see (one indexed COUNT; the bell of every page)."""
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        visible_filter(user_id, roles, region_code), Notification.read_at.is_(None))) or 0)


def list_for_user(session, user_id: int, roles: Iterable[str], region_code: str | None = None, *,
                  unread_only: bool = False, limit: int = 50) -> list[Notification]:
    stmt = select(Notification).where(visible_filter(user_id, roles, region_code))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def mark_read(session, notification_id: int, at: dt.datetime | None = None) -> bool:
    row = session.get(Notification, notification_id)
    if row is None:
        return False
    if row.read_at is None:
        row.read_at = at or clock.now()
    return True


def mark_visible_read(session, user_id: int, roles: Iterable[str], region_code: str | None,
                      ids: list[int] | None = None) -> int:
    """Mark ``ids`` (or every unread one, at most 1000) read, among those the user may see; the count."""
    visible = visible_filter(user_id, roles, region_code)
    stmt = select(Notification.id).where(visible)
    stmt = stmt.where(Notification.id.in_(ids)) if ids else stmt.where(Notification.read_at.is_(None)).limit(1000)
    return sum(1 for nid in set(session.scalars(stmt)) if mark_read(session, nid))


def deliver(payload: dict) -> int:
    """Send a queued mail job's message; returns how many recipients accepted it."""
    return send_mail(payload.get("recipients") or [], payload.get("subject") or "", payload.get("body") or "")
