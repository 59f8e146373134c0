"""No deadline literal left in BPMN scripts (issue #12): durations come from settings (``cfg[...]``) or DMN rows,
and the red-light rule is only in D6. Static checks over processes/*.bpmn.

Not covered here: supervision_* (owned elsewhere), library and quality_transfer (owned elsewhere)."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from tests.processes.conftest import PROCESSES

SKIP = {"supervision_monthly.bpmn", "supervision_quarterly.bpmn", "supervision_annual.bpmn", "library.bpmn",
        "quality_transfer.bpmn"}
FILES = sorted(p for p in PROCESSES.glob("*.bpmn") if p.name not in SKIP)
LITERAL = re.compile(r"""['"]P\d+D['"]""")
CODE_TAGS = ("script", "preScript", "postScript", "timeDuration", "timeDate", "parameter")


def code_of(path):
    root = etree.parse(str(path)).getroot()
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node).localname
        if tag in CODE_TAGS:
            yield node.get("id") or node.getparent().get("id"), (node.text or "") + " " + (node.get("value") or "")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_day_literal_in_scripts_timers_or_parameters(path):
    found = [(where, LITERAL.findall(text)) for where, text in code_of(path) if LITERAL.search(text)]
    assert found == []


def test_the_lifecycle_has_no_copy_of_the_red_light_rule():
    text = " ".join(code for _where, code in code_of(PROCESSES / "lifecycle.bpmn"))
    assert "1.5" not in text and "limit_days + 30" not in text and "limit_days * " not in text
    assert "deadlines['red_after']" in text and "deadlines['yellow_after']" in text
