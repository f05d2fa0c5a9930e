"""Diagnoses: the one-line explanations a failing check carries, worded for the student.

Importing it imports no torch: what the numbers say (:mod:`grader.judge.hypotheses`, torch's operations)
is loaded with the first failed check that needs it.
"""
from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from grader.i18n import _, ngettext
from grader.judge.compare import Tolerance, close
from grader.results import CheckKind, Diagnosis, DiagnosisKind, Status, TaskResult
from grader.sandbox.runner import Response
from grader.tasks.arrays import Array, of, tree_to_torch

if TYPE_CHECKING:
    from grader.tasks.catalogue import SuiteInfo, TaskInfo


def not_implemented(task: TaskInfo, stub: str) -> str:
    """A stub that still raises: this task's own, or one it calls (``waits for a02.affine_forward``)."""
    stub = stub.strip()
    if stub in ("", task.id, "NotImplementedError"):
        return _("not implemented yet")
    if stub.startswith(task.id):
        return _("not implemented yet: {stub}", stub=stub)
    return _("waits for {stub}, which is not implemented yet", stub=stub)


def signature_note(aid: str, task: TaskInfo, signature: list[str] | None) -> str:
    """When a call failed and the submitted function's parameters differ from the assignment's."""
    if signature is None:
        return ""
    fn = getattr(importlib.import_module(f"reference.{aid}.{task.module}"), task.function)
    expected = list(inspect.signature(fn).parameters)
    if signature == expected:
        return ""
    return _(" (your {function}({yours}) does not match the assignment's {function}({expected}))",
             function=task.function, yours=", ".join(signature), expected=", ".join(expected))


def modified_inputs(task: TaskInfo, inputs: dict, flags: Any) -> str:
    """Name the inputs a function changed in place, from the per-input flags of ``keeps_inputs``."""
    from grader.tasks.trees import leaf_tensors

    paths = [p for p, _ in leaf_tensors(tree_to_torch(inputs))]
    advice = _("(use out-of-place operations, or work on a .clone())")
    flags = of(flags)
    if type(flags) is Array and flags.dtype == "bool" and flags.shape == (len(paths),):
        changed = [p for p, ok in zip(paths, flags.values.tolist()) if not ok]
        if changed:
            return _("inputs_unchanged: {function} changed its input {inputs} in place {advice}",
                     function=task.function, inputs=", ".join(changed), advice=advice)
    if type(flags) is not Array:
        return _("inputs_unchanged: expected a torch.Tensor, got {got}", got=format(repr(flags), ".60"))
    return _("inputs_unchanged: {function} changed an input tensor in place {advice}", function=task.function,
             advice=advice)


def kinds_of(problem: str, failing: list[tuple[Any, Any, dict]], tol: Tolerance) -> list[Diagnosis]:
    """What the failing cases' numbers say of a failed check, by what failed (see :mod:`hypotheses`): each
    failing case as (what came back, what was expected, its inputs), tensors as
    :class:`~grader.tasks.arrays.Array` or torch's."""
    if not failing:
        return []
    from grader.judge import hypotheses

    pairs = [hypotheses.Pair(*tree_to_torch(f)) for f in failing]
    if problem == "values":
        return hypotheses.value_diagnoses(pairs, tol)
    if problem == "shape":
        return hypotheses.shape_diagnoses(pairs, tol)
    if problem == "dtype":
        return hypotheses.dtype_diagnosis(pairs[0].got, pairs[0].expected)
    if problem == "not_finite":
        return [Diagnosis(DiagnosisKind.NOT_FINITE, "")]  # the message says where
    return []


def own_gradient(name: str, first: Response, found: list[Diagnosis]) -> list[Diagnosis]:
    """Whether the student's backward is at least the gradient of the student's own forward: where the
    mistake is. Never "the forward" when the numbers say precision or dtype (those are the backward's own)."""
    own = of(first.own_gradient.get(name))
    got = of(first.outputs.get(name))
    if type(own) is not Array or type(got) is not Array or own.shape != got.shape:
        return []
    finite_diff = Tolerance(1e-5, 1e-6) if got.dtype == "float64" else Tolerance(5e-2, 5e-3)
    if close(got, own, finite_diff):
        if any(d.kind in (DiagnosisKind.PRECISION, DiagnosisKind.DTYPE) for d in found):
            return []
        return [Diagnosis(DiagnosisKind.FORWARD,
                          _("it matches the gradient of your own forward, so the forward pass or its cache is wrong"))]
    return [Diagnosis(DiagnosisKind.BACKWARD, _("your backward does not match the gradient of your own forward"))]


def note_failed_calls(suite: SuiteInfo, tasks: list[TaskResult]) -> None:
    """A task that fails while a task it calls fails too: record it, and say so once; the cause is
    probably there, so what its own numbers seemed to say is dropped (a forward's bug is reported on
    the forward), and an input changed in place is put down to the called task that changes it."""
    by_id = {t.id: t for t in tasks}
    for t in tasks:
        if t.status not in (Status.FAILED, Status.ERROR):
            continue
        already_said = bool(t.blocked_by)  # not run because of one of them: its message says so
        t.blocked_by = [c for c in suite.tasks[t.id].calls if c in by_id and by_id[c].status != Status.PASSED]
        for check in t.checks if t.blocked_by else []:
            check.diagnoses = []
            changers = [c for c in t.blocked_by if any(k.kind == CheckKind.PROPERTY and not k.passed
                                                       for k in by_id[c].checks)]
            if check.kind == CheckKind.PROPERTY and not check.passed and changers:
                check.message = _("property: inputs_unchanged: an input was changed in place by {task}, which it "
                                  "calls", task=changers[0])
                already_said = already_said or next(c for c in t.checks if not c.passed) is check
        if t.blocked_by and not already_said:
            first = next(c for c in t.checks if not c.passed)  # said once per task, where it is read first
            first.diagnoses.append(Diagnosis(DiagnosisKind.CALLED_TASK, ngettext(
                "it calls {tasks}, which fails its own checks", "it calls {tasks}, which fail their own checks",
                len(t.blocked_by), tasks=", ".join(t.blocked_by))))
