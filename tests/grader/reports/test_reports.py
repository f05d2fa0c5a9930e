"""Renderers read fields: points to two decimals, one row for an assignment that could not be graded."""
from __future__ import annotations

import json

import pytest

from grader.reports import GRADING_FORMATS, render
from grader.results import (AssignmentError, AssignmentResult, CheckKind, CheckResult, GradingResult, SandboxInfo,
                            Status, TaskResult)


def result(score: float, error: AssignmentError | None = None, message: str = "") -> GradingResult:
    task = TaskResult("a02.affine_backward", score, 3.0, Status.FAILED if score < 3 else Status.PASSED,
                      [CheckResult("dw", score == 3.0, message="" if score == 3.0 else "backward: public case 0: dw",
                                   kind=CheckKind.GRADIENT, suite=None if score == 3.0 else "public",
                                   case=None if score == 3.0 else 0)])
    other = TaskResult("a02.affine_forward", 0.0, 2.0, Status.ERROR, [CheckResult("out", False, message=message)])
    a = AssignmentResult("a02_mlp_backprop", score, 5.0, [task, other], message, error)
    return GradingResult(score, 5.0, [a], "public", "cpu", "sub",
                         sandbox=SandboxInfo("process", ["session"], ["network"], None))


@pytest.mark.parametrize("score, shown", [(2.0 / 3.0 * 3, "2"), (20.0 / 3.0 / 3, "2.22"), (-0.0, "0"),
                                          (1e-9, "0"), (2.5, "2.5")])
def test_points_read_as_people_read_them(score, shown):
    text = render(result(score), "text")
    assert f"sub: {shown} / 5 (public suite, cpu)" in text
    assert "-0" not in text and "0.0000" not in text


def test_an_assignment_that_could_not_be_graded_is_one_row():
    text = render(result(0.0, AssignmentError.FILES_MISSING, "layers.py and mlp.py are missing from x/"), "text")
    assert "all 2 tasks" in text and text.count("are missing") == 1


def test_every_format_renders_and_json_keeps_the_fields():
    for fmt in GRADING_FORMATS:
        assert render(result(2.0), fmt)
        assert render(result(0.0, AssignmentError.FILES_MISSING, "layers.py and mlp.py are missing from x/"), fmt)
    data = json.loads(render(result(2.0), "json"))
    check = data["assignments"][0]["tasks"][0]["checks"][0]
    assert check["suite"] == "public" and check["case"] == 0 and check["kind"] == "gradient"
    assert data["assignments"][0]["tasks"][0]["status"] == "failed" and data["sandbox"]["level"] == "process"
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render(result(2.0), "xml")
