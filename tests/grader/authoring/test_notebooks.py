"""nbgrader notebooks: valid nbformat, nbgrader metadata, points from course.yaml, and grade cells that grade."""
from __future__ import annotations

import nbformat
import pytest

from grader import paths
from grader.authoring.notebooks import build
from grader.authoring.release import transform
from tests.helpers import COURSE

AID = "a02_mlp_backprop"


def run_cells(nb, workdir, stub: bool) -> dict[str, Exception | None]:
    """Execute a notebook the way a kernel would, writing %%writefile cells; returns each grade cell's outcome."""
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
        try:
            exec(compile(source, cell.metadata["nbgrader"]["grade_id"], "exec"), namespace)
            outcome = None
        except AssertionError as e:
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
    if stub:
        assert all(isinstance(o, AssertionError) and "not_implemented" in str(o) for o in outcomes.values())
    else:
        assert all(o is None for o in outcomes.values()), outcomes
