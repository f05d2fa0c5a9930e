"""Notebooks handed in to ``grader grade``: the files their ``%%writefile`` cells write, graded in the sandbox."""
from __future__ import annotations

import json
import shutil
import zipfile

import nbformat
import pytest

from grader import cli, paths
from grader.authoring.notebooks import build
from grader.authoring.release import transform
from grader.judge import notebook
from grader.judge.cases import GradingError
from grader.judge.pipeline import grade
from grader.judge.submission import assignment_named, open_submission
from grader.results import AssignmentError, Status
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, comparable

AID = "a02_mlp_backprop"
A01 = "a01_neurons"
FILES = {AID: ["layers", "mlp"], A01: ["generic", "hopfield", "rules", "units"]}
IDS = [a.id for a in COURSE.assignments]


def solved(aid: str = AID) -> nbformat.NotebookNode:
    """The course's source notebook: its solution cells hold the reference's solutions."""
    return build(COURSE, aid, paths.REFERENCE / aid)


def skeleton(aid: str = AID) -> nbformat.NotebookNode:
    """The notebook as released: every solution block a stub."""
    nb = solved(aid)
    for cell in nb.cells:
        if cell.source.startswith("%%writefile "):
            first, body = cell.source.split("\n", 1)
            cell.source = f"{first}\n{transform(body, aid.split('_')[0], solutions=False)}"
    return nb


def save(nb: nbformat.NotebookNode, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def code_cells(*sources: str) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "code", "source": s, "metadata": {}, "outputs": [],
                                  "execution_count": None} for s in sources]})


def located(path, wanted=(AID,), named=False):
    return open_submission(path, [COURSE.assignment(a) for a in wanted], named, FILES)


# Reading a notebook: what its %%writefile cells write, or why it cannot be read


def test_writefile_cells_are_read_as_running_them_would_write(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(code_cells(
        "\n%%writefile a02_mlp_backprop/layers.py\nx = 1\n",                      # a blank line first: allowed
        "%%writefile ./a02_mlp_backprop/mlp.py\ny = 1\n",
        "%%writefile -a a02_mlp_backprop/mlp.py\nz = 2\n",                       # appended
        "import os\nprint(os.getcwd())",                                         # not run
        "%%writefile ../escape/evil.py\nboom\n",                                  # no assignment's module
        "%%writefile a02_mlp_backprop/notes.txt\ntext\n"))
    nb = notebook.read(path)
    assert nb.modules(AID) == {"layers": "x = 1\n", "mlp": "y = 1\nz = 2\n"}
    assert nb.assignments() == {AID}  # ../escape/evil.py and notes.txt are no assignment's modules
    as_lines = json.loads(path.read_text())  # the form Jupyter saves: source as a list of lines
    for cell in as_lines["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    path.write_text(json.dumps(as_lines))
    assert notebook.read(path).modules(AID) == nb.modules(AID)


@pytest.mark.parametrize("text, why", [
    ('{"cells": [', r"not valid JSON \(line 1, column 12: Expecting value\): was it saved completely\?"),
    ("[1, 2]", r"JSON, but not a notebook \(no 'nbformat' field\)"),
    ('{"nbformat": 3, "worksheets": []}', r"nbformat 3; the grader reads nbformat 4"),
    ('{"nbformat": 4, "cells": {}}', r"its 'cells' is not a list"),
    ('{"nbformat": 4, "cells": [{"cell_type": "code", "source": 7}]}', r"code cell 1 has no text 'source'"),
], ids=["truncated", "not-a-notebook", "nbformat-3", "cells", "source"])
def test_a_notebook_that_cannot_be_read_says_why(tmp_path, text, why):
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    with pytest.raises(notebook.NotebookError, match=why):
        notebook.read(path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(notebook.NotebookError, match="not UTF-8 text"):
        notebook.read(path)


# Where a notebook stands in for an assignment's files


def test_a_notebook_stands_in_for_the_py_files_and_its_modules_are_written_out(tmp_path):
    save(solved(), tmp_path / "alice" / AID / f"{AID}.ipynb")
    for where in (tmp_path / "alice", tmp_path / "alice" / AID):
        with located(where) as sub:
            folder = sub.folders[AID]
            assert sorted(p.name for p in folder.iterdir()) == ["layers.py", "mlp.py"]
            assert (folder / "layers.py").read_text() == (paths.REFERENCE / AID / "layers.py").read_text()
            assert sub.notes[AID] == (f"graded from {AID}.ipynb: the files its %%writefile cells write (layers.py, "
                                      f"mlp.py); its other cells are not run")
        assert not folder.exists()  # nothing left behind


def test_py_files_come_first_and_a_notebook_is_found_by_what_it_writes(solutions, tmp_path):
    shutil.copytree(solutions(AID), tmp_path / "both" / AID)
    save(skeleton(), tmp_path / "both" / AID / f"{AID}.ipynb")
    with located(tmp_path / "both") as sub:
        assert sub.folders[AID] == tmp_path / "both" / AID and not sub.notes
    save(solved(), tmp_path / "repo" / "homework" / "week2.ipynb")  # one level down, under another name
    save(solved(A01), tmp_path / "repo" / "homework" / "week1.ipynb")
    with located(tmp_path / "repo", (AID, A01)) as sub:
        assert sub.notes[AID].startswith("graded from week2.ipynb")
        assert sub.notes[A01].startswith("graded from week1.ipynb")
    save(solved(), tmp_path / "repo" / "homework" / "week2-Copy1.ipynb")
    with pytest.raises(GradingError, match=r"several notebooks for a02_mlp_backprop \(homework/week2-Copy1.ipynb, "
                                           r"homework/week2.ipynb\): give the one to grade"):
        located(tmp_path / "repo")


def test_a_symlinked_notebook_is_never_followed(tmp_path):
    save(solved(), tmp_path / "elsewhere.ipynb")
    (tmp_path / "sub" / AID).mkdir(parents=True)
    (tmp_path / "sub" / AID / f"{AID}.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    with located(tmp_path / "sub") as sub:
        assert sub.folders[AID] == tmp_path / "sub" / AID and not sub.notes  # graded as a folder with no files


def test_a_notebook_that_writes_none_of_the_files_says_what_it_writes(tmp_path):
    (tmp_path / AID).mkdir()
    (tmp_path / AID / "homework.ipynb").write_text(code_cells("def affine_forward(x, w, b):\n    return x @ w + b",
                                                              "%%writefile layers.py\nx = 1\n"))
    with located(tmp_path / AID) as sub:
        assert sub.folders[AID] is None
        assert sub.problems[AID] == (AssignmentError.FILES_MISSING, (
            "homework.ipynb writes none of a02_mlp_backprop's files (its %%writefile cells write layers.py): the "
            "grader grades the files a notebook's cells write, each cell starting "
            "`%%writefile a02_mlp_backprop/layers.py`"))


def test_a_notebook_handed_in_alone_is_its_assignment(tmp_path):
    path = save(solved(), tmp_path / "week2.ipynb")
    assert assignment_named(path, IDS) == AID  # by what it writes
    assert assignment_named(save(skeleton(), tmp_path / f"{AID}.ipynb"), IDS) == AID  # by its name
    (tmp_path / "broken.ipynb").write_text("{")
    assert assignment_named(tmp_path / "broken.ipynb", IDS) is None
    with pytest.raises(GradingError, match=r"broken.ipynb cannot be read: not valid JSON"):
        located(tmp_path / "broken.ipynb", IDS)
    (tmp_path / "other.ipynb").write_text(code_cells("%%writefile layers.py\nx = 1\n"))
    with pytest.raises(GradingError, match=r"no assignment found in other.ipynb \(its %%writefile cells write "
                                           r"layers.py\); .* or name the assignment with --assignment"):
        located(tmp_path / "other.ipynb", IDS)
    with located(tmp_path / "broken.ipynb", (AID,), named=True) as sub:  # named: it is that one's, and unreadable
        assert sub.problems[AID][0] == AssignmentError.NOTEBOOK_UNREADABLE


def test_a_zip_holding_a_notebook(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"alice/{AID}.ipynb", nbformat.writes(solved()))
    with located(archive) as sub:
        assert sorted(p.name for p in sub.folders[AID].iterdir()) == ["layers.py", "mlp.py"]


# Grading: the same score as the .py files, zero for the skeleton, an unreadable notebook costs its assignment only


def _tasks(result):
    return comparable(result.to_dict())["assignments"][0]["tasks"]


def test_a_solved_notebook_grades_exactly_as_the_solutions(graded_solutions, tmp_path):
    save(solved(), tmp_path / "alice" / AID / f"{AID}.ipynb")
    result = grade(tmp_path / "alice", COURSE, [AID], suite="all", runner=runner_for("cpu"))
    expected = graded_solutions(AID)
    assert result.score == expected.score == result.max_score
    assert _tasks(result) == _tasks(expected)
    assert result.assignments[0].message.startswith(f"graded from {AID}.ipynb")


def test_a_skeleton_notebook_scores_zero(tmp_path):
    result = grade(save(skeleton(), tmp_path / f"{AID}.ipynb"), COURSE, runner=runner_for("cpu"))  # named by its file: only a02 is graded
    assert [a.id for a in result.assignments] == [AID] and result.score == 0 and result.max_score == 30
    assert {t.status for t in result.tasks()} == {Status.NOT_IMPLEMENTED}


def test_an_unreadable_notebook_is_an_error_for_its_assignment_only(solutions, tmp_path, capsys):
    shutil.copytree(solutions(AID), tmp_path / "sub" / AID)
    (tmp_path / "sub" / f"{A01}.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "%%writefile')
    out = tmp_path / "result.json"
    code = cli.main(["grade", str(tmp_path / "sub"), "--assignment", "a01", "--assignment", "a02", "-q",
                     "--format", "json", "--output", str(out)])
    assert code == 2  # as without --assignment: the input could not be read
    assert "a01_neurons.ipynb cannot be read" in capsys.readouterr().err
    a01, a02 = json.loads(out.read_text())["assignments"]
    assert a01["error"] == "notebook_unreadable" and a01["score"] == 0
    assert a01["message"] == (f"{A01}.ipynb cannot be read: not valid JSON (line 1, column 44: Unterminated string "
                              f"starting at): was it saved completely?")
    assert {t["status"] for t in a01["tasks"]} == {"error"}
    assert a02["error"] is None and a02["score"] == a02["max_score"] == 30


def test_a_partial_submission_is_graded_for_what_it_holds_and_says_once_what_it_lacks(solutions, tmp_path, capsys):
    shutil.copytree(solutions(AID), tmp_path / "sub" / AID)
    out = tmp_path / "result.json"
    assert cli.main(["grade", str(tmp_path / "sub"), "-q", "--format", "json", "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [a["id"] for a in data["assignments"]] == [AID] and data["score"] == data["max_score"] == 30
    others = [a.id for a in COURSE.assignments if a.available and a.id != AID]
    assert data["not_handed_in"] == others
    assert cli.main(["grade", str(tmp_path / "sub"), "-q"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the terminal table wraps long lines
    assert text.count("not in this submission (not graded, not in the total): " + ", ".join(others)) == 1
    assert "not found in the submission" not in text  # no row per absent assignment
    assert cli.main(["grade", str(tmp_path / "sub"), "-q", "--every-assignment", "--format", "json", "--output",
                     str(out)]) == 0
    every = json.loads(out.read_text())
    assert every["not_handed_in"] == [] and every["max_score"] == sum(a.max_score for a in COURSE.assignments
                                                                      if a.available)
