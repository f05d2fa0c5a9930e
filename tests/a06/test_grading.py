"""Grading a06 end to end: seeded bugs lose their tasks (and only the tasks that call them), naive exp and
log lose points at the large case only, and the suite's inputs keep clear of ties."""
from __future__ import annotations

import pytest

from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_seeded_bugs

AID = "a06_energy_models"
SUITE = load(AID)


def test_suite_noise_keeps_clear_of_the_probabilities_it_is_compared_with():
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            kw = SUITE.tasks["a06.rbm_sample"].inputs(case_generator(cfg.seed, "a06.rbm_sample", case), case)
            assert float((kw["noise"] - kw["p"]).abs().min()) >= 1e-3
            kw = SUITE.tasks["a06.cf_sample"].inputs(case_generator(cfg.seed, "a06.cf_sample", case), case)
            assert float((kw["noise"][:, :, None] - kw["p"].cumsum(2)).abs().min()) >= 1e-3 - 1e-12
            kw = SUITE.tasks["a06.cf_cd1"].inputs(case_generator(cfg.seed, "a06.cf_cd1", case), case)
            assert bool((~kw["mask"]).any(dim=1).all()) and bool(kw["mask"].any(dim=1).all())  # junk to ignore


# Seeded bugs in two groups; within a group no bugged task calls another bugged one: (file, old, new, task).
BUG_GROUPS = {
    "primitives": [
        ("hopfield.py", "    w = w - torch.diag(torch.diagonal(w))  # a self-connection", "    w = w  # a self-connection",
         "a06.hopfield_store"),  # the missing zero diagonal
        ("hopfield.py", "(s @ w) * s).sum(dim=1) + s @ theta", "(s @ w) * s).sum(dim=1) - s @ theta",
         "a06.hopfield_energy"),  # threshold term's sign
        ("hopfield.py", "    s = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s))\n",
         "    s = torch.where(h >= 0, 1.0, -1.0)\n", "a06.hopfield_sync"),  # a zero field does not keep the state
        ("hopfield.py", "        if not bool(changed.any()):", "        if not bool(changed.all()):",
         "a06.hopfield_recall"),  # stops when the first state settles
        ("rbm.py", "    p = sigmoid(v @ w + b)  # (N, H)", "    p = sigmoid(v @ w)  # (N, H)", "a06.rbm_p_h_given_v"),
        ("rbm.py", "    p = sigmoid(h @ w.T + a)  # (N, D)", "    p = sigmoid(h @ w.T - a)  # (N, D)", "a06.rbm_p_v_given_h"),
        ("rbm.py", "    s = (noise < p).to(p.dtype)", "    s = (noise > p).to(p.dtype)", "a06.rbm_sample"),
        ("rbm.py", "    f = -(v @ a) - softplus.sum(dim=1)", "    f = -softplus.sum(dim=1)", "a06.rbm_free_energy"),
        ("cf_rbm.py", "    rated = v * mask[:, :, None].to(v.dtype)  # (N, M, K) unrated items removed",
         "    rated = v  # (N, M, K) unrated items removed", "a06.cf_p_h_given_v"),  # the mask ignored
        ("cf_rbm.py", "    p = e / e.sum(dim=2, keepdim=True)", "    p = e / e.sum(dim=1, keepdim=True)",
         "a06.cf_p_v_given_h"),  # normalised over items
        ("cf_rbm.py", "(c[:, :, :-1] <= noise[:, :, None])", "(c[:, :, 1:] <= noise[:, :, None])", "a06.cf_sample"),
    ],
    "composites": [
        ("hopfield.py", "        h = s @ w[j] - theta[j]  # (N,) local field of unit j",
         "        h = s @ w[:, j] + theta[j]  # (N,) local field of unit j", "a06.hopfield_async"),
        ("rbm.py", "    phk = rbm_p_h_given_v(v, w, b)  # (N, H) probabilities, not samples, in the statistics",
         "    phk = rbm_sample(rbm_p_h_given_v(v, w, b), noise_h[-1])", "a06.rbm_cd_k"),  # samples in the statistics
        ("rbm.py", "    phc = rbm_p_h_given_v(c, w, b)  # (M, H)", "    phc = rbm_sample(rbm_p_h_given_v(c, w, b), noise_h[-1])",
         "a06.rbm_pcd"),  # samples in the statistics
        ("cf_rbm.py", "    da = ((v0 - v1) * m).sum(dim=0) / n  # (M, K)", "    da = (v0 - v1).sum(dim=0) / n  # (M, K)",
         "a06.cf_cd1"),  # unrated items in the statistics
        ("cf_rbm.py", "torch.arange(1, p.shape[2] + 1, dtype=p.dtype", "torch.arange(p.shape[2], dtype=p.dtype",
         "a06.cf_predict"),  # ratings counted from 0
    ],
}


@pytest.mark.parametrize("group", list(BUG_GROUPS))
def test_seeded_bugs_lose_their_tasks_and_only_the_tasks_that_call_them(group, solutions, tmp_path):
    grade_seeded_bugs(solutions(AID), tmp_path, BUG_GROUPS[group])
