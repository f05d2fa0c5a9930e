"""The command line: exit codes, formats, --output, --fail-under, reproduce, and the students' pytest."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli, paths

AID = "a02_mlp_backprop"


def grader(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          cwd=cwd or paths.ROOT, timeout=600)


def grader_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same command in this process (``cli.main``), without a new interpreter importing torch
    again; what a process of its own adds (``python -m grader``, its exit status, a stderr with
    nothing else on it) is proven by the tests that use :func:`grader`."""
    capsys.readouterr()
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["grader", *args], rc, out.out, out.err)


def test_grade_json_to_file_and_fail_under(solutions, tmp_path):
    out = tmp_path / "report" / "result.json"
    r = grader("grade", str(solutions(AID)), "--format", "json", "--output", str(out), "--fail-under", "100", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == 30


def test_grade_text_table_and_fail_under_on_the_skeleton(skeletons):
    r = grader("grade", str(skeletons(AID)), "--fail-under", "50")
    assert r.returncode == 1
    assert "a02.affine_backward" in r.stdout and "not_implemented" in r.stdout and "0/30" in r.stdout
    assert "under --fail-under 50%" in r.stderr
    assert "grading a02_mlp_backprop" not in r.stderr  # no progress where stderr is not a terminal


def test_whole_course_folder_and_assignment_filter(solutions, capsys):
    course_dir = solutions(AID).parent
    r = grader_here(capsys, "grade", str(course_dir), "--assignment", "a02", "--suite", "hidden", "--format", "json", "-q")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [a["id"] for a in data["assignments"]] == [AID] and data["suite"] == "hidden"
    assert data["score"] == 30


def test_an_error_is_one_line_on_the_process_stderr_and_exit_2():
    r = grader("grade", "no/such/folder")
    assert r.returncode == 2
    assert "no such folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


@pytest.mark.parametrize("args,message", [
    (("grade", ".", "--assignment", "a99"), "unknown assignment 'a99'"),
    (("--course", "missing.yaml", "grade", "."), "missing.yaml: no such file"),
    (("reproduce", "a77"), "unknown assignment 'a77'"),
])
def test_errors_are_one_line_and_exit_2(args, message, capsys):
    r = grader_here(capsys, *args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def test_bad_course_yaml_names_the_line(tmp_path, capsys):
    bad = tmp_path / "course.yaml"
    bad.write_text(paths.COURSE.read_text().replace("late_policy:", "late_polcy:"))
    r = grader_here(capsys, "--course", str(bad), "validate")
    assert r.returncode == 2
    assert "unknown key 'late_polcy'" in r.stderr and f"{bad}:" in r.stderr


def test_validate_and_release_check(capsys):
    r = grader_here(capsys, "validate")
    assert r.returncode == 0 and "ok" in r.stdout
    r = grader_here(capsys, "release", "--check")
    assert r.returncode == 0, r.stderr


def test_late_submission_is_penalised(solutions, capsys):
    r = grader_here(capsys, "grade", str(solutions(AID)), "--format", "json", "-q",
               "--submitted-at", "2027-02-21T08:00:00+00:00")  # two started days after the deadline + grace
    data = json.loads(r.stdout)
    assert data["score"] == pytest.approx(30 * 0.8)
    assert "late" in data["assignments"][0]["message"]


def test_reproduce_a02_matches_every_published_number(tmp_path):
    r = grader("reproduce", "a02", "--format", "json", "--plots", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all(row["ok"] is True and row["assignment"] == AID for row in rows)
    by_name = {row["quantity"]: row for row in rows}
    assert by_name["Mazur: initial total error"]["published"] == 0.298371109
    assert abs(by_name["Mazur: w5 after one step"]["ours"] - 0.35891648) < 5e-9
    assert (tmp_path / "a02_training_curves.png").stat().st_size > 1000


def run_student_pytest(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True, cwd=paths.ROOT, env=env, timeout=600)


def test_students_pytest_passes_on_solutions_and_explains_failures(solutions, skeletons):
    ok = run_student_pytest(solutions(AID))
    assert ok.returncode == 0, ok.stdout[-2000:]
    assert "17 passed" in ok.stdout
    bad = run_student_pytest(skeletons(AID))
    assert bad.returncode == 1
    assert "a02.affine_backward: not_implemented, 0/3 points" in bad.stdout
    assert "17 failed" in bad.stdout
