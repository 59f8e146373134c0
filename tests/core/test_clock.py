"""One clock for every process: the CLI moves it from the stored offset, forward only, and the app agrees."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "investflow"


def _cli(url, *args):
    env = {**os.environ, "DATABASE_URL": url, "INVESTFLOW_DEMO": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _now_of(output: str) -> dt.datetime:
    return dt.datetime.fromisoformat(re.search(r"now=(\S+)", output).group(1))


def _days_ahead(when: dt.datetime) -> float:
    return (when - dt.datetime.now(dt.UTC)).total_seconds() / 86400


def _app_now(db):
    from app import clock

    clock.refresh()
    return clock.now()


def test_cli_advance_starts_from_the_stored_offset_after_a_demo_load_and_the_app_agrees(db, clock, database_url):
    clock.advance("P65D")  # what the demo loader leaves behind, written by another process than the CLI
    shown = _cli(database_url, "clock", "show")
    assert shown.returncode == 0, shown.stderr
    assert 64.9 < _days_ahead(_now_of(shown.stdout)) < 65.1

    moved = _cli(database_url, "clock", "advance", "P10D")
    assert moved.returncode == 0, moved.stderr
    assert 74.9 < _days_ahead(_now_of(moved.stdout)) < 75.1  # 65 + 10 days, not real time + 10 days
    assert 74.9 < _days_ahead(_app_now(db)) < 75.1
    assert 74.9 < _days_ahead(_now_of(_cli(database_url, "clock", "show").stdout)) < 75.1


def test_cli_refuses_negative_zero_and_malformed_durations_and_changes_nothing(db, clock, database_url):
    clock.advance("P3D")
    for bad in ("-P1D", "PT0S", "P0D", "P1X", "yesterday"):
        res = _cli(database_url, "clock", "advance", bad)
        assert res.returncode != 0, bad
        assert res.stderr.strip(), bad  # a one-line reason
    assert 2.9 < _days_ahead(_app_now(db)) < 3.1


def test_cli_set_and_show_agree_with_the_app(db, database_url):
    res = _cli(database_url, "clock", "set", "2031-05-01T09:00+08:00")
    assert res.returncode == 0, res.stderr
    expected = dt.datetime(2031, 5, 1, 1, 0, tzinfo=dt.UTC)
    assert abs((_now_of(res.stdout) - expected).total_seconds()) < 60
    assert abs((_app_now(db) - expected).total_seconds()) < 60
    assert abs((_now_of(_cli(database_url, "clock", "show").stdout) - expected).total_seconds()) < 60
