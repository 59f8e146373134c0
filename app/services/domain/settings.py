"""Settings: every [A] value of reference/domain.md that the policy does not fix (issue #12).

One registry, :data:`DEFINITIONS`, declares each setting's key, default (the value in code), 中文
label, unit, kind and bounds. Overrides are rows of the ``app_setting`` table (key → JSON value);
a key without a row has its default. Reads: :func:`get` / :func:`values` (a plain dict, what handlers
receive as parameters — handlers stay pure), :func:`listing` (the API and the admin page).
Writes: :func:`put` validates (Chinese-first messages, nothing stored on error) and audits
(``setting.changed`` with the old and new value); :func:`reset` deletes the override.

Durations: ISO-8601 ``PnD`` strings are calendar days; working days (工作日) are integers in
settings whose unit is "工作日" and are turned into dates with :func:`add_working_days` using the
``calendar.holidays`` / ``calendar.workdays`` settings — one rule everywhere.
BPMN reads settings through the ``settings_values`` operator (docs/CONTRACTS.md "Settings").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.models.runtime import AppSetting
from app.services import audit
from handlers import capacity, prereview, scorecard


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    label: str
    unit: str = ""
    kind: str = "number"  # number / int / duration / points (dict of numbers) / dates / bool
    minimum: float | None = 0
    maximum: float | None = None
    group: str = "考核计分"
    keys: tuple[str, ...] = ()  # for kind "points": the allowed keys (all required)


# The defaults live next to the code that uses them (handlers stay pure and take the values as parameters).
_SC = scorecard.DEFAULTS
_INDICATOR_POINTS = _SC["score.points"]
_PENALTIES = _SC["score.penalty.amounts"]
_CAPACITY_WEIGHTS = {key: meta[3] for key, meta in capacity.FACTORS.items()}
_CAPACITY_BANDS = {word: floor for floor, word in capacity.OVERALL_BANDS if word != "差"}
_PREREVIEW_MAX = {key: points for key, (_label, points) in prereview.CRITERIA.items()}

DEFINITIONS: list[Setting] = [
    # ---- scorecard (§4.3)
    Setting("score.weight.daily", _SC["score.weight.daily"], "日常考评权重", "比例(0–1)", maximum=1),
    Setting("score.weight.year_end", _SC["score.weight.year_end"], "年终考评权重", "比例(0–1)", maximum=1),
    Setting("score.benchmark.landing_rate", _SC["score.benchmark.landing_rate"], "项目落地率满分基准", "%", maximum=100),
    Setting("score.benchmark.start_rate", _SC["score.benchmark.start_rate"], "开工率满分基准", "%", maximum=100),
    Setting("score.benchmark.funds_arrival_rate", _SC["score.benchmark.funds_arrival_rate"], "资金到位率满分基准", "%", maximum=100),
    Setting("score.count_full.big_10e8_count", _SC["score.count_full.big_10e8_count"], "10亿元以上项目满分个数", "个", "int", minimum=1),
    Setting("score.count_full.top_firm_count", _SC["score.count_full.top_firm_count"], "500强/链主企业项目满分个数", "个", "int", minimum=1),
    Setting("score.points", _INDICATOR_POINTS, "各指标分值(合计应为100)", "分", "points",
            keys=tuple(_INDICATOR_POINTS)),
    Setting("score.capacity_points", _SC["score.capacity_points"], "承载能力评估结果得分", "分", "points",
            keys=("优", "良", "中", "差")),
    Setting("score.bonus.cap", _SC["score.bonus.cap"], "加分上限", "分"),
    Setting("score.bonus.funds_per_10pct", _SC["score.bonus.funds_per_10pct"], "到位资金超目标每10个百分点加分", "分"),
    Setting("score.bonus.funds_max", _SC["score.bonus.funds_max"], "到位资金超目标加分上限", "分"),
    Setting("score.bonus.big_50e8_each", _SC["score.bonus.big_50e8_each"], "每个50亿元以上项目加分", "分"),
    Setting("score.bonus.big_50e8_max", _SC["score.bonus.big_50e8_max"], "50亿元以上项目加分上限", "分"),
    Setting("score.bonus.claimed_each", _SC["score.bonus.claimed_each"], "每个认领项目签约加分", "分"),
    Setting("score.bonus.claimed_max", _SC["score.bonus.claimed_max"], "认领项目签约加分上限", "分"),
    Setting("score.bonus.commendation", _SC["score.bonus.commendation"], "省级表彰加分", "分"),
    Setting("score.penalty.cap", _SC["score.penalty.cap"], "扣分上限", "分"),
    Setting("score.penalty.amounts", _PENALTIES, "各扣分事项每项扣分", "分", "points", keys=tuple(_PENALTIES)),
    Setting("score.grade_bands", _SC["score.grade_bands"], "考核等次分数线(D12)", "分", "points",
            keys=("优秀", "良好", "合格")),
    # ---- KPI counting rules (§4.1, §4.2)
    Setting("kpi.cohort_years", 2, "落地率/开工率/资金到位率签约队列年数", "年", "int", minimum=1, maximum=5,
            group="指标口径"),
    Setting("kpi.signed_1e8_wan", 10000.0, "亿元以上项目门槛", "万元", group="指标口径"),
    Setting("kpi.big_10e8_wan", 100000.0, "10亿元以上项目门槛", "万元", group="指标口径"),
    Setting("kpi.big_50e8_wan", 500000.0, "50亿元以上项目门槛", "万元", group="指标口径"),
    Setting("kpi.visit_register_wd", 1, "来访登记时限", "工作日", "int", group="指标口径"),
    Setting("kpi.leader_trips_per_month", 1, "“一把手”每月外出招商要求", "次/月", "int", group="指标口径"),
    Setting("kpi.trips_per_month", 1, "每月外出招商信息报告要求", "篇/月", "int", group="指标口径"),
    Setting("kpi.work_info_per_month", 1, "每月招商工作信息要求", "篇/月", "int", group="指标口径"),
    Setting("kpi.red_unrectified_days", 90, "红灯超期未整改扣分天数", "天", "int", group="指标口径"),
    # ---- pre-review panel (F-09 评分表 maxima)
    Setting("prereview.criteria_max", _PREREVIEW_MAX,
            "预审评分表各项满分(A–H,合计100)", "分", "points", keys=tuple("ABCDEFGH"), group="项目预审"),
    # ---- capacity (D11)
    Setting("capacity.weights", _CAPACITY_WEIGHTS, "承载要素权重", "权重", "points", keys=tuple(_CAPACITY_WEIGHTS),
            group="承载能力"),
    Setting("capacity.bands", _CAPACITY_BANDS, "承载指数等级下限", "分", "points",
            keys=("优", "良", "中"), group="承载能力"),
    # ---- deadlines (§3.5); calendar days as ISO durations, working days as integers
    Setting("deadline.monthly.report_day", 5, "月报报送截止日(每月)", "日", "int", minimum=1, maximum=28,
            group="时限"),
    Setting("deadline.monthly.review", "P3D", "月报审核时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.monthly.sign", "P5D", "通报审签时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.quarterly.plan", "P7D", "督查方案时限(5个工作日)", "ISO 时长", "duration", group="时限"),
    Setting("deadline.quarterly.inspection", "P15D", "督查实施时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.quarterly.rectification", "P30D", "督查整改时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.annual.self", "P15D", "年度自评时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.annual.verify", "P15D", "数据核验时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.consultation.remind", "P5D", "预审征求意见提醒", "ISO 时长", "duration", group="时限"),
    Setting("deadline.consultation.due", "P10D", "预审征求意见时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.visitor.assign", "P3D", "交办接收办理时限(默认值,办公室可逐件调整)", "ISO 时长", "duration",
            group="时限"),
    Setting("deadline.library.review", "P7D", "入库审核时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.library.claim", "P15D", "认领期限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.exit.step", "P15D", "封存分析报告时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.exit.rectify_days", 30, "违约限期整改天数", "天", "int", minimum=1, group="时限"),
    Setting("deadline.warning.yellow_explain_wd", 5, "黄灯情况说明时限", "工作日", "int", minimum=1, group="时限"),
    # ---- calendar (工作日)
    Setting("calendar.holidays", [], "法定节假日(不计工作日)", "日期列表 YYYY-MM-DD", "dates", group="工作日历"),
    Setting("calendar.workdays", [], "调休上班日(周末计工作日)", "日期列表 YYYY-MM-DD", "dates", group="工作日历"),
    # kpi branch: 市直部门 scorecard points, the monthly bulletin's compile day and review limit
    Setting("score.dept_points", _SC["score.dept_points"], "市直部门考核各指标分值(合计应为100)", "分", "points",
            keys=tuple(_SC["score.dept_points"])),
    # dept branch: the 产业链牵头单位 / 要素保障部门 scorecard points (§4.3 (B)), the chain 招大引强 count for
    # full points and the capacity-ledger update grace (kpi_dept.py)
    Setting("score.chain_points", _SC["score.chain_points"], "产业链牵头单位考核各指标分值(合计应为100)", "分",
            "points", keys=tuple(_SC["score.chain_points"])),
    Setting("score.factor_points", _SC["score.factor_points"], "要素保障部门考核各指标分值(合计应为100)", "分",
            "points", keys=tuple(_SC["score.factor_points"])),
    Setting("score.count_full.chain_big_count", 3, "产业链牵头单位招大引强满分项目数", "个", "int", minimum=1),
    Setting("kpi.capacity_ledger_due_days", 15, "承载台账半年度更新时限(半年结束后)", "天", "int", minimum=0,
            group="指标口径"),
    Setting("deadline.monthly.bulletin_day", 6, "月通报编制日(每月,须晚于月报报送截止日)", "日", "int", minimum=2,
            maximum=28, group="时限"),
    Setting("deadline.monthly.bulletin_review", "P5D", "月通报审核编辑时限", "ISO 时长", "duration", group="时限"),
    # redlight branch: the D6 red-light rule's numbers (processes/dmn/warning_colour.dmn reads them; the stage
    # timers are derived from that table, handlers/alerts.py), the red follow-through and the remaining
    # deadlines that were literal in BPMN scripts
    Setting("warning.red_factor", 1.5, "红灯时限:阶段时限的倍数(D6,取 时限×倍数 与 时限+天数 的较大者)", "倍",
            minimum=1, maximum=10, group="预警规则"),
    Setting("warning.red_extra_days", 30, "红灯时限:阶段时限外加天数(D6)", "天", "int", maximum=3650,
            group="预警规则"),
    Setting("warning.remind_ratio", 0.8, "临期提醒(蓝灯):达到阶段时限的比例(D6)", "比例(0–1)", maximum=1,
            group="预警规则"),
    Setting("warning.case_red_min_days", 3, "事项红灯:超过答复时限后至少再过的天数(联办协办、项目流转、会议交办)", "天",
            "int", maximum=365, group="预警规则"),
    Setting("warning.case_red_ratio", 0.5, "事项红灯:超过答复时限后再过 时限×比例 天(向上取整,与最少天数取较大者)",
            "比例", maximum=10, group="预警规则"),
    Setting("deadline.red.unit_plan_wd", 5, "红灯:责任单位情况说明及整改计划时限", "工作日", "int", minimum=1,
            maximum=60, group="时限"),
    Setting("deadline.red.supervisor_wd", 3, "红灯:项目主管批示调度时限", "工作日", "int", minimum=1, maximum=60,
            group="时限"),
    Setting("deadline.capacity.ledger", "P15D", "承载能力台账报送时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.capacity.report", "P30D", "承载能力评估报告时限", "ISO 时长", "duration", group="时限"),
    Setting("deadline.meeting.receipt", "P3D", "会议交办事项签收时限", "ISO 时长", "duration", group="时限"),
    # fix branch: the 优质项目流转 credit split (processes/quality_transfer.bpmn reads it as the default)
    Setting("transfer.credit_split_origin_pct", 50, "优质项目流转:原县区保留的考核分成比例(承接地得其余)", "%", "int",
            maximum=100, group="考核"),
    # wd branch: the visitor-routing limits in real working days (processes/visitor.bpmn → working_days_due);
    # they replace the calendar approximations deadline.visitor.accept (P3D) and deadline.visitor.classify (P5D)
    Setting("deadline.visitor.accept_wd", 2, "来访企业牵头单位承接时限", "工作日", "int", minimum=1, maximum=60,
            group="时限"),
    Setting("deadline.visitor.classify_wd", 3, "来访企业办公室研判分类时限", "工作日", "int", minimum=1, maximum=60,
            group="时限"),
]
BY_KEY: dict[str, Setting] = {d.key: d for d in DEFINITIONS}
_DURATION = re.compile(r"^P(\d+)D$")  # whole calendar days: BPMN scripts read the day count


def defaults() -> dict[str, Any]:
    return {d.key: _copy(d.default) for d in DEFINITIONS}


def _copy(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def values(session: Session) -> dict[str, Any]:
    """Every setting's current value (override or default), keyed by setting key."""
    out = defaults()
    rows = session.execute(select(AppSetting.key, AppSetting.value).where(AppSetting.key.in_(list(BY_KEY))))
    for key, value in rows:
        out[key] = value
    return out


def get(session: Session, key: str) -> Any:
    definition = BY_KEY.get(key)
    if definition is None:
        raise NotFound(f"没有这个设置项 / unknown setting {key!r}")
    row = session.get(AppSetting, key)
    return row.value if row is not None else _copy(definition.default)


def listing(session: Session) -> list[dict]:
    current = values(session)
    return [{"key": d.key, "value": current[d.key], "label": d.label, "unit": d.unit, "default": d.default,
             "kind": d.kind, "group": d.group, "minimum": d.minimum, "maximum": d.maximum}
            for d in DEFINITIONS]


def _bad(definition: Setting, why: str) -> Invalid:
    return Invalid(f"设置“{definition.label}”的值无效:{why} / invalid value for {definition.key}")


def _number(definition: Setting, value: Any, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(definition, "应为数字")
    if integer and int(value) != value:
        raise _bad(definition, "应为整数")
    if definition.minimum is not None and value < definition.minimum:
        raise _bad(definition, f"不得小于 {definition.minimum:g}")
    if definition.maximum is not None and value > definition.maximum:
        raise _bad(definition, f"不得大于 {definition.maximum:g}")
    return int(value) if integer else float(value)


def _duration_value(definition, value):
    if not isinstance(value, str) or not _DURATION.match(value.strip()):
        raise _bad(definition, "应为 ISO 8601 天数时长,如 P15D")
    return value.strip()


def _points_value(definition, value):
    if not isinstance(value, dict):
        raise _bad(definition, "应为对象 {项: 数值}")
    if set(value) != set(definition.keys):
        missing = sorted(set(definition.keys) - set(value))
        extra = sorted(set(value) - set(definition.keys))
        raise _bad(definition, f"缺少 {missing} / 多出 {extra}")
    out = {}
    for k in definition.keys:
        v = value[k]
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise _bad(definition, f"{k} 应为非负数字")
        out[k] = float(v)
    if definition.key in ("score.points", "prereview.criteria_max", "score.dept_points", "score.chain_points", "score.factor_points") \
            and abs(sum(out.values()) - 100) > 1e-6:
        raise _bad(definition, f"各指标分值合计应为 100(当前 {sum(out.values()):g})")
    return out


def _dates_value(definition, value):
    if not isinstance(value, list):
        raise _bad(definition, "应为日期列表")
    out = []
    for v in value:
        try:
            out.append(dt.date.fromisoformat(str(v)).isoformat())
        except ValueError:
            raise _bad(definition, f"{v!r} 不是 YYYY-MM-DD 日期") from None
    return sorted(set(out))


_VALIDATORS = {
    "number": lambda d, v: _number(d, v),
    "int": lambda d, v: _number(d, v, integer=True),
    "duration": _duration_value,
    "points": _points_value,
    "dates": _dates_value,
}


# projects branch: the evidence each lifecycle stage requires before it may be completed (issue #12,
# 落地 needs the registration, site and filing records, 开工 the permit). {stage code: [{kind, label}]};
# domain/evidence.py checks it when the stage form (lc-stage.json) is submitted.
STAGE_EVIDENCE_DEFAULT = {
    "S6_LAND": [{"kind": "registration", "label": "工商注册/营业执照"}, {"kind": "site", "label": "项目用地"},
                {"kind": "filing", "label": "投资项目备案/核准"}],
    "S7_START": [{"kind": "permit", "label": "施工许可"}],
}
_STAGE_CODES = ("S1_PLAN", "S2_SCREEN", "S3_VISIT", "S4_NEGOTIATE", "S5_SIGN", "S6_LAND", "S7_START")
_EVIDENCE_KIND = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def _evidence_value(definition, value):
    if not isinstance(value, dict) or set(value) - set(_STAGE_CODES):
        raise _bad(definition, f"应为对象 {{阶段代码: [{{kind, label}}]}},阶段代码取 {'/'.join(_STAGE_CODES)}")
    out = {}
    for stage, items in value.items():
        if not isinstance(items, list):
            raise _bad(definition, f"{stage} 应为材料列表")
        clean = []
        for item in items:
            kind = item.get("kind") if isinstance(item, dict) else None
            label = str(item.get("label") or "").strip() if isinstance(item, dict) else ""
            if not isinstance(kind, str) or not _EVIDENCE_KIND.match(kind) or not label:
                raise _bad(definition, f"{stage} 的每项材料需要 kind(小写字母代码)和 label(中文名称)")
            clean.append({"kind": kind, "label": label[:64]})
        if len({c["kind"] for c in clean}) != len(clean):
            raise _bad(definition, f"{stage} 的材料重复")
        out[stage] = clean
    return out


_VALIDATORS["evidence"] = _evidence_value
DEFINITIONS.append(Setting("stage.evidence", STAGE_EVIDENCE_DEFAULT, "各阶段转段所需材料", "阶段→材料列表",
                           "evidence", group="项目推进"))
BY_KEY["stage.evidence"] = DEFINITIONS[-1]


def validate(key: str, value: Any) -> Any:
    """The normalised value, or Invalid (422) with a Chinese-first message."""
    definition = BY_KEY.get(key)
    if definition is None:
        raise NotFound(f"没有这个设置项 / unknown setting {key!r}")
    check = _VALIDATORS.get(definition.kind)
    if check is None:  # pragma: no cover - registry error
        raise _bad(definition, f"未知类型 {definition.kind}")
    return check(definition, value)


def put(session: Session, key: str, value: Any, actor: str) -> dict:
    """Validate, store the override and audit. Returns the listing row."""
    clean = validate(key, value)
    _check_bulletin_day(session, key, clean)
    if key in _COMPLEMENTS:
        # 日常考评 + 年终考评 = 1: setting one sets the other (both audited)
        other_key = _COMPLEMENTS[key]
        _store(session, other_key, round(1 - clean, 6), actor)
    _store(session, key, clean, actor)
    return next(item for item in listing(session) if item["key"] == key)


_COMPLEMENTS = {"score.weight.daily": "score.weight.year_end", "score.weight.year_end": "score.weight.daily"}


def _check_bulletin_day(session: Session, key: str, clean: Any) -> None:
    """kpi branch: the bulletin is compiled after the F-20 deadline (bulletin_day > report_day)."""
    if key not in ("deadline.monthly.bulletin_day", "deadline.monthly.report_day"):
        return
    report_day = clean if key == "deadline.monthly.report_day" else get(session, "deadline.monthly.report_day")
    bulletin_day = clean if key == "deadline.monthly.bulletin_day" else get(session, "deadline.monthly.bulletin_day")
    if int(bulletin_day) <= int(report_day):
        raise _bad(BY_KEY[key], f"月通报编制日({bulletin_day}日)须晚于月报报送截止日({report_day}日)")


def _store(session: Session, key: str, clean: Any, actor: str) -> None:
    old = get(session, key)
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=clean))
    else:
        row.value = clean
    session.flush()
    audit.record(session, "setting.changed", actor, detail={"key": key, "old": old, "new": clean})


# ---------------------------------------------------------------- working days


def is_working_day(day: dt.date, holidays: list[str] | set[str], workdays: list[str] | set[str]) -> bool:
    iso = day.isoformat()
    if iso in set(workdays):
        return True
    if iso in set(holidays):
        return False
    return day.weekday() < 5


def add_working_days(start: dt.date, n: int, holidays=(), workdays=()) -> dt.date:
    """The date ``n`` working days after ``start`` (``start`` itself not counted)."""
    day, left = start, int(n)
    holidays, workdays = set(holidays), set(workdays)
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, holidays=(), workdays=()) -> int:
    """Working days in (start, end] — 0 when end ≤ start."""
    holidays, workdays = set(holidays), set(workdays)
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays, workdays):
            n += 1
    return n
