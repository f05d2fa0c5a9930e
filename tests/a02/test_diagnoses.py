"""Seeded bugs and the wording each must produce: a diagnosis is only useful if it points at the bug."""
from __future__ import annotations

import pytest

from grader.results import DiagnosisKind as K
from tests.helpers import grade_folder, seeded_bugs

AID = "a02_mlp_backprop"
# (file, old, new, task, check, the diagnosis kind it must carry, a kind it must not carry)
BUGS = [
    ("layers.py", "db = dout.sum(dim=0)  # (M,)", "db = dout  # (M,)", "a02.affine_backward", "db",
     K.MISSING_SUM, K.FORWARD),
    ("layers.py", "dw = x.T @ dout  # (D, M)", "dw = dout.T @ x  # (D, M)", "a02.affine_backward", "dw",
     K.TRANSPOSE, None),
    ("layers.py", "dx = dout * (x > 0).to(dout.dtype)", "dx = dout * (x >= 0).to(dout.dtype) * 2",
     "a02.relu_backward", "dx", K.BACKWARD, None),
]
# The same output shape from a kept dimension and from a missing sum when the batch is one example:
# that case decides neither, the others tell them apart.
KEEPDIM = [("layers.py", "db = dout.sum(dim=0)  # (M,)", "db = dout.sum(dim=0, keepdim=True)  # (M,)")]


@pytest.fixture(scope="module")
def graded(solutions, tmp_path_factory):
    folder = seeded_bugs(solutions(AID), tmp_path_factory.mktemp("diagnoses"), [b[:3] for b in BUGS])
    return {t.id: t for a in grade_folder(folder, suite="all").assignments for t in a.tasks}


@pytest.mark.parametrize("bug", BUGS, ids=[f"{b[3]}.{b[4]}" for b in BUGS])
def test_each_seeded_bug_gets_its_diagnosis(bug, graded):
    _, _, _, task, check, kind, never = bug
    result = next(c for c in graded[task].checks if c.name == check)
    assert not result.passed and kind in result.kinds(), result.said
    assert never is None or never not in result.kinds(), result.said
    assert result.suite == "public" and result.case is not None  # the case it talks about


def test_a_kept_dimension_is_told_apart_from_a_missing_sum_though_a_batch_of_one_shows_both(solutions, tmp_path):
    folder = seeded_bugs(solutions(AID), tmp_path, KEEPDIM)
    task = next(t for a in grade_folder(folder, suite="all").assignments for t in a.tasks
                if t.id == "a02.affine_backward")
    db = next(c for c in task.checks if c.name == "db")
    assert db.kinds() == [K.KEEPDIM], db.said


def test_a_failed_checks_error_sizes_are_those_of_the_case_its_message_describes(graded):
    dw = next(c for c in graded["a02.affine_backward"].checks if c.name == "dw")
    assert dw.max_abs_err is None and dw.where is None  # shapes differ: no value was compared
    dx = next(c for c in graded["a02.relu_backward"].checks if c.name == "dx")
    assert dx.max_abs_err is not None and f"(abs err {dx.max_abs_err:.3g}" in dx.message
