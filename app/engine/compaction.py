"""Keeping the task tree bounded whatever the diagram (ARCHITECTURE rule 7; design in ARCHITECTURE-NOTES).

SpiffWorkflow keeps every finished task in the tree and walks the whole tree on every step; a
back-edge loop (退回修改) adds a few levels per round until the walk hits the recursion limit. After a
step that leaves more than :data:`THRESHOLD` finished tasks in one (sub)workflow, :func:`compact`
removes history nothing can read any more:

* **chain collapse** — below each kept node, the chain of finished tasks that leads to the next open
  task or fork is removed, except the last finished task before it (the open task's direct parent,
  which joins and boundary events read), which is re-attached in its place;
* **spent repetitions** — an open task (a waiting cycle timer, a running loop) keeps only its newest
  finished child subtree (a sequential loop reads the last merged child);
* **finished subprocesses** whose call activity was removed go with it.

Open tasks (predicted, waiting, ready, started, error) are never touched, so their data (a full copy
each, inherited from their parents), timers and message subscriptions stay as they were; the data a
removed task wrote lives on in the open tasks that inherited it. The BPMN ids of removed completed
tasks are remembered on the root (``internal_data["compacted"]``) so diagram colouring and migration
checks still see them. :func:`fingerprint` is what must not change; the runner verifies it after a
serialize/restore round trip of every compaction.
"""

from __future__ import annotations

import json

from SpiffWorkflow import TaskState

THRESHOLD = 40  # finished tasks per (sub)workflow before a compaction runs
OPEN = TaskState.NOT_FINISHED_MASK | TaskState.ERROR
COMPACTED_KEY = "compacted"


class CompactionMismatch(Exception):
    """The compacted workflow does not restore to the same open state (never expected: a bug)."""


def needs_compaction(workflow, threshold: int = THRESHOLD) -> bool:
    for wf in (workflow, *workflow.subprocesses.values()):
        finished = sum(1 for t in wf.tasks.values() if not t.state & OPEN)
        if finished > threshold:
            return True
    return False


def compact(workflow, threshold: int = THRESHOLD) -> int:
    """Remove unreachable history from the top workflow and its subprocesses; the number of tasks removed."""
    removed = 0
    for wf in (workflow, *list(workflow.subprocesses.values())):
        if wf is workflow or wf.parent_task_id in workflow.subprocesses:
            if sum(1 for t in wf.tasks.values() if not t.state & OPEN) > threshold:
                removed += _Compactor(workflow, wf).run()
    return removed


def compacted_elements(workflow) -> set[str]:
    """BPMN ids of completed tasks that compaction removed (top workflow and subprocesses)."""
    out: set[str] = set()
    for wf in (workflow, *workflow.subprocesses.values()):
        out.update(wf.task_tree.internal_data.get(COMPACTED_KEY, []))
    return out


class _Compactor:
    def __init__(self, top, wf):
        self.top = top
        self.wf = wf
        self.removed = 0
        self.elements: set[str] = set(wf.task_tree.internal_data.get(COMPACTED_KEY, []))
        self.holds_open: set = set()
        for task in wf.tasks.values():
            if task.state & OPEN:
                node = task
                while node is not None and node.id not in self.holds_open:
                    self.holds_open.add(node.id)
                    node = node.parent

    def run(self) -> int:
        if not self.holds_open:
            return 0  # a finished (sub)workflow: nothing grows any more
        pending = [self.wf.task_tree]
        while pending:
            anchor = pending.pop()
            pending.extend(self._visit(anchor))
        if self.wf.last_task is not None and self.wf.last_task.id not in self.wf.tasks:
            self.wf.last_task = None
        root = self.wf.task_tree
        if self.elements:
            root.internal_data[COMPACTED_KEY] = sorted(self.elements)
        return self.removed

    def _visit(self, anchor) -> list:
        """Collapse the chains below ``anchor``; the nodes to visit next."""
        nxt = []
        if anchor.state & OPEN:
            self._drop_spent_children(anchor)
        for index, child in enumerate(anchor.children):
            if child is None or child.id not in self.holds_open:
                continue
            lca = self._chain_end(child)
            cut = lca.parent
            if lca is not child and cut is not child:
                self._remove_chain(child, cut)
                anchor._children[index] = cut.id
                cut._parent = anchor.id
            nxt.append(lca)
        return nxt

    def _chain_end(self, node):
        """The first open task or fork (more than one child holding open tasks) at or below ``node``."""
        while not node.state & OPEN:
            holding = [c for c in node.children if c is not None and c.id in self.holds_open]
            if len(holding) != 1:
                return node
            node = holding[0]
        return node

    def _remove_chain(self, start, cut) -> None:
        """Remove ``start`` … ``cut.parent`` and everything hanging off them, keeping ``cut``'s subtree."""
        node = start
        while node is not cut:
            on_path = None
            for child in node.children:
                if child is None:
                    continue
                if child.id in self.holds_open:
                    on_path = child
                else:
                    self._remove_subtree(child)
            self._remove_one(node)
            node = on_path

    def _drop_spent_children(self, task) -> None:
        spent = [c for c in task.children if c is not None and c.id not in self.holds_open]
        if len(spent) <= 1:
            return
        newest = max(spent, key=lambda c: c.last_state_change)
        for child in spent:
            if child is not newest:
                self._remove_subtree(child)
                task._children.remove(child.id)

    def _remove_subtree(self, task) -> None:
        stack = [task]
        while stack:
            node = stack.pop()
            stack.extend(c for c in node.children if c is not None)
            self._remove_one(node)

    def _remove_one(self, task) -> None:
        if task.state == TaskState.COMPLETED and task.task_spec.bpmn_id:
            self.elements.add(task.task_spec.bpmn_id)
        self.wf.tasks.pop(task.id, None)
        self.top.event_manager.remove_task(task)
        if task.id in self.top.subprocesses:
            self._remove_subprocess(task.id)
        self.removed += 1

    def _remove_subprocess(self, task_id) -> None:
        sub = self.top.subprocesses.pop(task_id)
        self.elements.update(sub.task_tree.internal_data.get(COMPACTED_KEY, []))
        for inner in list(sub.tasks.values()):
            if inner.state == TaskState.COMPLETED and inner.task_spec.bpmn_id:
                self.elements.add(inner.task_spec.bpmn_id)
            self.top.event_manager.remove_task(inner)
            if inner.id in self.top.subprocesses:
                self._remove_subprocess(inner.id)


def fingerprint(workflow) -> str:
    """What compaction must preserve: open tasks (id, element, state, data, internal data) of the top
    workflow and every active subprocess, workflow data and correlations, waiting events."""
    parts = []
    for wf in (workflow, *(sp for sp in workflow.subprocesses.values() if not sp.completed)):
        open_tasks = sorted((t for t in wf.tasks.values() if t.state & OPEN), key=lambda t: str(t.id))
        parts.append({
            "parent": str(getattr(wf, "parent_task_id", None)),
            "tasks": [[str(t.id), t.task_spec.name, t.state, t.data, _internal(t), str(t._parent)]
                      for t in open_tasks],
            "data": wf.data,
            "correlations": getattr(wf, "correlations", {}),
        })
    events = sorted(json.dumps([e.event_type, e.name, e.value], default=str) for e in workflow.waiting_events())
    return json.dumps({"workflows": parts, "events": events, "completed": workflow.completed},
                      sort_keys=True, default=str)


def _internal(task) -> dict:
    return {k: v for k, v in task.internal_data.items() if k != COMPACTED_KEY}
