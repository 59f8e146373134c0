"""效能评价标记 (domain.md §3.4 D13)."""

from __future__ import annotations

import pytest

from handlers.efficiency import efficiency_flags
from handlers.registry import load_all

AS_OF = "2026-12-31"


def codes(**kw):
    return efficiency_flags(as_of=AS_OF, **kw)["codes"]


def test_registered():
    assert load_all()["efficiency_flags"] is efficiency_flags


def test_nothing_flagged_for_a_fresh_project():
    r = efficiency_flags({"stage": "S2_SCREEN", "light": "green", "stage_started_at": "2026-12-01"}, as_of=AS_OF)
    assert r["codes"] == [] and r["summary"] == "未触发效能评价标记"
    assert r["seal_candidate"] is False and r["inputs"]["days_since_last_progress"] == 30


def test_f1_no_progress_for_180_days_before_signing():
    assert codes(project={"stage": "S3_VISIT", "stage_started_at": "2026-07-04"}) == ["F1"]  # 180 days
    assert codes(project={"stage": "S3_VISIT", "stage_started_at": "2026-07-05"}) == []  # 179 days
    # signed projects are not F1 candidates (S6 means S5 completed)
    assert codes(project={"stage": "S6_LAND", "stage_started_at": "2026-01-01"}) == []
    assert (
        codes(project={"stage": "S3_VISIT", "signed_at": "2026-01-01T00:00:00+00:00"}, days_since_last_progress=400)
        == []
    )


def test_f2_red_for_90_days():
    assert codes(
        project={"light": "red", "red_since": "2026-10-02", "stage": "S2_SCREEN"}, days_since_last_progress=10
    ) == ["F2"]
    assert codes(project={"light": "red", "stage": "S2_SCREEN"}, days_in_red=89, days_since_last_progress=10) == []
    assert codes(colour="红", days_in_red=90, days_since_last_progress=0) == ["F2"]
    # yellow never counts, whatever the day count
    assert codes(colour="yellow", days_in_red=300, days_since_last_progress=0) == []


def test_f3_investor_unreachable_60_days():
    assert codes(investor_unreachable_days=60, days_since_last_progress=0) == ["F3"]
    assert codes(investor_unreachable_days=59, days_since_last_progress=0) == []


def test_f3_from_last_contact_date():
    assert codes(investor_last_contact_at="2026-11-01", days_since_last_progress=0) == ["F3"]  # 60 days
    assert codes(investor_last_contact_at="2026-11-02", days_since_last_progress=0) == []  # 59 days


def test_f4_two_failed_prereviews():
    assert codes(prereview_fail_count=2, days_since_last_progress=0) == ["F4"]
    assert codes(prereview_fail_count=1, days_since_last_progress=0) == []
    one_fail = efficiency_flags({"prereview_result": "不通过"}, as_of=AS_OF, days_since_last_progress=0)
    assert one_fail["inputs"]["prereview_fail_count"] == 1 and one_fail["codes"] == []


def test_f5_signed_breach_not_rectified_points_to_breach_exit():
    r = efficiency_flags({"stage": "S7_START"}, as_of=AS_OF, breach_open=True, rectified=False)
    assert r["codes"] == ["F5"] and r["breach_exit"] is True and r["seal_candidate"] is False
    assert codes(project={"stage": "S7_START"}, breach_open=True, rectified=True) == []
    assert codes(project={"stage": "S3_VISIT"}, breach_open=True, days_since_last_progress=0) == []


def test_f6_unclaimed_for_a_year_in_s1():
    r = efficiency_flags({"stage": "S1_PLAN", "published_at": "2025-12-31"}, as_of=AS_OF, days_since_last_progress=0)
    assert r["codes"] == ["F6"] and r["unpublish"] is True
    assert codes(project={"stage": "S2_SCREEN", "published_at": "2025-01-01"}, days_since_last_progress=0) == []


def test_several_flags_with_labels_and_actions():
    r = efficiency_flags(
        {"stage": "S2_SCREEN", "light": "red", "stage_started_at": "2026-01-01", "red_since": "2026-06-01"},
        as_of=AS_OF,
        investor_unreachable_days=100,
    )
    assert r["codes"] == ["F1", "F2", "F3"]
    assert r["flags"][0] == {"code": "F1", "label": "长期无进展", "action": "封存候选(P06-A)"}
    assert r["summary"] == "F1 长期无进展、F2 红灯久拖、F3 投资方失联"
    assert r["seal_candidate"] is True


def test_explicit_inputs_win_over_the_snapshot():
    r = efficiency_flags(
        {"stage": "S2_SCREEN", "days_since_last_progress": 10}, as_of=AS_OF, days_since_last_progress=200
    )
    assert r["codes"] == ["F1"]


@pytest.mark.parametrize(
    "kw",
    [
        {"as_of": "31/12/2026"},
        {"prereview_fail_count": "两次"},
        {"project": {"stage_started_at": "not a date"}},
    ],
)
def test_bad_inputs_raise_value_error(kw):
    kw.setdefault("as_of", AS_OF)
    with pytest.raises(ValueError):
        efficiency_flags(**kw)
