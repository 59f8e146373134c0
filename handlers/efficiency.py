"""效能评价 — D13 efficiency flags for the exit process (reference/domain.md §3.4 D13, P06, P11-Q).

Pure function, no ``app`` imports. ``efficiency_flags`` accepts a project snapshot (the output of
the ``project_snapshot`` operator) plus any explicit inputs, derives the day counts D13 needs from
the dates it finds, and applies the six COLLECT rules:

=====  ==========================================================  ==========================
F1     not signed and ≥ 180 days without progress                  封存候选 (P06-A)
F2     red light for ≥ 90 days                                     封存候选 (P06-A) 或流转 (P09)
F3     investor unreachable for ≥ 60 days                          封存候选 (P06-A)
F4     pre-review failed at least twice                            封存候选 (P06-A)
F5     signed, breach open, not rectified                          违约退出 (P06-B)
F6     still in S1_PLAN and unclaimed for ≥ 365 days               下架或重新包装
=====  ==========================================================  ==========================

The DMN ``efficiency_flags`` (processes/dmn) carries the same table for batch evaluations.
"""

from __future__ import annotations

import datetime as dt

from handlers import dates
from handlers.registry import handler

FLAGS = {
    "F1": ("长期无进展", "封存候选(P06-A)"),
    "F2": ("红灯久拖", "封存候选(P06-A)或流转(P09)"),
    "F3": ("投资方失联", "封存候选(P06-A)"),
    "F4": ("预审两次未过", "封存候选(P06-A)"),
    "F5": ("违约未整改", "违约退出(P06-B)"),
    "F6": ("久未认领", "下架或重新包装"),
}
SEAL_FLAGS = ("F1", "F2", "F3", "F4")
NO_PROGRESS_DAYS = 180
RED_DAYS = 90
UNREACHABLE_DAYS = 60
PREREVIEW_FAILS = 2
UNCLAIMED_DAYS = 365
SIGNED_STAGES = ("S6_LAND", "S7_START", "DONE")


def _date(value) -> dt.date | None:
    return dates.parse_date(value)


def _int(value, name: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{name} 应为整数 / {name} must be an integer")
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"{name} 应为整数 / {name} must be an integer, got {value!r}") from None


def _since(as_of: dt.date, value) -> int | None:
    day = _date(value)
    return None if day is None else max((as_of - day).days, 0)


def _pick(explicit: dict, project: dict, *keys):
    for key in keys:
        if explicit.get(key) is not None:
            return explicit[key]
    for key in keys:
        if project.get(key) is not None:
            return project[key]
    return None


@handler("efficiency_flags")
def efficiency_flags(project: dict | None = None, as_of=None, **inputs) -> dict:
    """Return ``flags`` ([{code, label, action}]), ``codes``, ``seal_candidate``, ``breach_exit``,
    ``unpublish`` and the ``inputs`` actually used.

    Day counts can be given directly (``days_since_last_progress``, ``days_in_red``,
    ``investor_unreachable_days``, ``days_unclaimed``) or derived from dates relative to ``as_of``
    (``last_progress_at``/``stage_started_at``, ``red_since``, ``investor_last_contact_at``,
    ``published_at``). Explicit keyword inputs win over the snapshot.
    """
    project = dict(project or {})
    today = _date(as_of) or dt.date.today()

    stage = _pick(inputs, project, "stage") or ""
    signed = _pick(inputs, project, "signed")
    if signed is None:
        signed = bool(project.get("signed_at")) or stage in SIGNED_STAGES
    signed = bool(signed)

    def days(name, *date_keys):
        value = _pick(inputs, project, name)
        if value is not None:
            return _int(value, name)
        for key in date_keys:
            derived = _since(today, _pick(inputs, project, key))
            if derived is not None:
                return derived
        return 0

    colour = str(_pick(inputs, project, "colour", "light") or "")
    used = {
        "stage": stage,
        "signed": signed,
        "days_since_last_progress": days(
            "days_since_last_progress", "last_progress_at", "stage_started_at", "updated_at"
        ),
        "colour": colour,
        "days_in_red": days("days_in_red", "red_since") if colour in ("红", "red") else 0,
        "investor_unreachable_days": days("investor_unreachable_days", "investor_last_contact_at"),
        "prereview_fail_count": _int(_pick(inputs, project, "prereview_fail_count"), "prereview_fail_count"),
        "breach_open": bool(_pick(inputs, project, "breach_open")),
        "rectified": bool(_pick(inputs, project, "rectified")),
        "days_unclaimed": days("days_unclaimed", "published_at"),
        "as_of": today.isoformat(),
    }
    if (
        not used["prereview_fail_count"]
        and project.get("prereview_result") == "不通过"
        and inputs.get("prereview_fail_count") is None
    ):
        used["prereview_fail_count"] = 1

    hits = []
    if not used["signed"] and used["days_since_last_progress"] >= NO_PROGRESS_DAYS:
        hits.append("F1")
    if colour in ("红", "red") and used["days_in_red"] >= RED_DAYS:
        hits.append("F2")
    if used["investor_unreachable_days"] >= UNREACHABLE_DAYS:
        hits.append("F3")
    if used["prereview_fail_count"] >= PREREVIEW_FAILS:
        hits.append("F4")
    if used["signed"] and used["breach_open"] and not used["rectified"]:
        hits.append("F5")
    if stage == "S1_PLAN" and used["days_unclaimed"] >= UNCLAIMED_DAYS:
        hits.append("F6")

    flags = [{"code": code, "label": FLAGS[code][0], "action": FLAGS[code][1]} for code in hits]
    return {
        "flags": flags,
        "codes": hits,
        "summary": "、".join(f"{f['code']} {f['label']}" for f in flags) or "未触发效能评价标记",
        "seal_candidate": any(code in SEAL_FLAGS for code in hits),
        "breach_exit": "F5" in hits,
        "unpublish": "F6" in hits,
        "inputs": used,
    }
