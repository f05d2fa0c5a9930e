"""nbgrader notebooks: valid nbformat, nbgrader metadata, points from course.yaml, and grade cells that grade."""
from __future__ import annotations

import ast

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from grader import cli, paths
from grader.authoring.notebooks import build
from grader.authoring.notebooks import grade_id as task_grade_id
from grader.authoring.release import transform
from tests.helpers import COURSE

AID = "a02_mlp_backprop"


def run_cells(nb, workdir, stub: bool) -> dict[str, object]:
    """Execute a notebook the way a kernel would, writing %%writefile cells; returns each grade cell's
    output (the value of its last expression, which nbgrader reads as partial credit) or its error."""
    outcomes = {}
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source.startswith("%%writefile "):
            first, body = source.split("\n", 1)
            if stub:  # what nbgrader generate_assignment does to the solution markers
                body = transform(body, "a02", solutions=False)
            target = workdir / first.split(" ", 1)[1]
            target.write_text(body)
            continue
        name = cell.metadata["nbgrader"]["grade_id"]
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        try:
            exec(compile(tree, name, "exec"), namespace)
            outcome = eval(compile(ast.Expression(last.value), name, "eval"), namespace) if last else None
        except Exception as e:
            outcome = e
        if cell.metadata["nbgrader"]["grade"]:
            outcomes[cell.metadata["nbgrader"]["grade_id"]] = outcome
    return outcomes


def test_notebook_is_valid_and_carries_nbgrader_metadata():
    nb = build(COURSE, AID, paths.REFERENCE / AID)
    nbformat.validate(nb)
    meta = [c.metadata["nbgrader"] for c in nb.cells]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids))
    graded = [m for m in meta if m["grade"]]
    assert sum(m["points"] for m in graded) == COURSE.assignment(AID).max_score
    assert all(m["locked"] and not m["solution"] for m in graded)
    solution_cells = [c for c in nb.cells if c.metadata["nbgrader"]["solution"]]
    assert {c.source.split("\n", 1)[0] for c in solution_cells} == {f"%%writefile {AID}/layers.py",
                                                                     f"%%writefile {AID}/mlp.py"}
    assert all("### BEGIN SOLUTION" in c.source for c in solution_cells)


@pytest.mark.parametrize("stub", [False, True], ids=["solutions", "stubs"])
def test_grade_cells_pass_on_solutions_and_fail_on_stubs(stub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcomes = run_cells(build(COURSE, AID, paths.REFERENCE / AID), tmp_path, stub)
    assert len(outcomes) == len(COURSE.assignment(AID).tasks)
    points = {task_grade_id(t.id): t.points for t in COURSE.assignment(AID).tasks}
    if stub:
        assert outcomes == {k: 0.0 for k in points}
    else:
        assert outcomes == points


def test_a_grade_cell_outputs_the_points_grader_grade_gives(capsys):
    """Partial credit agrees: the grade cell's output is the task's points from the same grading."""
    from grader.student import check
    from tests.helpers import grade_folder

    folder = paths.ROOT / "examples" / "buggy_submission" / AID
    expected = {t.id: t for a in grade_folder(folder).assignments for t in a.tasks}
    partial = [t for t in expected.values() if 0 < t.score < t.max_score]
    assert partial, "the buggy example should have a task with partial credit"
    # one task of each outcome (each check() is a grading of its own): partial, none, full
    none = next(t for t in expected.values() if t.score == 0)
    full = next(t for t in expected.values() if t.score == t.max_score)
    for result in (partial[0], none, full):
        assert check(result.id, folder) == result.score
    printed = capsys.readouterr().out
    assert f"{partial[0].id}: failed, {partial[0].score:g}/{partial[0].max_score:g} points" in printed


def test_release_notebooks_makes_an_nbgrader_course_directory(tmp_path, capsys):
    ids = [a.id for a in COURSE.assignments if (paths.REFERENCE / a.id).is_dir()]
    assert cli.main(["release", "--notebooks", str(tmp_path)]) == 0
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.ipynb")) == \
        sorted(f"source/{aid}/{aid}.ipynb" for aid in ids)
    config = tmp_path / "nbgrader_config.py"
    settings = PyFileConfigLoader(config.name, str(tmp_path)).load_config()  # as nbgrader loads it
    assert settings.CourseDirectory.course_id == "deepgrade"
    assert settings.Execute.timeout == COURSE.budgets.assignment_s + 60
    assert f"and {config}: {tmp_path} is an nbgrader course directory" in capsys.readouterr().out
    own = config.read_text() + "c.Exchange.root = '/srv/exchange'\n"  # the instructor's own settings
    config.write_text(own)
    assert cli.main(["release", "--notebooks", str(tmp_path)]) == 0
    assert config.read_text() == own and f"kept {config}, which differs" in capsys.readouterr().out
