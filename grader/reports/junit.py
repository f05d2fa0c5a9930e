"""JUnit XML of a GradingResult, for CI test views: a testsuite per assignment, a testcase per task.

A failed task has one ``<failure>`` per failed check, carrying its diagnosis; a task that did not
run to the end (an error, a timeout) has one ``<error>``, and a stub still in place one
``<failure type="not_implemented">``: every check of those says the same thing.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from grader.i18n import _
from grader.reports.text import shown_points, suite_words
from grader.results import AssignmentResult, GradingResult, Status, TaskResult

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # no XML 1.0 document may hold these


def clean(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids (a student's output may hold any) made visible."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def counts(a: AssignmentResult) -> dict[str, int]:
    """JUnit's counts for one assignment: a failed or unimplemented task fails, an error, timeout or ban errs."""
    failures = sum(t.status in (Status.FAILED, Status.NOT_IMPLEMENTED) for t in a.tasks)
    errors = sum(t.status in (Status.ERROR, Status.TIMEOUT, Status.BANNED) for t in a.tasks)
    return {"tests": len(a.tasks), "failures": failures, "errors": errors, "skipped": 0}


def _testcase(parent: ET.Element, a: AssignmentResult, t: TaskResult) -> None:
    case = ET.SubElement(parent, "testcase", name=t.id, classname=a.id, time=f"{t.time_s:.3f}")
    failing = [c for c in t.checks if not c.passed]
    if t.status == Status.FAILED:
        for c in failing:
            ET.SubElement(case, "failure", message=clean(c.said), type=f"{c.kind}").text = clean(
                f"{c.name}: {c.said}")
    elif t.status != Status.PASSED:
        tag = "failure" if t.status == Status.NOT_IMPLEMENTED else "error"
        message = failing[0].said if failing else t.status.value
        ET.SubElement(case, tag, message=clean(message), type=t.status.value).text = clean(
            "\n".join([message] + ([_("calls failing tasks: {tasks}", tasks=", ".join(t.blocked_by))]
                                   if t.blocked_by else [])))
    out = [_("points: {score}/{most}", score=shown_points(t.score), most=shown_points(t.max_score)), *t.notes]
    ET.SubElement(case, "system-out").text = clean("\n".join(out))
    if t.feedback:
        ET.SubElement(case, "system-err").text = clean(t.feedback)


def render(result: GradingResult, seconds: float | None = None) -> str:
    """``seconds``: how long the whole grading took (the root's ``time``); each testcase's is its task's."""
    totals = {"tests": 0, "failures": 0, "errors": 0}
    root = ET.Element("testsuites", name=clean(f"{result.submission} ({suite_words(result.suite)}, {result.device})"))
    for a in result.assignments:
        n = counts(a)
        for key in totals:
            totals[key] += n[key]
        suite = ET.SubElement(root, "testsuite", name=a.id, **{k: str(v) for k, v in n.items()})
        if result.graded_at:
            suite.set("timestamp", result.graded_at)
        props = ET.SubElement(suite, "properties")
        for name, value in (("score", a.score), ("max_score", a.max_score), ("late_penalty", a.late_penalty)):
            ET.SubElement(props, "property", name=name, value=f"{value:g}")
        if a.message:
            ET.SubElement(props, "property", name="message", value=clean(a.message))
        for t in a.tasks:
            _testcase(suite, a, t)
    for key, value in totals.items():
        root.set(key, str(value))
    if seconds is not None:
        root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
