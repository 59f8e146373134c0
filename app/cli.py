"""The ``investflow`` command: Flask's CLI plus the platform's own commands."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app import get_db
from app.errors import AppError


def _create_app():
    from app import create_app

    return create_app()


def _fail(message: str) -> None:
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(1)


def _in_transaction(fn):
    """Run ``fn(session)`` in one transaction; a domain error becomes a one-line message and exit 1."""
    try:
        with get_db().session_scope() as session:
            return fn(session)
    except AppError as exc:
        _fail(exc.message)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main():
    """普洱市招商引资全过程服务数字化平台 command line."""


# -- database --------------------------------------------------------------------------------
@main.group()
def db():
    """Database schema (Alembic)."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    from app.models.schema import upgrade

    upgrade(get_db())
    click.echo("database is up to date")


# -- deployments -----------------------------------------------------------------------------
@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--author", default=lambda: os.environ.get("USER", "cli"), show_default="$USER")
@click.option("--forms", "forms_dir", type=click.Path(exists=True), default=None,
              help="folder of JSON Schema forms (default: forms/ beside PATH when present)")
@click.option("--dry-run", is_flag=True, help="validate only")
@click.option("--note", default=None, help="change note stored with each new version")
@with_appcontext
def deploy(path, author, forms_dir, dry_run, note):
    """Validate and deploy BPMN/DMN/forms from PATH (a folder or a file)."""
    from pathlib import Path

    from app.services.definitions import deploy as svc

    root = Path(path)
    if forms_dir is None:
        candidate = (root if root.is_dir() else root.parent).resolve().parent / "forms"
        forms_dir = candidate if candidate.is_dir() else None
    try:
        with get_db().session_scope() as session:
            results = svc.deploy_folder(session, path, author, forms_dir=forms_dir, dry_run=dry_run,
                                        note=note)
    except AppError as exc:
        for err in exc.errors:
            where = ":".join(str(x) for x in (err.get("file"), err.get("line")) if x)
            click.echo(f"{where} [{err.get('element_id') or '-'}] {err.get('message')}", err=True)
        _fail(exc.message)
    for r in results:
        state = "created" if r["created"] else ("valid" if r.get("dry_run") else "unchanged")
        click.echo(f"{r['process_key']} v{r['version'] or '-'} {state} {r['hash'][:12]}")
        for w in r.get("warnings", []):
            where = ":".join(str(x) for x in (w.get("file"), w.get("line")) if x)
            click.echo(f"warning: {where} [{w.get('element_id') or '-'}] {w.get('message')}", err=True)
    click.echo(len(results))


# -- users and tokens ------------------------------------------------------------------------
@main.group()
def users():
    """Users and roles."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="role key (repeatable)")
@click.option("--org", default=None, help="org unit key")
@click.option("--password", default=None)
@click.option("--name", "display_name", default=None)
@click.option("--email", default=None)
@with_appcontext
def users_create(username, roles, org, password, display_name, email):
    from app.services.domain import users as svc

    user = _in_transaction(lambda s: svc.create_user(s, username, list(roles), org=org, password=password,
                                                     display_name=display_name, email=email))
    click.echo(f"created user {user.username} roles={','.join(user.roles)}")


@main.group()
def tokens():
    """API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default=None)
@with_appcontext
def tokens_create(username, name):
    from app.services.domain import users as svc

    click.echo(_in_transaction(lambda s: svc.create_token(s, username, name)))


# -- clock -----------------------------------------------------------------------------------
@main.group()
def clock():
    """The application clock (movable in demo/test mode only)."""


@clock.command("show")
@with_appcontext
def clock_show():
    from app import clock as c

    c.refresh()
    click.echo(f"now={c.now().isoformat()} offset={c.offset()}")


@clock.command("advance")
@click.argument("duration")
@with_appcontext
def clock_advance(duration):
    from app.demo import clock as clock_admin

    now = _in_transaction(lambda s: clock_admin.advance(s, duration, current_app.config["DEMO"]))
    click.echo(f"now={now.isoformat()}")


@clock.command("set")
@click.argument("when")
@with_appcontext
def clock_set(when):
    from app.demo import clock as clock_admin

    now = _in_transaction(lambda s: clock_admin.set_to(s, when, current_app.config["DEMO"]))
    click.echo(f"now={now.isoformat()}")


# -- jobs ------------------------------------------------------------------------------------
@main.command()
@click.option("--once", is_flag=True, help="run everything due now, print the count, exit")
@click.option("--interval", type=float, default=None, help="sweep interval in seconds")
@click.option("--name", default=None, help="worker name (lease owner)")
@with_appcontext
def worker(once, interval, name):
    """Run due timers, messages and retries (any number of workers may run)."""
    from app import worker as scheduler
    from app.services import jobs

    _freeze_startup_heap()
    if once:
        click.echo(jobs.run_due(get_db(), worker_id=name))
        return
    scheduler.run_forever(get_db(), interval or current_app.config["SWEEP_INTERVAL"], name)


@main.command("incidents")
@click.argument("action", type=click.Choice(["list", "retry"]))
@click.argument("incident_id", required=False, type=int)
@with_appcontext
def incidents_cmd(action, incident_id):
    """List open incidents or retry one."""
    from sqlalchemy import select

    from app.models.runtime import Incident
    from app.services import jobs

    with get_db().session_scope() as session:
        if action == "list":
            rows = session.scalars(select(Incident).where(Incident.status == "open")).all()
            for i in rows:
                click.echo(f"{i.id}\tinstance={i.instance_id}\t{i.element_id}\t{i.message}")
            click.echo(len(rows))
            return
        if incident_id is None:
            _fail("retry 需要事件编号 / retry needs an incident id")
        try:
            jobs.retry_incident(session, incident_id, "cli")
        except AppError as exc:
            _fail(exc.message)
        click.echo("retried")


# -- server ----------------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host, port, threads):
    """Serve the web app and API (waitress) with the in-process scheduler clock."""
    from waitress import serve as waitress_serve

    from app import worker as scheduler

    app = current_app._get_current_object()
    if app.config.get("SCHEDULER", True):
        scheduler.start_background(app.extensions["db"], app.config["SWEEP_INTERVAL"])
    _freeze_startup_heap()
    click.echo(f"serving on http://{host}:{port}")
    waitress_serve(app, host=host, port=port, threads=threads, ident="investflow")


def _freeze_startup_heap() -> None:
    """Move what start-up allocated (modules, parsed specs, the XSD) out of the garbage collector's
    scans: each request restores a workflow of many small objects, and full collections would walk
    the whole start-up heap again (measured: restore 0.67 → 0.36 ms per request)."""
    import gc

    gc.collect()
    gc.freeze()


# -- web assets and demo data ----------------------------------------------------------------
@main.group()
def assets():
    """Pinned third-party web assets."""


@assets.command("fetch")
@click.option("--from", "from_dir", type=click.Path(file_okay=False), default=None,
              help="read the tarballs (as `npm pack NAME@VERSION` writes them) from this folder instead of npm")
def assets_fetch(from_dir):
    """Fetch the pinned web assets (app/assets.json) through npm, or offline from a folder; prints the count."""
    from app.web.assets import fetch_all, from_folder, npm_pack

    try:
        count = fetch_all(fetch=from_folder(from_dir) if from_dir else npm_pack)
    except Exception as exc:
        _fail(str(exc))
    click.echo(count)


@main.group()
def demo():
    """Demo data (demo mode only)."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="do nothing when projects exist already")
@with_appcontext
def demo_load(if_empty):
    if not current_app.config["DEMO"]:
        _fail("仅演示模式可加载演示数据(INVESTFLOW_DEMO=1) / demo data needs demo mode")
    from app.demo.loader import load

    try:
        summary = load(get_db(), if_empty=if_empty, echo=click.echo)
    except AppError as exc:
        _fail(exc.message)
    click.echo(summary)


from app.ops.cli import COMMANDS as _OPS_COMMANDS  # noqa: E402  (doctor, backup, restore)

for _command in _OPS_COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
