"""Submissions as they really arrive: renamed folders, repositories, zips, empty folders, notebooks, files."""
from __future__ import annotations

import shutil
import stat
import zipfile

import pytest

from grader import cli, paths
from grader.judge.cases import GradingError
from grader.judge.pipeline import grade
from grader.judge.submission import open_submission
from grader.results import AssignmentError
from grader.sandbox.session import runner_for
from tests.helpers import COURSE

AID = "a02_mlp_backprop"
A02 = COURSE.assignment(AID)
FILES = {AID: ["layers", "mlp"]}


def locate(path, named=True):
    sub = open_submission(path, [A02], named, FILES)
    folder = sub.folders[AID]
    return sub, folder


def test_the_folder_by_its_id_at_the_top_or_one_level_down(solutions, tmp_path):
    shutil.copytree(solutions(AID), tmp_path / "repo" / "homework" / AID)
    for where in (tmp_path / "repo" / "homework" / AID, tmp_path / "repo" / "homework", tmp_path / "repo"):
        sub, folder = locate(where, named=False)
        assert folder == tmp_path / "repo" / "homework" / AID
        sub.close()


def test_a_folder_under_another_name_is_that_assignment_when_named(solutions, tmp_path):
    shutil.copytree(solutions(AID), tmp_path / "my-work")
    sub, folder = locate(tmp_path / "my-work")
    assert folder == tmp_path / "my-work"
    with pytest.raises(GradingError, match=r"no assignment found in .*my-work \(it holds .*layers.py"):
        locate(tmp_path / "my-work", named=False)


def test_nothing_found_says_what_is_there_and_what_was_expected(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "a2").mkdir()
    with pytest.raises(GradingError) as e:
        locate(tmp_path)
    assert "it holds a2/, notes.txt" in str(e.value) and "hand in the folder a02_mlp_backprop/" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GradingError, match="it is empty"):
        locate(tmp_path / "empty")


def test_two_candidates_one_level_down_are_refused(solutions, tmp_path):
    for name in ("v1", "v2"):
        shutil.copytree(solutions(AID), tmp_path / name / AID)
    with pytest.raises(GradingError, match=r"several places \(v1/, v2/\)"):
        locate(tmp_path)


def test_a_file_is_named_as_a_file(tmp_path):
    (tmp_path / "layers.py").write_text("")
    with pytest.raises(GradingError, match="layers.py is a file, not a folder, a notebook or a .zip"):
        locate(tmp_path / "layers.py")


def test_a_zip_unpacks_safely(solutions, tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in solutions(AID).iterdir():
            if f.is_file():
                z.write(f, f"hw/{AID}/{f.name}")
        z.writestr("../escaped.py", "x = 1")
        link = zipfile.ZipInfo(f"hw/{AID}/ref.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    sub, folder = locate(archive, named=False)
    try:
        assert folder.name == AID and (folder / "layers.py").is_file()
        assert not (folder / "ref.py").exists() and not (tmp_path / "escaped.py").exists()
        unpacked = folder.parent.parent
    finally:
        sub.close()
    assert not unpacked.exists()  # nothing left behind


def test_a_symlinked_assignment_is_refused_by_name(tmp_path):
    from grader import paths
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / AID).symlink_to(paths.REFERENCE / AID)
    with pytest.raises(GradingError, match="a symbolic link, never followed"):
        locate(tmp_path / "sub")
    with pytest.raises(GradingError, match="is a symbolic link, never followed"):
        locate(tmp_path / "sub" / AID)


def test_an_assignment_not_available_is_refused(tmp_path, capsys):
    text = paths.COURSE.read_text()
    block = "  - id: a09_recurrent\n    title: RNN and BPTT, LSTM, recursive networks\n"
    assert text.count(block) == 1
    course = tmp_path / "course.yaml"  # the shipped course with a09 not released yet
    course.write_text(text.replace(block, block + "    available: false\n"))
    (tmp_path / "sub").mkdir()
    assert cli.main(["--course", str(course), "grade", str(tmp_path / "sub"), "--assignment", "a09"]) == 2
    assert "a09_recurrent is not available yet" in capsys.readouterr().err


def test_renamed_folder_and_empty_folder_end_to_end(solutions, tmp_path):
    shutil.copytree(solutions(AID), tmp_path / "renamed")
    result = grade(tmp_path / "renamed", COURSE, ["a02"], runner=runner_for("cpu"))
    assert result.score == result.max_score
    (tmp_path / "empty" / AID).mkdir(parents=True)
    a = grade(tmp_path / "empty" / AID, COURSE, ["a02"], runner=runner_for("cpu")).assignments[0]
    assert a.error == AssignmentError.FILES_MISSING and a.score == 0
    assert a.message == "layers.py and mlp.py are missing from a02_mlp_backprop/"
    (tmp_path / "empty" / AID / f"{AID}.ipynb").write_text("{}")  # a notebook stands in for them: not this one
    a = grade(tmp_path / "empty" / AID, COURSE, ["a02"], runner=runner_for("cpu")).assignments[0]
    assert a.error == AssignmentError.NOTEBOOK_UNREADABLE and a.score == 0
    assert a.message == "a02_mlp_backprop.ipynb cannot be read: JSON, but not a notebook (no 'nbformat' field)"
    shutil.copy(solutions(AID) / "layers.py", tmp_path / "empty" / AID / "layers.py")
    tasks = {t.id: t for t in grade(tmp_path / "empty" / AID, COURSE, ["a02"], runner=runner_for("cpu")).tasks()}
    assert tasks["a02.mlp_forward"].checks[0].message.startswith(
        "mlp.py is missing from a02_mlp_backprop/ (it holds a02_mlp_backprop.ipynb: the grader reads .py files")
    assert tasks["a02.affine_forward"].score == tasks["a02.affine_forward"].max_score
