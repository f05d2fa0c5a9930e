"""Scoring one task: each check over all its cases, then points. Reads responses, never runs code."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.course.config import Course
from grader.course.policy import tolerance
from grader.i18n import _
from grader.judge import diagnose
from grader.judge.cases import Case
from grader.judge.compare import Comparison, Tolerance, compare, error_map
from grader.results import CheckKind, CheckResult, Diagnosis, DiagnosisKind, RunStatus, Status, TaskResult, points
from grader.sandbox.inside.wire import Foreign
from grader.sandbox.runner import Response
from grader.tasks.arrays import Array, of

if TYPE_CHECKING:
    from grader.tasks.catalogue import TaskInfo as Task  # or a loaded suite's Task: the same fields are read

FEEDBACK_CHARS = 4000
PROPERTY = "inputs_unchanged"


def score_task(course: Course, aid: str, task: Task, max_points: float, cases: list[Case],
               expected: list[dict[str, Any]], replies: list[Response], device: str) -> TaskResult:
    """The task's result from its cases' expected values and the runner's responses, in order."""
    names = _output_names(expected)
    failed = next((r for r in replies if r.status != RunStatus.OK), None)
    if failed is not None:
        return _failed_run(aid, task, max_points, names, cases[replies.index(failed)], failed)
    checks = [_check(course, task, name, cases, expected, replies, device) for name in names]
    feedback = next((r.stdout for r in replies if r.stdout), "")
    notes = list(dict.fromkeys(r.note for r in replies if r.note))
    return TaskResult(task.id, points(_earned(max_points, checks)), points(max_points),
                      Status.PASSED if checks and all(c.passed for c in checks) else Status.FAILED,
                      checks, feedback[-FEEDBACK_CHARS:], notes=notes)


def kind_of(task: Task, name: str) -> CheckKind:
    return CheckKind.GRADIENT if name in task.grads else CheckKind.PROPERTY if name == PROPERTY \
        else CheckKind.OUTPUT


def _output_names(expected: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for e in expected:
        names.extend(n for n in e if n not in names)
    return names


def _failed_run(aid: str, task: Task, max_points: float, names: list[str], case: Case,
                failed: Response) -> TaskResult:
    """A case that did not run to the end: every check fails with what happened, the task scores zero."""
    status = failed.status.verdict
    where: tuple[str | None, int | None] = (case.suite, case.index)
    if status == Status.NOT_IMPLEMENTED:
        message = diagnose.not_implemented(task, failed.message)
    elif failed.before_run:  # not about any one case: nothing ran
        message, where = failed.message, (None, None)
    else:
        note = diagnose.signature_note(aid, task, failed.signature) if failed.status == RunStatus.ERROR else ""
        message = _("{case}: {message}", case=case.label, message=failed.message) + note
    checks = [CheckResult(n, False, message=message, kind=kind_of(task, n), suite=where[0], case=where[1])
              for n in names]
    feedback = "\n".join(s for s in (failed.traceback, failed.stdout) if s)
    return TaskResult(task.id, 0.0, points(max_points), status, checks, feedback[-FEEDBACK_CHARS:],
                      blocked_by=[failed.blocked_by] if failed.blocked_by else [])


def _check(course: Course, task: Task, name: str, cases: list[Case], expected: list[dict[str, Any]],
           replies: list[Response], device: str) -> CheckResult:
    """One output, gradient or property over every case that has it: the first failure speaks for it."""
    kind = kind_of(task, name)
    failures: list[tuple[int, Comparison, object, Any]] = []  # case, comparison, got, expected
    max_abs = max_rel = 0.0
    for k, (exp, reply) in enumerate(zip(expected, replies)):
        if name not in exp:
            continue
        ref = of(exp[name])
        got = of(reply.outputs.get(name, Foreign("nothing", _("no such output was returned"))))
        tol = Tolerance(*tolerance(course, ref, device))
        c = compare(name, got, ref, tol)
        if c.max_abs_err is not None:
            max_abs = max(max_abs, c.max_abs_err)
            max_rel = max(max_rel, c.max_rel_err or 0.0)
        if not c.passed:
            failures.append((k, c, got, ref))
    if not failures:  # where the worst element is matters only to a failure
        return CheckResult(name, True, max_abs, max_rel, "", kind)
    k, c, got, ref = failures[0]
    case = cases[k]
    if kind == CheckKind.PROPERTY:
        message = _("property: {case}: {what}", case=case.label,
                    what=diagnose.modified_inputs(task, case.inputs, replies[k].outputs.get(name)))
        return CheckResult(name, False, None, None, message, kind, c.where, case.suite, case.index,
                           diagnoses=[Diagnosis(DiagnosisKind.IN_PLACE, "")])
    message = _("backward: {case}: {message}", case=case.label, message=c.message) if kind == CheckKind.GRADIENT \
        else _("forward: {case}: {message}", case=case.label, message=c.message)
    found = diagnose.kinds_of(c.problem, [(g, e, cases[j].inputs) for j, f, g, e in failures
                                          if f.problem == c.problem and type(g) is Array],
                              Tolerance(*tolerance(course, ref, device)))
    if kind == CheckKind.GRADIENT:  # only from the case it talks about: another case says nothing of this one
        found += diagnose.own_gradient(name, replies[k], found)
    # A failure's error sizes and place are those of the case its message describes.
    return CheckResult(name, False, c.max_abs_err, c.max_rel_err, message, kind, c.where, case.suite, case.index,
                       None if c.ratio is None else error_map(c.ratio), found)


def _earned(max_points: float, checks: list[CheckResult]) -> float:
    """Outputs and gradients share the points; a property (inputs left unchanged) earns nothing on
    its own, so returning garbage cannot collect it, but breaking one costs the whole task."""
    graded = [c for c in checks if c.kind != CheckKind.PROPERTY]
    properties_hold = all(c.passed for c in checks if c.kind == CheckKind.PROPERTY)
    return max_points * sum(c.passed for c in graded) / len(graded) if graded and properties_hold else 0.0
