"""Gradescope's ``results.json`` of a GradingResult: a test per task, hidden cases shown only once published.

A task's points are in one test, worth the task's points. When the grading ran hidden cases, that
test's result depends on them, so it is ``after_published``, and the task also gets a ``visible``
test worth nothing that says what its public cases showed: only failures whose suite is public,
or that are not about a case (a missing file, a stub), are in it. A late penalty is a test of its
own, worth minus the points it takes, so the tests' scores add up to the total; it depends on
the hidden cases too, and so does the summary's score, so neither is shown before publication.
"""
from __future__ import annotations

import json

from grader.i18n import _
from grader.reports.text import shown_points, status_word
from grader.results import AssignmentResult, CheckResult, GradingResult, Status, TaskResult, points

OUTPUT_CHARS = 8000  # of one test's output: the diagnoses come first, then the student's output


def _diagnoses(t: TaskResult, checks: list[CheckResult]) -> list[str]:
    lines = [f"{c.name}: {c.said}" for c in checks]
    if t.blocked_by:
        lines.append(_("it calls {tasks}, which fail(s) too: the cause is probably there", tasks=", ".join(t.blocked_by)))
    return lines


def _output(lines: list[str], feedback: str) -> str:
    text = "\n".join(lines)
    if feedback:
        text += ("\n\n" if text else "") + _("Your code's output or traceback:") + "\n" + feedback
    return text[:OUTPUT_CHARS]


def _scored(t: TaskResult, number: str, hidden_ran: bool) -> dict:
    failing = [c for c in t.checks if not c.passed]
    summary = _("{status}, {score}/{most} points", status=status_word(t.status), score=shown_points(t.score),
                most=shown_points(t.max_score))
    return {"name": t.id, "number": number, "score": t.score, "max_score": t.max_score,
            "status": "passed" if t.status == Status.PASSED else "failed",
            "visibility": "after_published" if hidden_ran else "visible",
            "output": _output([summary] + _diagnoses(t, failing) + t.notes, t.feedback)}


def _public(t: TaskResult, number: str) -> dict:
    """What the public cases showed, visible at once: nothing about the hidden ones."""
    public = [c for c in t.checks if not c.passed and c.suite in ("public", None)]
    lines = _diagnoses(t, public) if public else [_("every check holds on the public cases")]
    return {"name": _("{task} (public cases)", task=t.id), "number": number, "score": 0.0, "max_score": 0.0,
            "status": "failed" if public else "passed", "visibility": "visible",
            "output": _output(lines, t.feedback if public else "")}


def _late(a: AssignmentResult, number: str, hidden_ran: bool) -> dict:
    taken = points(a.raw_score - a.score)
    return {"name": _("{aid}: late penalty", aid=a.id), "number": number, "score": -taken, "max_score": 0.0,
            "status": "failed", "visibility": "after_published" if hidden_ran else "visible",
            "output": _("-{penalty} of the score under the late policy: -{taken} points",
                        penalty=format(a.late_penalty, ".0%"), taken=shown_points(taken))}


def tests(result: GradingResult) -> list[dict]:
    hidden_ran = result.suite in ("hidden", "all")
    public_ran = result.suite in ("public", "all")
    out = []
    for i, a in enumerate(result.assignments, 1):
        for j, t in enumerate(a.tasks, 1):
            out.append(_scored(t, f"{i}.{j}", hidden_ran))
            if hidden_ran and public_ran:
                out.append(_public(t, f"{i}.{j}.1"))
        if a.late_penalty:
            out.append(_late(a, f"{i}.{len(a.tasks) + 1}", hidden_ran))
    return out


def render(result: GradingResult, seconds: float | None = None) -> str:
    """``seconds``: how long the grading took (``execution_time``)."""
    if result.suite == "public":
        lines = [_("{submission}: {score}/{most} (public cases, {device})", submission=result.submission,
                   score=shown_points(result.score), most=shown_points(result.max_score), device=result.device)]
        for a in result.assignments:
            lines.append(f"{a.id}: {shown_points(a.score)}/{shown_points(a.max_score)}"
                         + (f" ({a.message})" if a.message else ""))
    else:
        lines = [_("{submission}: graded on the public and hidden cases ({device}). Points, and what the hidden cases "
                   "showed, appear once the grades are published; what the public cases showed is below.",
                   submission=result.submission, device=result.device) if result.suite == "all" else
                 _("{submission}: graded on the hidden cases ({device}). Points, and what the hidden cases showed, "
                   "appear once the grades are published.", submission=result.submission, device=result.device)]
        lines += [f"{a.id}: {a.message}" for a in result.assignments if a.error is not None]
    if result.not_available:
        lines.append(_("not yet available (not graded): {ids}", ids=", ".join(result.not_available)))
    if result.not_handed_in:
        lines.append(_("not in this submission (not graded): {ids}", ids=", ".join(result.not_handed_in)))
    data = {"score": result.score, "output": "\n".join(lines), "stdout_visibility": "hidden",
            "tests": tests(result)}
    if seconds is not None:
        data["execution_time"] = round(seconds)  # whole seconds, as Gradescope shows them
    return json.dumps(data, indent=2, allow_nan=False) + "\n"
