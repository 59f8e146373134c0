"""Make SpiffWorkflow's timer module read the application clock.

SpiffWorkflow 3.2 calls ``datetime.now(timezone.utc)`` inside
``SpiffWorkflow.bpmn.specs.event_definitions.timer`` with no injection point, so we replace that
module's ``datetime`` name with a subclass whose ``now`` is :func:`app.clock.now`.
"""

from __future__ import annotations

import datetime as _dt

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer

from app import clock


class _AppClockDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        current = clock.now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


def install() -> None:
    _spiff_timer.datetime = _AppClockDatetime


install()
