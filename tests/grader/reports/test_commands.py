"""The commands around the formats: grader export, the Gradescope bundle's run_autograder, progress."""
from __future__ import annotations

import io
import json
import sys
import zipfile

import pytest

from grader import cli
from grader.reports import render
from grader.reports.progress import progress
from grader.results import Status
from tests.helpers import run_autograder


def test_export_reads_a_folder_of_json_results(gradings, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    for student, kind in (("bea", "buggy"), ("al", "broken")):
        (results / f"{student}.json").write_text(render(gradings[kind], "json"))
    out = tmp_path / "grades.csv"
    assert cli.main(["export", str(results), "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "student,assignment,status,raw score,late penalty,final score,max score,reason"
    assert lines[1:] == ["al,a02_mlp_backprop,graded,2,0,2,6,", "bea,a02_mlp_backprop,graded,20.875,4.175,16.7,30,"]
    (results / "notes.json").write_text('{"score": 1}')
    assert cli.main(["export", str(results)]) == 2
    assert "notes.json: not a grading's JSON report" in capsys.readouterr().err


def test_html_needs_a_file(capsys):
    assert cli.main(["grade", ".", "--format", "html"]) == 2
    assert "--format html writes a page: give it a file with --output FILE" in capsys.readouterr().err


def test_the_bundles_run_autograder_grades_a_folder_laid_out_like_autograder(skeletons, tmp_path):
    bundle = tmp_path / "autograder.zip"
    assert cli.main(["gradescope-bundle", str(bundle), "--assignment", "a02"]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        z.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert {"setup.sh", "run_autograder", "course.yaml", "constraints.txt", "grader/cli.py"} <= set(names)
    assert any(n.startswith("reference/a02_mlp_backprop/") for n in names)
    assert not any("__pycache__" in n or n.startswith(("tests/", "assignments/")) for n in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    setup = (root / "source" / "setup.sh").read_text()
    assert "-c constraints.txt" in setup and "/autograder/venv" in setup
    for path in (root / "source").glob("*"):
        if path.name in ("setup.sh", "run_autograder"):
            path.chmod(0o755)  # zipfile does not restore modes; Gradescope's unzip does
    (root / "submission").mkdir()
    for f in skeletons("a02_mlp_backprop").glob("*.py"):  # files uploaded as they are, not in a folder
        (root / "submission" / f.name).write_text(f.read_text())
    (root / "submission_metadata.json").write_text(json.dumps({"created_at": "2027-02-21T08:00:00.365935+00:00"}))
    data = run_autograder(root, timeout=300)
    scored = [t for t in data["tests"] if t["max_score"] > 0]
    assert len(scored) == 17 and data["score"] == 0 == sum(t["score"] for t in data["tests"])
    assert all(t["visibility"] == "after_published" and "not implemented" in t["output"] for t in scored)
    public = [t for t in data["tests"] if t["name"].endswith("(public cases)")]
    assert len(public) == 17 and {t["visibility"] for t in public} == {"visible"}
    (late,) = [t for t in data["tests"] if t["name"] == "a02_mlp_backprop: late penalty"]  # submitted late
    assert "-20%" in late["output"] and late["visibility"] == "after_published"
    # a submission with nothing to grade still gets a results.json, saying why
    for f in (root / "submission").glob("*.py"):
        f.unlink()
    data = run_autograder(root, timeout=300)
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("Your submission could not be graded: grader: ")
    # what the student can do about it, and no option of a command they never run
    assert "hand in the folder a02_mlp_backprop/ or its files (layers.py, mlp.py)" in data["output"], data["output"]
    assert " --" not in data["output"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_in_a_terminal_and_silent_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress(False, total=2) as (step, say):
        step("grading a01_neurons")
        step("grading a02_mlp_backprop")
        say("a02_mlp_backprop: wrote plots/a02.png")
    drawn = sys.stderr.getvalue()
    assert "grading a02_mlp_backprop" in drawn and "\x1b[" in drawn  # drawn, then cleared
    assert "a02_mlp_backprop: wrote plots/a02.png\n" in drawn  # a line that stays
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress(False, total=2) as (step, say):
        assert step is None  # a log or a pipe gets no progress
        say("a02_mlp_backprop: wrote plots/a02.png")
    assert sys.stderr.getvalue() == "a02_mlp_backprop: wrote plots/a02.png\n"
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress(True) as (step, _):
        assert step is None
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_its_look_in_markdown_and_html(status):
    from grader.reports import html, markdown
    assert status in markdown.ICON
    assert f".{status.value}" in html.STYLE
