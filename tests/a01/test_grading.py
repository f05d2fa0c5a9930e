"""Grading a01 end to end: full marks for the solutions, zero for the skeleton, seeded bugs.

a01's tasks call no other task, so each grading below seeds several bugs in different tasks
at once, and each bug must cost exactly its own task.
"""
from __future__ import annotations


import pytest

from tests.helpers import grade_folder, lost_tasks, seeded_bugs

AID = "a01_neurons"
MAX = 23


# (file, old, new, the task that must be lost)
BUGS = {
    "tie at the threshold does not fire": (
        "units.py", "y = (net >= theta).to(x.dtype)", "y = (net > theta).to(x.dtype)", "a01.ltu_forward"),
    "LMS error with the wrong sign": (
        "rules.py", "    err = t - y  # (N,)\n", "    err = y - t  # (N,)\n", "a01.lms_step"),
    "Hebb averaged over the wrong axis": (
        "rules.py", "w = w + lr * (y @ x) / x.shape[0]", "w = w + lr * (y @ x) / x.shape[1]", "a01.hebb_step"),
    "Hopfield self-connections kept": (
        "hopfield.py", "    w = w - torch.diag(torch.diagonal(w))  # no unit connects to itself\n", "",
        "a01.hopfield_weights"),
    "perceptron epoch skips the last example": (
        "rules.py", "    for n in range(x.shape[0]):\n", "    for n in range(x.shape[0] - 1):\n",
        "a01.perceptron_epoch"),
    "generalised delta rule without the sigmoid's derivative": (
        "rules.py", "delta = (t - y) * y * (1.0 - y)", "delta = (t - y)", "a01.sigmoid_delta_step"),
    "Oja without the decay term": (
        "rules.py", "((y @ x) / n - (y @ y) / n * w)", "((y @ x) / n)", "a01.oja_step"),
    "Sanger with the lower triangle": (
        "rules.py", "torch.triu(y.T @ y)", "torch.tril(y.T @ y)", "a01.sanger_step"),
    "AND with OR's threshold": (
        "units.py", '"AND": ([1.0, 1.0], 1.5)', '"AND": ([1.0, 1.0], 0.5)', "a01.gate_weights"),
    "decision boundary with a sign error": (
        "units.py", "x2 = (theta - w[0] * x1) / w[1]", "x2 = (theta + w[0] * x1) / w[1]", "a01.decision_boundary"),
    "Hopfield unit flips to -1 on a zero field": (
        "hopfield.py", "torch.where(h < 0, -1.0, s[:, j])", "torch.where(h <= 0, -1.0, s[:, j])",
        "a01.hopfield_update"),
    "generic network ignores the update order": (
        "generic.py", "    for j in order.tolist():\n", "    for j in sorted(order.tolist()):\n", "a01.generic_step"),
}
GROUPS = [list(BUGS)[i:i + 4] for i in range(0, len(BUGS), 4)]


@pytest.mark.parametrize("group", range(len(GROUPS)), ids=[" / ".join(g) for g in GROUPS])
def test_each_seeded_bug_loses_only_its_task(group, solutions, tmp_path):
    names = GROUPS[group]
    result = grade_folder(seeded_bugs(solutions(AID), tmp_path, [BUGS[n][:3] for n in names]), suite="all",
                          sandboxed=False)
    assert lost_tasks(result) == {BUGS[n][3] for n in names}
    for t in result.assignments[0].tasks:
        if t.id in lost_tasks(result):
            assert t.status == "failed" and any(not c.passed and c.said for c in t.checks)
