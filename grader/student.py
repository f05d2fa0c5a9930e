"""What a student runs: ``pytest`` in an assignment folder, and the grade cells of an nbgrader notebook.

Both grade the folder once per content (sandboxed, the public suite, the grader's own checks)
and report one task at a time with the grader's diagnosis. Each assignment ships a
``test_public.py`` that calls :func:`public_tests`; each notebook grade cell calls :func:`check`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grader import paths
from grader.course import config
from grader.judge.pipeline import grade
from grader.results import Status, TaskResult

_graded: dict[tuple[str, str], dict[str, TaskResult]] = {}


def _fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.py")):
        h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def graded_tasks(folder: str | Path) -> dict[str, TaskResult]:
    """Every task of the assignment in ``folder``, graded on the public suite (once per content)."""
    folder = Path(folder).resolve()
    key = (str(folder), _fingerprint(folder))
    if key not in _graded:
        result = grade(folder, config.load(paths.COURSE), [folder.name], suite="public", device="cpu")
        _graded[key] = {t.id: t for t in result.tasks()}
    return _graded[key]


def explain(task: TaskResult) -> list[str]:
    """The task's verdict and each failing check's diagnosis, one line each."""
    lines = [f"{task.id}: {task.status}, {task.score:g}/{task.max_score:g} points"]
    return lines + [f"  {c.name}: {c.message}" for c in task.checks if not c.passed]


def public_tests(test_file: str):
    """A parametrised pytest test, one case per task of the assignment holding ``test_file``."""
    folder = str(Path(test_file).resolve().parent)
    assignment = config.load(paths.COURSE).assignment(Path(folder).name)

    @pytest.mark.parametrize("task_id", [t.id for t in assignment.tasks])
    def test_task(task_id: str) -> None:
        result = graded_tasks(folder)[task_id]
        if result.status != Status.PASSED:
            lines = explain(result) + (["", result.feedback] if result.feedback else [])
            pytest.fail("\n".join(lines), pytrace=False)

    return test_task


def check(task_id: str, folder: str | Path) -> float:
    """A notebook grade cell: print the task's verdict and diagnosis, and return its points.

    nbgrader reads a grade cell whose output is a number as that many points (partial credit),
    so the notebook and ``grader grade`` give the same score.
    """
    task = graded_tasks(folder)[task_id]
    print("\n".join(explain(task)))
    return task.score
