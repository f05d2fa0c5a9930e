"""Every available assignment: the solutions score full marks, the skeleton zero, the committed skeleton is current."""
from __future__ import annotations

import pytest

from grader import paths
from grader.authoring.release import out_of_sync
from tests.helpers import COURSE, grade_folder

AVAILABLE = [a.id for a in COURSE.assignments if a.available]


@pytest.mark.parametrize("aid", AVAILABLE)
def test_solutions_score_full_marks_on_every_suite(aid, graded_solutions):
    result = graded_solutions(aid)
    config = COURSE.assignment(aid)
    assert result.max_score == config.max_score > 0
    assert result.score == result.max_score
    tasks = result.assignments[0].tasks
    assert [t.id for t in tasks] == [t.id for t in config.tasks]
    for task in tasks:
        assert task.status == "passed", (task.id, [c.said for c in task.checks if not c.passed])
        assert task.checks and all(c.passed for c in task.checks)
        assert "inputs_unchanged" in {c.name for c in task.checks}
        assert any(c.kind != "property" and c.max_abs_err is not None for c in task.checks)


@pytest.mark.parametrize("aid", AVAILABLE)
def test_untouched_skeleton_scores_zero_with_every_task_not_implemented(aid, graded_skeletons):
    result = graded_skeletons(aid)
    assert result.score == 0 and result.max_score == COURSE.assignment(aid).max_score
    assert {t.status for t in result.assignments[0].tasks} == {"not_implemented"}


@pytest.mark.parametrize("aid", AVAILABLE)
def test_committed_skeleton_is_the_generated_one(aid, tmp_path):
    assert out_of_sync(paths.REFERENCE, paths.ASSIGNMENTS, [aid], tmp_path) == []


@pytest.mark.cuda
@pytest.mark.parametrize("aid", AVAILABLE)
def test_solutions_score_full_marks_on_cuda(aid, solutions):
    result = grade_folder(solutions(aid), suite="all", device="cuda")
    assert result.device == "cuda" and result.score == result.max_score
