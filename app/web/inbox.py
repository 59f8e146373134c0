"""我的待办 — the inbox: an indexed SQL page over the human-task projection (rule 5).

Query parameters: ``tab`` (``unit`` 本单位 = every task I may see / claim, the default; ``mine`` 我的 = held
by me or naming me; ``done`` 已办 = tasks I completed),
``process_key``, ``stage``, ``region_code``, ``tier``, ``warning`` (yellow/red), ``due=overdue``,
``q`` (project or task name), ``page``, ``per_page``. Everything goes through
``services.tasks.list_tasks`` / ``inbox_summary`` (LIMIT/OFFSET page; one grouped pass for every facet
and tab count; the list's count stops at ``COUNT_LIMIT`` and shows "1000+").
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, render_template, request

from app import clock
from app.services import tasks
from app.services.definitions import deploy
from app.services.tasks import inbox as inbox_service
from app.web.auth import login_required
from app.web.filters import region_name, stage_name

bp = Blueprint("inbox", __name__)

FILTER_KEYS = ("process_key", "stage", "region_code", "tier", "warning")
PER_PAGE_CHOICES = (10, 20, 50, 100)
STAGE_ORDER = ("S1_PLAN", "S2_SCREEN", "S3_VISIT", "S4_NEGOTIATE", "S5_SIGN", "S6_LAND", "S7_START", "DONE")
TIER_ORDER = ("重大", "重点", "一般")
WARNING_CHOICES = (("red", "红灯"), ("yellow", "黄灯"))


def _int(value, default: int, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, number))


def _parse_dt(value):
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _options(count_map: dict, order=None, label=lambda v: v) -> list[dict]:
    keys = [k for k in count_map if k]
    if order:
        rank = {k: i for i, k in enumerate(order)}
        keys.sort(key=lambda k: (rank.get(k, len(rank)), k))
    else:
        keys.sort()
    return [{"value": k, "label": label(k), "count": count_map[k]} for k in keys]


@bp.get("/inbox")
@login_required
def index():
    user = g.user
    args = request.args
    tab = args.get("tab") if args.get("tab") in ("mine", "done") else "unit"  # 我的 / 本单位 / 已办
    filters = {k: (args.get(k) or "").strip() for k in FILTER_KEYS}
    if filters["warning"] not in ("", "yellow", "red", "none"):
        filters["warning"] = ""
    due = "overdue" if args.get("due") == "overdue" else ""
    q = (args.get("q") or "").strip()[:100]
    page = _int(args.get("page"), 1, 1, 100000)
    per_page = _int(args.get("per_page"), 20, 1, 100)
    query = {**{k: v for k, v in filters.items() if v}, "due": due} if due else {k: v for k, v in filters.items() if v}

    unfiltered = tab == "unit" and not query and not q
    with current_app.extensions["db"].read_scope() as s:
        summary = inbox_service.inbox_summary(s, user)  # every facet, the total and overdue: one pass
        # the list's own total is the summary's when nothing narrows it; otherwise a bounded count
        result = tasks.list_tasks(s, user, filters=query, page=page, per_page=per_page, search=q or None,
                                  sort="due", scope=tab, count=not unfiltered,
                                  count_limit=inbox_service.COUNT_LIMIT)
        if unfiltered:
            result["total"], result["total_capped"] = summary["total"], False
        tab_counts = inbox_service.scope_counts(s, user, unit=summary["total"])
        by = summary["by"]
        total_all = summary["total"]
        total_mine = tab_counts["mine"]
        total_overdue = summary["overdue"]
        process_names = {p["process_key"]: p["name"] or p["process_key"] for p in deploy.list_processes(s)}

    now = clock.now()
    items = []
    for t in result["items"]:
        due_at = _parse_dt(t.get("due_at"))
        items.append({**t, "overdue": bool(due_at and due_at < now),
                      "claimable": t["assignee"] is None and t["state"] == "open",
                      "mine": t["assignee"] == user.username and t["state"] == "open",
                      "process_name": process_names.get(t["process_key"], t["process_key"])})

    total, capped = result["total"], result["total_capped"]
    # past COUNT_LIMIT the pager offers the pages it knows of, and one more while this one is full
    pages = max(1, -(-total // per_page), page + 1 if capped and len(items) == per_page else page)
    base = {k: v for k, v in filters.items() if v}
    if due:
        base["due"] = due
    if q:
        base["q"] = q
    if per_page != 20:
        base["per_page"] = per_page

    def link(**changes) -> str:
        params = {"tab": tab, **base, **changes}
        params = {k: v for k, v in params.items() if v not in (None, "")}
        if params.get("tab") == "unit":
            params.pop("tab")
        if params.get("page") == 1:
            params.pop("page")
        return "/inbox" + ("?" + urlencode(params) if params else "")

    facets = {
        "process_key": _options(by["process_key"], label=lambda k: process_names.get(k, k)),
        "stage": _options(by["stage"], STAGE_ORDER, stage_name),
        "region_code": _options(by["region_code"], label=region_name),
        "tier": _options(by["tier"], TIER_ORDER),
        "warning": [{"value": v, "label": label, "count": by["warning"].get(v, 0)} for v, label in WARNING_CHOICES],
    }
    return render_template(
        "inbox/index.html", items=items, total=total, total_label=f"{total}+" if capped else str(total), page=page, pages=pages, per_page=per_page,
        per_page_choices=PER_PAGE_CHOICES, tab=tab, filters=filters, due=due, q=q, facets=facets,
        counts={"all": total_all, "mine": total_mine, "unit": tab_counts["unit"], "done": tab_counts["done"],
                "overdue": total_overdue,
                "yellow": by["warning"].get("yellow", 0), "red": by["warning"].get("red", 0)},
        link=link, return_to=request.full_path.rstrip("?"),
        any_filter=bool(base.keys() - {"per_page"}))
