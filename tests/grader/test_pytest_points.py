"""A student's `pytest` run ends with the points its public tests earned, per assignment (grader/pytest_plugin.py)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grader import paths
from grader.reports.text import shown_points
from tests.helpers import grade_folder

PYTEST_TIMEOUT_S = 600


def student_pytest(folder: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", *args],
                         capture_output=True, text=True, timeout=PYTEST_TIMEOUT_S, cwd=folder.parent)
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_the_summary_gives_the_points_the_grader_gives(tmp_path):
    buggy = tmp_path / "a02_mlp_backprop"
    shutil.copytree(paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop", buggy)
    shutil.copy(paths.ROOT / "assignments" / "a02_mlp_backprop" / "test_public.py", buggy)
    graded = grade_folder(buggy)  # the public suite, as the student's tests grade it
    out = student_pytest(buggy)
    assert "= points =" in out
    assert f"a02_mlp_backprop: {shown_points(graded.score)} / {shown_points(graded.max_score)} points (17 tasks)" in out
    assert graded.score < graded.max_score  # the example's bugs cost points, so the line is not a constant


def test_the_summary_counts_the_selected_tasks_also_under_xdist(solutions):
    folder = solutions("a02_mlp_backprop")
    out = student_pytest(folder, "-n", "2", "-k", "affine")
    assert "a02_mlp_backprop: 5 / 5 points (2 tasks)" in out
