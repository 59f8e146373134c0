"""CLI commands of operations: ``doctor``, ``backup``, ``restore`` (registered by app.cli)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext


def _db():
    return current_app.extensions["db"]


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(code)


@click.command()
@click.option("--repair", is_flag=True, help="rebuild projections from engine state, one transaction per instance")
@with_appcontext
def doctor(repair):
    """Check engine state against its projections; the last line is the number of problems."""
    from app.ops import doctor as svc

    problems = svc.check(_db())
    for p in problems:
        click.echo(p.line())
    if repair and problems:
        rebuilt, unlinked, errors = svc.repair(_db(), problems)
        for e in errors:
            click.echo(e, err=True)
        click.echo(f"已修复 / repaired: {rebuilt} instance(s) rebuilt, {unlinked} domain row(s) unlinked")
        problems = svc.check(_db())
        if problems:
            click.echo("修复后仍存在的问题 / problems left after repair:")
            for p in problems:
                click.echo(p.line())
    click.echo(len(problems))
    sys.exit(1 if problems else 0)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup(file):
    """Online consistent copy of the SQLite database to FILE (+ FILE.attachments.tar)."""
    from app.ops import backup as svc

    try:
        out = svc.backup(_db(), file, current_app.config.get("ATTACHMENT_DIR"))
    except svc.BackupError as exc:
        _fail(str(exc), 2 if not _db().is_sqlite else 1)
    click.echo(f"database → {out['database']} ({out['bytes']} bytes)")
    click.echo(f"attachments → {out['attachments']} ({out['attachment_files']} file(s) from "
               f"{current_app.config.get('ATTACHMENT_DIR')})")
    click.echo("ok")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="overwrite a database that holds data")
@with_appcontext
def restore(file, force):
    """Restore FILE (made by ``investflow backup``) into the configured SQLite database."""
    from app.ops import backup as svc

    try:
        out = svc.restore(_db(), file, current_app.config.get("ATTACHMENT_DIR"), force=force)
    except svc.BackupError as exc:
        _fail(str(exc), 2 if not _db().is_sqlite else 1)
    click.echo(f"restored {file} → {out['database']} (revision {out['revision']}); "
               f"{out['attachment_files']} attachment file(s) → {current_app.config.get('ATTACHMENT_DIR')}")
    click.echo("如版本落后请运行 investflow db upgrade / run investflow db upgrade if the backup is older")
    click.echo("ok")


COMMANDS = (doctor, backup, restore)
