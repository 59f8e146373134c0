"""Multi-instance data references in processes/ name a declared item (a process property or data
object). bpmn-js drops an unresolved ``loopDataInputRef`` on export, so a diagram that the engine runs
would come back from the modeler without its collection (the 年考核 once did)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
REFS = (f"{BPMN}loopDataInputRef", f"{BPMN}loopDataOutputRef")


@pytest.mark.parametrize("path", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.name)
def test_every_loop_data_reference_names_a_declared_item(path):
    tree = etree.parse(str(path))
    declared = {el.get("id") for el in tree.iter(f"{BPMN}property", f"{BPMN}dataObject",
                                                  f"{BPMN}dataObjectReference", f"{BPMN}dataInput",
                                                  f"{BPMN}dataOutput")}
    missing = sorted({(ref.text or "").strip() for ref in tree.iter(*REFS)} - declared)
    assert not missing, f"{path.name}: undeclared multi-instance data {missing}"
