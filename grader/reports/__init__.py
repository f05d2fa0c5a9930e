"""Renderers of results, one module per format, in one registry every command uses.

A renderer reads only :mod:`grader.results` (a grading, an audit, reproduced experiments, a
class's gradings); it never grades and never parses a message. What a long command shows while it
works (a progress bar on stderr) is :mod:`grader.reports.progress`.
"""
from __future__ import annotations

from grader.reports import csv, gradescope, html, json, junit, markdown, text
from grader.results import KILL_RATE_FAIL_UNDER, AssignmentAudit, ExperimentRow, GradingResult

FORMATS = ("text", "json")  # every result renders as these
GRADING_FORMATS = FORMATS + ("junit", "gradescope", "markdown", "html")  # a grading only


def render(result: GradingResult | list[AssignmentAudit] | list[ExperimentRow] | dict[str, GradingResult],
           fmt: str, *, color: bool = False, fail_under: float = KILL_RATE_FAIL_UNDER,
           seconds: float | None = None, every_task: bool = True) -> str:
    """``result`` in format ``fmt``: one of :data:`GRADING_FORMATS` for a grading, of :data:`FORMATS`
    for an audit or reproduced experiments, ``csv`` for a class's gradings by student.
    ``color``: the terminal table's; ``fail_under``: the kill rate an audit's text flags;
    ``seconds``: how long the grading took, where a format has a place for it (JUnit, Gradescope);
    ``every_task``: the terminal table's rows for tasks of an assignment that passed whole (else one row)."""
    if isinstance(result, dict):
        if fmt != "csv":
            raise ValueError(f"unknown format '{fmt}' for gradings by student (csv)")
        return csv.render(result)
    allowed = GRADING_FORMATS if isinstance(result, GradingResult) else FORMATS
    if fmt not in allowed:
        raise ValueError(f"unknown format '{fmt}' ({', '.join(allowed)})")
    if fmt == "json":
        return json.render(result)
    if isinstance(result, GradingResult):
        if fmt == "junit":
            return junit.render(result, seconds)
        if fmt == "gradescope":
            return gradescope.render(result, seconds)
        if fmt == "markdown":
            return markdown.render(result)
        if fmt == "html":
            return html.render(result)
        return text.render(result, color=color, every_task=every_task)
    if result and isinstance(result[0], AssignmentAudit):
        return text.render_audit(result, fail_under)
    return text.render_experiments(result)
