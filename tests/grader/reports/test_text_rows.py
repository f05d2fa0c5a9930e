"""The terminal table: an assignment that passed whole can be one row (the demo's view); one with a failure keeps every task's row."""
from __future__ import annotations

from grader.reports import render


def test_a_whole_pass_is_one_row_and_a_failing_assignment_keeps_its_tasks(graded_solutions, graded_buggy):
    solutions = graded_solutions("a02_mlp_backprop")
    short = render(solutions, "text", every_task=False)
    assert "all 17 tasks" in short and "30/30" in short
    assert "a02.affine_backward" not in short
    assert "a02.affine_backward" in render(solutions, "text")  # the full table is still the default
    buggy = render(graded_buggy, "text", every_task=False)
    assert "all 17 tasks" not in buggy
    assert all(t.id in buggy for t in graded_buggy.tasks())
