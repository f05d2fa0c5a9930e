"""Renderers of results, one module per format, in one registry every command uses.

A renderer reads only :mod:`grader.results` (a grading, an audit, reproduced experiments); it
never grades and never parses a message.
"""
from __future__ import annotations

from grader.reports import json, text
from grader.results import KILL_RATE_FAIL_UNDER, AssignmentAudit, ExperimentRow, GradingResult

FORMATS = ("text", "json")


def render(result: GradingResult | list[AssignmentAudit] | list[ExperimentRow], fmt: str, *,
           color: bool = False, fail_under: float = KILL_RATE_FAIL_UNDER) -> str:
    """``result`` in format ``fmt`` (one of :data:`FORMATS`). ``color``: the terminal table's;
    ``fail_under``: the kill rate an audit's text flags."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' ({', '.join(FORMATS)})")
    if fmt == "json":
        return json.render(result)
    if isinstance(result, GradingResult):
        return text.render(result, color=color)
    if result and isinstance(result[0], AssignmentAudit):
        return text.render_audit(result, fail_under)
    return text.render_experiments(result)
