"""What students run: a pytest selection grades only the tasks it selects, each once per content."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import paths, student
from grader.judge.cases import GradingError
from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from tests.helpers import COURSE, solutions_copy

AID = "a02_mlp_backprop"
TASK = "a02.affine_backward"


class RecordingRunner(InProcessRunner):
    """The in-process runner (the course's own solutions), noting every task it is asked to run."""

    def __init__(self):
        super().__init__()
        self.tasks: list[str] = []

    def run(self, submission, assignment, requests, limits, budget=None):
        self.tasks += [r.task for r in requests]
        return super().run(submission, assignment, requests, limits, budget)


def test_grade_plans_runs_and_reports_only_the_selected_tasks(solutions):
    runner = RecordingRunner()
    result = grade(solutions(AID), COURSE, [AID], runner=runner, tasks={TASK})
    assert set(runner.tasks) == {TASK}
    assert [t.id for t in result.tasks()] == [TASK]
    points = {t.id: t.points for t in COURSE.assignment(AID).tasks}
    assert result.score == result.max_score == points[TASK]


def test_an_unknown_task_is_an_error(solutions):
    with pytest.raises(GradingError, match="no such task in the assignments graded: a02.no_such_task"):
        grade(solutions(AID), COURSE, [AID], runner=RecordingRunner(), tasks={"a02.no_such_task"})


def test_each_task_is_graded_once_per_content(tmp_path, monkeypatch):
    folder = solutions_copy(tmp_path, AID)
    asked: list[set[str]] = []

    def recording_grade(*args, tasks=None, runner=None, **kwargs):  # the in-process runner, not the sandbox
        asked.append(set(tasks))
        return grade(*args, tasks=tasks, runner=InProcessRunner(), **kwargs)

    monkeypatch.setattr(student, "grade", recording_grade)
    assert list(student.graded_tasks(folder, {TASK})) == [TASK]
    student.graded_tasks(folder, {TASK, "a02.relu_forward"})
    student.graded_tasks(folder, {TASK})
    assert asked == [{TASK}, {"a02.relu_forward"}]  # the second call grades only what is new
    (folder / "layers.py").write_text((folder / "layers.py").read_text() + "\n# edited\n")
    student.graded_tasks(folder, {TASK})
    assert asked[-1] == {TASK}  # new content: graded again


RECORDER = '''
import json, pathlib
import grader.student

_grade = grader.student.grade

def recording_grade(*args, tasks=None, **kwargs):
    with open(pathlib.Path(__file__).parent.parent / "asked.jsonl", "a") as f:
        f.write(json.dumps(sorted(tasks) if tasks is not None else None) + "\\n")
    return _grade(*args, tasks=tasks, **kwargs)

grader.student.grade = recording_grade
'''


def test_pytest_k_grades_only_the_selected_task(tmp_path):
    folder = solutions_copy(tmp_path, AID)
    (folder / "conftest.py").write_text(RECORDER)  # notes what the students' tests ask the grader for
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder),
                        "-k", "affine_backward"], capture_output=True, text=True, cwd=paths.ROOT, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "1 passed" in r.stdout
    asked = [json.loads(line) for line in Path(tmp_path / "asked.jsonl").read_text().splitlines()]
    assert asked == [[TASK]]


def test_a_broken_course_yaml_fails_the_public_tests_with_every_error_and_no_traceback(tmp_path, monkeypatch):
    from grader import paths, student
    broken = tmp_path / "course.yaml"
    broken.write_text(paths.COURSE.read_text().replace("course:", "cours:", 1).replace("devices:", "devics:", 1))
    monkeypatch.setattr(paths, "COURSE", broken)
    with pytest.raises(pytest.fail.Exception) as failed:
        student.public_tests(str(paths.ROOT / "assignments" / "a02_mlp_backprop" / "test_public.py"))
    said = str(failed.value)
    assert said.startswith("course.yaml cannot be read:") and "cours" in said and "devics" in said, said
    assert not failed.value.pytrace
