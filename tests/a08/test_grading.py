"""Grading a08 end to end: full marks for the solutions, zero for the skeleton, seeded bugs lose their tasks."""
from __future__ import annotations

import pytest

from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_seeded_bugs

AID = "a08_unsupervised"
SUITE = load(AID)


def test_suite_inputs_avoid_ties():
    """Every case has a unique nearest prototype, a clear MAXNET maximum, a unique nearest Hamming prototype."""
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            kw = SUITE.tasks["a08.winner"].inputs(case_generator(cfg.seed, "a08.winner", case), case)
            d = ((kw["x"][:, None] - kw["w"][None]) ** 2).sum(2).sort(1).values
            assert d.shape[1] < 2 or float((d[:, 1] - d[:, 0]).min()) > 1e-9
            kw = SUITE.tasks["a08.maxnet"].inputs(case_generator(cfg.seed, "a08.maxnet", case), case)
            top2 = kw["y"].topk(2, dim=1).values
            assert float((top2[:, 0] - top2[:, 1]).min()) > 0.1 - 1e-12
            kw = SUITE.tasks["a08.hamming_net"].inputs(case_generator(cfg.seed, "a08.hamming_net", case), case)
            dist = (kw["x"].shape[1] - kw["x"] @ kw["prototypes"].T) / 2
            assert torch_unique_min(dist)


def torch_unique_min(dist) -> bool:
    return bool(((dist == dist.min(1, keepdim=True).values).sum(1) == 1).all())



# Seeded bugs, graded in three groups; within a group no bugged task calls another bugged one,
# so each bug must cost its own task: (file, old, new, task).
BUG_GROUPS = {
    "primitives": [
        ("competitive.py", "    c = d2.argmin(dim=1)  # (N,)\n", "    c = d2.argmax(dim=1)  # (N,)\n", "a08.winner"),
        ("inhibitory.py", "    others = y.sum(dim=1, keepdim=True) - y  # (N, M) total",
         "    others = y.sum(dim=1, keepdim=True)  # (N, M) total", "a08.maxnet_step"),  # self-inhibition
        ("som.py", "torch.exp(-d2 / (2.0 * sigma ** 2))", "torch.exp(-d2 / (sigma ** 2))",
         "a08.gaussian_neighbourhood"),  # missing factor
        ("inhibitory.py", "    dx = -A * x + (B - x) * inputs - x * others\n",
         "    dx = -A * x + (B - x) * inputs + x * others\n", "a08.shunting_step"),  # wrong sign
        ("inhibitory.py", "B * inputs / (A + inputs.sum(dim=1, keepdim=True))",
         "B * inputs / (inputs.sum(dim=1, keepdim=True))", "a08.shunting_equilibrium"),  # missing term
        ("som.py", ".sum(dim=2).sqrt()  # (N, K)", ".sum(dim=2)  # (N, K)", "a08.quantization_error"),
        ("som.py", "    te = (gap >= 1.5)", "    te = (gap > 1.0)", "a08.topographic_error"),  # diagonals
    ],
    "steps": [
        ("competitive.py", "    w[c] = w[c] + lr * (x - w[c])\n", "    w[c] = w[c] + lr * (w[c] - x)\n",
         "a08.competitive_update"),  # wrong sign
        ("competitive.py", "1.0 / float(counts[c])", "1.0 / float(counts[c] + 1)", "a08.competitive_epoch"),
        ("competitive.py", "    eta[c] = lr_win\n", "    eta[c] = lr_lose\n", "a08.leaky_competitive_update"),
        ("rbf.py", "        counts = onehot.sum(dim=0)  # (K,)\n", "        counts = onehot.sum(dim=1)  # (K,)\n",
         "a08.kmeans"),  # wrong axis
        ("inhibitory.py", "        active = (y > 0).sum(dim=1) > 1", "        active = (y > 0).sum(dim=1) > 2",
         "a08.maxnet"),  # stops one unit early
        ("som.py", "    w = w + lr * h[:, None] * (x[None, :] - w)", "    w = w + lr * h[:, None] * (w - x[None, :])",
         "a08.som_update"),  # wrong sign
        ("rbf.py", "torch.exp(-d2 / (2.0 * widths[None, :] ** 2))", "torch.exp(-d2 / (widths[None, :] ** 2))",
         "a08.rbf_features"),  # missing factor
        ("rbf.py", "d.topk(p, dim=1", "d.topk(p + 1, dim=1", "a08.nearest_neighbour_widths"),  # off by one
    ],
    "composites": [
        ("inhibitory.py", "    scores = (n + x @ prototypes.T) / 2  # (N, M)\n",
         "    scores = (n - x @ prototypes.T) / 2  # (N, M)\n", "a08.hamming_net"),  # wrong sign
        ("som.py", "decay(*lr, t, steps)", "decay(*lr, t + 1, steps)", "a08.som_train"),  # off by one
        ("competitive.py", "    w = w.clone()\n    w[c] =", "    w[c] =", "a08.competitive_update"),  # in place
        ("rbf.py", "torch.linalg.lstsq(phi, y, driver=\"gelsd\")",
         "torch.linalg.lstsq(phi[1:], y[1:], driver=\"gelsd\")", "a08.rbf_least_squares"),
        ("rbf.py", "        w = w + lr * phi[n]", "        w = w - lr * phi[n]", "a08.rbf_delta_epoch"),  # sign
    ],
}


@pytest.mark.parametrize("group", list(BUG_GROUPS))
def test_seeded_bugs_lose_their_tasks_and_only_the_tasks_that_call_them(group, solutions, tmp_path):
    grade_seeded_bugs(solutions(AID), tmp_path, BUG_GROUPS[group])
