"""Task-tree walks without SpiffWorkflow's per-node iterator overhead, in exactly its order.

Every engine step walks the task tree several times: ``do_engine_steps`` collects READY tasks once per
pass (three to four passes per step), and every task completion walks the WAITING ones
(``update_waiting_tasks``). SpiffWorkflow 3.2 does this with ``TaskIterator``, which per node pops the
head of a list, rebuilds the child list, walks parents to track depth and runs a filter object: about
half of a timer job's engine step on the bench.

:func:`walk` yields the same tasks in the same order — depth first, a task before its children, the
children captured when the task is reached (a caller that changes the tree while iterating sees what
it would have seen), the same pruning (no descent below tasks in a state the filter cannot reach), the
same descent into subprocesses (``BpmnTaskIterator``) and the same depth limit of 1,000 counted as the
task's depth in the tree. Only plain queries take it — a state mask and optionally ``manual``, from
the root or a given task; any other filter (names, classes, lanes, events, ``end_at_spec``) goes to
SpiffWorkflow's own iterator.

With ``INVESTFLOW_WALK_VERIFY=1`` (the test suite) every walk also runs SpiffWorkflow's iterator in
lock step and raises :class:`WalkMismatch` at the first task where the two differ.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

MAX_DEPTH = 1000  # SpiffWorkflow's default
_FINISHED = TaskState.FINISHED_MASK


class WalkMismatch(AssertionError):
    """The fast walk and SpiffWorkflow's iterator yielded different tasks (verify mode)."""


def _min_state(state: int) -> int:
    """The lowest state a task may have for its children to be searched (``TaskIterator.__init__``)."""
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if state & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def walk(root, state: int = TaskState.ANY_MASK, manual: bool | None = None, bpmn: bool = True) -> Iterator:
    """The tasks under ``root`` (itself included) whose state is in ``state``, in iterator order.

    ``bpmn``: descend into subprocesses like ``BpmnTaskIterator`` (else like ``TaskIterator``)."""
    min_state = _min_state(state)
    subprocesses = root.workflow.top_workflow.subprocesses if bpmn else {}
    finished_query = state <= _FINISHED
    stack = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        subprocess = subprocesses.get(task.id) if subprocesses else None
        task_state = task._state
        if ((task._children or subprocess is not None) and (task_state >= min_state or subprocess is not None)
                and depth < MAX_DEPTH):
            tasks = task.workflow.tasks
            below = depth + 1
            for child_id in reversed(task._children):
                push((tasks.get(child_id), below))  # as ``Task.children``
            if subprocess is not None and not (task_state >= _FINISHED and finished_query):
                push((subprocess.task_tree, below))
        if task_state & state and (manual is None or task.task_spec.manual == manual):
            yield task


def _lock_step(fast: Iterator, original) -> Iterator:
    """Yield from ``fast``, checking each task against ``original`` advanced at the same moment."""
    for task in fast:
        other = next(original, None)
        if other is not task:
            raise WalkMismatch(f"fast walk gave {task.task_spec.name} ({task.id}), SpiffWorkflow "
                               f"{other.task_spec.name if other is not None else 'nothing'}")
        yield task
    extra = next(original, None)
    if extra is not None:
        raise WalkMismatch(f"SpiffWorkflow's iterator also gave {extra.task_spec.name} ({extra.id})")


_PLAIN = {"state", "manual"}
_original_iterator = BpmnBaseWorkflow.get_tasks_iterator


def _get_tasks_iterator(self, first_task=None, **kwargs):
    if not kwargs.keys() <= _PLAIN:
        return _original_iterator(self, first_task, **kwargs)
    root = first_task or self.task_tree
    state = kwargs.get("state", TaskState.ANY_MASK)
    fast = walk(root, state, kwargs.get("manual"))
    return _lock_step(fast, BpmnTaskIterator(root, **kwargs)) if VERIFY else fast


def _update_waiting_tasks(self) -> None:
    """``Workflow.update_waiting_tasks`` over :func:`walk` (its own tree only, as SpiffWorkflow does)."""
    tasks = walk(self.task_tree, TaskState.WAITING, bpmn=False)
    if VERIFY:
        tasks = _lock_step(tasks, TaskIterator(self.task_tree, state=TaskState.WAITING))
    for task in tasks:
        task.task_spec._update(task)


_MASKS = (TaskState.ANY_MASK, TaskState.FINISHED_MASK, TaskState.NOT_FINISHED_MASK, TaskState.DEFINITE_MASK,
          TaskState.PREDICTED_MASK, TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE, TaskState.WAITING,
          TaskState.READY, TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR, TaskState.CANCELLED)


def mismatches(workflow) -> list[str]:
    """Where :func:`walk` and SpiffWorkflow's iterators disagree on this workflow and its subprocesses,
    for every state mask and ``manual`` value a plain query can pass (empty when they all agree)."""
    problems = []
    for flow in (workflow, *workflow.subprocesses.values()):
        for mask in _MASKS:
            for manual in (None, True, False):
                kwargs = {"state": mask} if manual is None else {"state": mask, "manual": manual}
                fast = [t.id for t in walk(flow.task_tree, mask, manual)]
                if fast != [t.id for t in BpmnTaskIterator(flow.task_tree, **kwargs)]:
                    problems.append(f"{flow.spec.name}: {TaskState.get_name(mask)} manual={manual}")
            if [t.id for t in walk(flow.task_tree, mask, bpmn=False)] != \
                    [t.id for t in TaskIterator(flow.task_tree, state=mask)]:
                problems.append(f"{flow.spec.name}: {TaskState.get_name(mask)} (own tree)")
    return problems


VERIFY = False
_original_update_waiting = Workflow.update_waiting_tasks


def install() -> None:
    global VERIFY
    VERIFY = os.environ.get("INVESTFLOW_WALK_VERIFY", "").strip().lower() in {"1", "true", "yes", "on"}
    BpmnBaseWorkflow.get_tasks_iterator = _get_tasks_iterator
    Workflow.update_waiting_tasks = _update_waiting_tasks


def installed() -> bool:
    return BpmnBaseWorkflow.get_tasks_iterator is _get_tasks_iterator and \
        Workflow.update_waiting_tasks is _update_waiting_tasks


def uninstall() -> None:
    """SpiffWorkflow's own iterators again (``engine.as_shipped``: the bench's raw baseline)."""
    BpmnBaseWorkflow.get_tasks_iterator = _original_iterator
    Workflow.update_waiting_tasks = _original_update_waiting


install()
