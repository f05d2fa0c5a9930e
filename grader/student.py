"""What a student runs: ``pytest`` in an assignment folder, and the grade cells of an nbgrader notebook.

Both grade each task once per content of the folder (sandboxed, the public suite, the grader's
own checks) and report one task at a time with the grader's diagnosis. Each assignment ships a
``test_public.py`` that calls :func:`public_tests`: ``pytest -k affine_backward`` grades only the
tasks it selects. Each notebook grade cell calls :func:`check`, which grades the whole assignment
on first use.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from grader import i18n, paths
from grader.course import config
from grader.pytest_plugin import PROPERTY
from grader.reports.text import task_lines
from grader.results import GradingResult, Status, TaskResult
from grader.sandbox import warm

_graded: dict[tuple[str, str, str], dict[str, TaskResult]] = {}  # (folder, content, language)


def _fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.py")):
        h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def graded_tasks(folder: str | Path, tasks: Iterable[str] | None = None) -> dict[str, TaskResult]:
    """The tasks of the assignment in ``folder`` (default: all), graded on the public suite.

    Each task is graded once per content of the folder; the ones not graded yet are graded
    together, in one run, and only they.
    """
    folder = Path(folder).resolve()
    course = _course()
    ids = [t.id for t in course.assignment(folder.name).tasks]
    wanted = ids if tasks is None else [i for i in ids if i in set(tasks)]
    lang = language(course)
    done = _graded.setdefault((str(folder), _fingerprint(folder), lang), {})
    missing = {i for i in wanted if i not in done}
    if missing:
        from grader.sandbox.session import runner_for

        with i18n.using(lang):
            result = grade(folder, course, [folder.name], suite="public", device="cpu", runner=runner_for("cpu"),
                           tasks=missing)
        done.update((t.id, t) for t in result.tasks())
    return {i: done[i] for i in wanted}


def grade(*args, **kwargs) -> GradingResult:
    """:func:`grader.judge.pipeline.grade`, imported on the first grading. The frozen fixtures hold the
    public cases, so a grading whose tasks pass imports no torch in this process (a failed one loads it
    for its diagnoses): the fork server :func:`public_tests` started holds the torch the tests run on."""
    from grader.judge.pipeline import grade as graded

    return graded(*args, **kwargs)


def language(course: config.Course) -> str:
    """What the student reads: the environment's language (``LANG=zh_CN.UTF-8 pytest``), else course.yaml's."""
    return i18n.choose(None, course.language)


def _course() -> config.Course:
    """course.yaml, or a test failure that says what is wrong with it (every error, no traceback)."""
    try:
        return config.load(paths.COURSE)
    except config.ConfigError as e:
        with i18n.using(i18n.choose()):  # the environment's language: course.yaml's cannot be read
            said = i18n._("course.yaml cannot be read:")
        pytest.fail(said + "\n" + "\n".join(str(m) for m in e.args), pytrace=False)


def public_tests(test_file: str):
    """A parametrised pytest test, one case per task of the assignment holding ``test_file``."""
    folder = str(Path(test_file).resolve().parent)
    assignment = _course().assignment(Path(folder).name)
    warm.start_now()  # at collection: the sandbox's torch import overlaps this process's start and collection

    @pytest.mark.parametrize("task_id", [t.id for t in assignment.tasks])
    def test_task(task_id: str, request: pytest.FixtureRequest) -> None:
        result = graded_tasks(folder, {task_id} | _selected(request))[task_id]
        request.node.user_properties.append((PROPERTY, (assignment.id, task_id, result.score, result.max_score)))
        if result.status != Status.PASSED:
            with i18n.using(language(_course())):
                lines = task_lines(result, feedback=True)
            pytest.fail("\n".join(lines), pytrace=False)

    return test_task


def _selected(request: pytest.FixtureRequest) -> set[str]:
    """The tasks of this test that pytest will run (after ``-k``, node ids, ``--lf``...): graded together."""
    return {item.callspec.params["task_id"] for item in request.session.items
            if getattr(item, "function", None) is request.function and hasattr(item, "callspec")}


def check(task_id: str, folder: str | Path) -> float:
    """A notebook grade cell: print the task's verdict and diagnosis, and return its points.

    nbgrader reads a grade cell whose output is a number as that many points (partial credit),
    so the notebook and ``grader grade`` give the same score.
    """
    task = graded_tasks(folder)[task_id]
    with i18n.using(language(_course())):
        print("\n".join(task_lines(task)))
    return task.score
