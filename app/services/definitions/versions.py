"""Deployed versions as the runtime reads them: resolve by key, number, parsed spec, forms (all cached)."""

from __future__ import annotations

import copy
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models.runtime import ProcessFile, ProcessVersion
from app.services import caches


def resolve_version(session: Session, process_key: str, version: int | None = None) -> ProcessVersion:
    stmt = select(ProcessVersion).where(ProcessVersion.process_key == process_key)
    stmt = stmt.where(ProcessVersion.version == version) if version else stmt.order_by(ProcessVersion.version.desc())
    found = session.scalars(stmt.limit(1)).first()
    if found is None:
        what = f"{process_key} v{version}" if version else process_key
        raise NotFound(f"流程 {what} 未部署 / process {what} is not deployed")
    return found


def get_version(session: Session, process_key: str, number: int) -> ProcessVersion:
    """Version ``number`` of ``process_key`` (404 naming both when absent)."""
    found = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key,
                                                        ProcessVersion.version == number))
    if found is None:
        raise NotFound(f"流程 {process_key} 没有版本 v{number} / process {process_key} has no version {number}")
    return found


def version_number(session: Session, version_id: int) -> int | None:
    """Versions are immutable: their number is cached per database."""
    numbers = caches.of(session).version_numbers
    if version_id not in numbers:
        number = session.scalar(select(ProcessVersion.version).where(ProcessVersion.id == version_id))
        if number is None:
            return None
        numbers[version_id] = number
    return numbers[version_id]


def spec_for_version(session: Session, version_id: int):
    """The version's parsed spec bundle, restored once per database and version."""
    def load() -> str:
        return session.scalar(select(ProcessVersion.spec_json).where(ProcessVersion.id == version_id))

    return caches.of(session).specs.get(version_id, load)


def load_form(session: Session, version_id: int, filename: str | None) -> dict | None:
    """A version's form file, parsed (cached per database and version; callers get a copy)."""
    if not filename:
        return None
    forms = caches.of(session).forms
    key = (version_id, filename)
    if key not in forms:
        content = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version_id,
                                                                   ProcessFile.filename == filename.split("/")[-1]))
        if len(forms) > 2048:
            forms.clear()
        forms[key] = json.loads(content) if content else None
    return copy.deepcopy(forms[key])
