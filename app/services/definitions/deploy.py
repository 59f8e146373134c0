"""Deployments: validate a set of files, store immutable content-hashed versions (rules 2, 3)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import clock, params
from app.engine import BundleInvalid, compile_files
from app.errors import BadRequest, DeploymentInvalid
from app.models.runtime import Job, ProcessFile, ProcessVersion
from app.roles import ROLES
from app.services import audit
from app.services.definitions import bpmn_xml, occurrences


def validate_files(files: list[tuple[str, bytes]]):
    try:
        # the registered service-call names (owned by runtime, read here at call time: definitions sit
        # below runtime, so the import is deferred rather than made at module level)
        from app.services.runtime.service_calls import operation_names

        return compile_files(files, operation_names(), set(ROLES))
    except BundleInvalid as exc:
        err = DeploymentInvalid(f"部署被拒绝:{len(exc.errors)} 处错误 / deployment refused: "
                                f"{len(exc.errors)} error(s)", [e.as_dict() for e in exc.errors])
        err.warnings = [w.as_dict() for w in exc.warnings]
        raise err from None


def _check_json_files(files: list[tuple[str, bytes]]) -> None:
    """Form files go through the strict JSON reader (bounded depth, no NaN) before the validator."""
    errors = []
    for name, content in files:
        if name.lower().endswith(".json"):
            try:
                params.loads(content, name)
            except BadRequest as exc:
                errors.append({"file": name, "element_id": None, "line": None, "message": exc.message})
    if errors:
        raise DeploymentInvalid("部署被拒绝 / deployment refused", errors)


_DMN_CELLS = {"inputExpression": "输入表达式 / input expression", "outputEntry": "输出单元格 / output entry",
              "inputEntry": "输入条件 / input entry"}


def _check_dmn_expressions(files: list[tuple[str, bytes]]) -> None:
    """DMN input expressions and output entries are Python expressions run in the restricted script
    environment: check them at deploy like scripts. Input entries are unary tests (``> 5``, ``"a"``,
    ``-``): checked with a placeholder subject in front when they start with an operator."""
    from app.engine import check_code

    errors = []
    for name, content in files:
        if not name.lower().endswith(".dmn"):
            continue
        try:
            root = bpmn_xml.parse_xml(content)
        except Exception:  # noqa: BLE001 - malformed XML is reported by the validator
            continue
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            kind = node.tag.rsplit("}", 1)[-1]
            if kind not in _DMN_CELLS:
                continue
            text = "".join(t.text or "" for t in node if isinstance(t.tag, str) and t.tag.endswith("text")).strip()
            if not text or text == "-":
                continue
            problem = check_code(f"x {text}" if kind == "inputEntry" and text[:1] in "<>=!" else text, "eval")
            if problem and kind == "inputEntry" and "__" not in text and "import" not in text:
                continue  # unary-test syntax the DMN engine understands (ranges, lists)
            if problem:
                errors.append({"file": name, "element_id": node.get("id") or node.getparent().get("id"), "line":
                               node.sourceline, "message": f"{_DMN_CELLS[kind]}: {problem}"})
    if errors:
        raise DeploymentInvalid("部署被拒绝 / deployment refused", errors)


def deploy_files(session: Session, files: list[tuple[str, bytes]], author: str, dry_run: bool = False,
                 note: str | None = None) -> list[dict]:
    """Validate and store. Identical content returns the existing version with ``created: False``.
    ``note`` (the change note of the modeler's deploy dialog) is stored with each new version."""

    _check_json_files(files)
    _check_dmn_expressions(files)
    compiled = validate_files(files)
    for proc in compiled:
        if proc.timer_start:
            try:
                occurrences.first_occurrence(proc.timer_start, clock.now())
            except ValueError as exc:
                raise DeploymentInvalid("部署被拒绝 / deployment refused", [{
                    "file": proc.main_file, "element_id": proc.timer_start["element_id"], "line": None,
                    "message": str(exc)}]) from None
    results = []
    for proc in compiled:
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == proc.process_key,
                                                               ProcessVersion.content_hash == proc.content_hash))
        warnings = [w.as_dict() for w in proc.warnings]
        if existing is not None:
            results.append({**_summary(existing, created=False), "warnings": warnings})
            continue
        if dry_run:
            results.append({"process_key": proc.process_key, "version": None, "hash": proc.content_hash,
                            "created": False, "dry_run": True, "warnings": warnings})
            continue
        latest = session.scalar(select(func.max(ProcessVersion.version))
                                .where(ProcessVersion.process_key == proc.process_key)) or 0
        version = ProcessVersion(
            process_key=proc.process_key, name=proc.name, version=latest + 1, content_hash=proc.content_hash,
            main_file=proc.main_file, spec_json=proc.spec_json, serializer_version=proc.serializer_version,
            timer_start=proc.timer_start, message_starts=proc.message_starts, author=author, created_at=clock.now(),
            change_note=(note or "").strip() or None,
        )
        version.files = [ProcessFile(filename=name, kind=kind, content=content)
                         for name, (kind, content) in proc.files.items()]
        session.add(version)
        session.flush()
        _reschedule_timer_start(session, version)
        audit.record(session, "deploy", author, detail={"process_key": version.process_key, "version": version.version,
                                                        "hash": version.content_hash,
                                                        "files": sorted(proc.files), "note": version.change_note})
        results.append({**_summary(version, created=True), "warnings": warnings})
    return results


def _reschedule_timer_start(session: Session, version: ProcessVersion) -> None:
    """A new version takes over the timer-start schedule of the process key."""
    older = select(ProcessVersion.id).where(ProcessVersion.process_key == version.process_key,
                                            ProcessVersion.id != version.id)
    session.execute(delete(Job).where(Job.kind == "timer_start", Job.version_id.in_(older)))
    if version.timer_start:
        due = occurrences.first_occurrence(version.timer_start, clock.now())
        if due is not None:
            session.add(Job(kind="timer_start", due_at=due, version_id=version.id,
                            element_id=version.timer_start["element_id"], payload={"occurrence": 1}))


def _summary(version: ProcessVersion, created: bool) -> dict:
    return {"process_key": version.process_key, "version": version.version, "hash": version.content_hash,
            "created": created, "id": version.id}


def read_folder(path) -> list[tuple[str, bytes]]:
    from pathlib import Path

    root = Path(path)
    if root.is_file():
        return [(root.name, root.read_bytes())]
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in (".bpmn", ".dmn", ".json"):
            files.append((p.name, p.read_bytes()))
    return files


def deploy_folder(session: Session, path, author: str, forms_dir=None, dry_run: bool = False,
                  note: str | None = None) -> list[dict]:
    files = read_folder(path)
    if forms_dir is not None:
        names = {n for n, _ in files}
        files += [(n, c) for n, c in read_folder(forms_dir) if n not in names and n.endswith(".json")]
    return deploy_files(session, files, author, dry_run=dry_run, note=note)


def list_processes(session: Session) -> list[dict]:
    rows = session.execute(select(ProcessVersion.process_key, func.max(ProcessVersion.version), func.count())
                           .group_by(ProcessVersion.process_key).order_by(ProcessVersion.process_key)).all()
    out = []
    for key, latest, count in rows:
        v = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == key,
                                                        ProcessVersion.version == latest))
        out.append({"process_key": key, "name": v.name, "latest_version": latest, "versions": count,
                    "deployed_at": v.created_at.isoformat(), "author": v.author})
    return out


def list_versions(session: Session, key: str) -> list[dict]:
    versions = session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key)
                               .order_by(ProcessVersion.version.desc())).all()
    return [{"id": v.id, "process_key": v.process_key, "version": v.version, "name": v.name, "hash": v.content_hash,
             "author": v.author, "created_at": v.created_at.isoformat(), "main_file": v.main_file,
             "change_note": v.change_note, "files": [f.filename for f in v.files]} for v in versions]
