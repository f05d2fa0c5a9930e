"""nbgrader for real: the folder ``grader release --notebooks`` writes is a course directory nbgrader runs in as it is.

nbgrader, from the pinned toolchain (the test extra), generates the student version of a01,
autogrades a solved submission and an untouched one, and its own gradebook holds full points
and zero; ``grader grade`` reads the same notebooks and agrees. Nothing is installed at run time.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader import cli
from grader.authoring.notebooks import COURSE_ID, grade_id
from grader.judge.pipeline import grade
from grader.sandbox.session import runner_for
from tests.helpers import COURSE

AID = "a01_neurons"  # the smallest grading: its notebook's first grade cell grades it in about two seconds
STUDENTS = ("solved", "untouched")  # the source notebook, solutions in place; the released one as it is
COMMAND_LIMIT_S = 300  # the round trip takes well under a minute; this only stops a hang


def test_nbgrader_round_trip(tmp_path):
    """One test, so that the round trip runs once whatever the test workers (its steps are its helpers)."""
    course = tmp_path / "course"
    assert cli.main(["release", "--notebooks", str(course)]) == 0
    env = _environment(tmp_path)
    _nbgrader(course, env, "generate_assignment", AID)
    _released_with_stubs(course)
    submitted = {"solved": course / "source" / AID / f"{AID}.ipynb",
                 "untouched": course / "release" / AID / f"{AID}.ipynb"}
    for student, notebook in submitted.items():
        (course / "submitted" / student / AID).mkdir(parents=True)
        shutil.copy(notebook, course / "submitted" / student / AID / f"{AID}.ipynb")
    _nbgrader(course, env, "autograde", AID)
    _full_points_and_zero_in_the_gradebook(course)
    _grader_grade_agrees(course)
    _no_process_left(tmp_path)


def _environment(root: Path) -> dict[str, str]:
    """This Python's environment, with Jupyter's own folders in ``root``: the kernel nbgrader starts is
    ``python3`` of this Python (``sys.executable``), never one a user installed elsewhere. nbgrader
    runs ``alembic`` from PATH to make its gradebook: this Python's scripts come first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    for name in ("config", "data", "runtime"):
        env[f"JUPYTER_{name.upper()}_DIR"] = str(root / "jupyter" / name)
    return env


def _nbgrader(course: Path, env: dict[str, str], *args: str) -> None:
    """``python -m nbgrader ARGS`` in the course directory, in a session of its own so that a hang
    is stopped with everything it started."""
    proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=COMMAND_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)  # what it printed; its whole session is gone
        pytest.fail(f"nbgrader {' '.join(args)} did not finish within {COMMAND_LIMIT_S} s:\n{out}")
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out}"


def _released_with_stubs(course: Path) -> None:
    released = (course / "release" / AID / f"{AID}.ipynb").read_text()
    source = (course / "source" / AID / f"{AID}.ipynb").read_text()
    assert "### BEGIN SOLUTION" in source and "### BEGIN SOLUTION" not in released
    assert "raise NotImplementedError()" in released and f"%%writefile {AID}/rules.py" in released


def _full_points_and_zero_in_the_gradebook(course: Path) -> None:
    points = {grade_id(t.id): t.points for t in COURSE.assignment(AID).tasks}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        scores = {}
        for student in STUDENTS:
            submission = gb.find_submission(AID, student)
            assert submission.max_score == COURSE.assignment(AID).max_score == sum(points.values())
            notebook = gb.find_submission_notebook(AID, AID, student)
            scores[student] = {g.name: g.score for g in notebook.grades}
            assert submission.score == sum(scores[student].values())
            assert not submission.needs_manual_grade
    assert scores["solved"] == points
    assert scores["untouched"] == {name: 0.0 for name in points}


def _grader_grade_agrees(course: Path) -> None:
    """``grader grade`` reads the submitted notebooks (nbgrader's layout) and gives the scores nbgrader gave."""
    for student, expected in (("solved", COURSE.assignment(AID).max_score), ("untouched", 0.0)):
        result = grade(course / "submitted" / student, COURSE, [AID], runner=runner_for("cpu"))
        assert result.score == expected, student
        assert result.assignments[0].message.startswith(f"graded from {AID}.ipynb")


def _no_process_left(root: Path) -> None:
    """nbgrader's kernels ran in the course directory, with connection files in the Jupyter runtime
    folder beside it: once nbgrader is done, no process has either."""
    if not Path("/proc").is_dir():
        return  # no process table to read here
    deadline = time.monotonic() + 60  # a kernel that was told to stop is given a moment to be gone (longer under load)
    while (left := _processes_under(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], "left running after nbgrader finished"


def _processes_under(root: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if str(root) in cmdline or cwd == str(root) or cwd.startswith(f"{root}/"):
            found.append(f"{proc.name}: {cmdline.strip()} (in {cwd})")
    return found
