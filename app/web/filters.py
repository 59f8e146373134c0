"""Jinja filters and display labels: ``localtime`` (Asia/Shanghai ``YYYY-MM-DD HH:MM``), ``localdate``,
``stage_name``, ``region_name``, ``warning_label``, ``role_name``."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.roles import ROLES

TZ = ZoneInfo("Asia/Shanghai")

# 普洱市 county-level divisions (GB/T 2260); display names when the region table is not loaded.
REGION_NAMES = {
    "530800": "普洱市", "530802": "思茅区", "530821": "宁洱县", "530822": "墨江县", "530823": "景东县",
    "530824": "景谷县", "530825": "镇沅县", "530826": "江城县", "530827": "孟连县", "530828": "澜沧县",
    "530829": "西盟县",
}
STAGE_NAMES = {"S1_PLAN": "策划包装", "S2_SCREEN": "目标企业筛选", "S3_VISIT": "实地考察", "S4_NEGOTIATE": "商务谈判",
               "S5_SIGN": "合作协议签署", "S6_LAND": "推动项目落地", "S7_START": "项目开工", "DONE": "已开工"}
WARNING_LABELS = {"yellow": "黄灯", "red": "红灯", "none": "正常", "green": "绿灯", "blue": "蓝灯"}


def _to_datetime(value):
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(TZ)
    return value


def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    moment = _to_datetime(value)
    if moment is None:
        return ""
    return moment.strftime(fmt) if isinstance(moment, dt.datetime | dt.date) else str(moment)


def localdate(value) -> str:
    return localtime(value, "%Y-%m-%d")


def region_name(code) -> str:
    return REGION_NAMES.get(code or "", code or "")


def stage_name(code) -> str:
    return STAGE_NAMES.get(code or "", code or "")


def warning_label(level) -> str:
    return WARNING_LABELS.get(level or "none", level or "")


def role_name(key) -> str:
    role = ROLES.get(key or "")
    return role.name if role else (key or "")


def init_app(app) -> None:
    app.jinja_env.filters.update(localtime=localtime, localdate=localdate, region_name=region_name,
                                 stage_name=stage_name, warning_label=warning_label, role_name=role_name)
