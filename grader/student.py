"""pytest support for students: ``pytest assignments/a02_mlp_backprop`` runs the public suite.

Each assignment ships a ``test_public.py`` that calls :func:`public_tests`; it grades the
folder once (sandboxed, the same checks as the grader) and makes one test per task whose
failure message is the grader's diagnosis.
"""
from __future__ import annotations

import functools
from pathlib import Path

import pytest

from grader import paths
from grader.course import config
from grader.judge.pipeline import grade
from grader.results import TaskResult


@functools.lru_cache(maxsize=None)
def _graded(folder: str) -> dict[str, TaskResult]:
    course = config.load(paths.COURSE)
    result = grade(folder, course, [Path(folder).name], suite="public", device="cpu")
    return {t.id: t for a in result.assignments for t in a.tasks}


def public_tests(test_file: str):
    """A parametrised pytest test, one case per task of the assignment holding ``test_file``."""
    folder = str(Path(test_file).resolve().parent)
    course = config.load(paths.COURSE)
    assignment = course.assignment(Path(folder).name)
    ids = [t.id for t in assignment.tasks]

    @pytest.mark.parametrize("task_id", ids)
    def test_task(task_id: str) -> None:
        result = _graded(folder)[task_id]
        if result.status != "passed":
            lines = [f"{task_id}: {result.status}, {result.score:g}/{result.max_score:g} points"]
            lines += [f"  {c.name}: {c.message}" for c in result.checks if not c.passed]
            if result.feedback:
                lines += ["", result.feedback]
            pytest.fail("\n".join(lines), pytrace=False)

    return test_task
