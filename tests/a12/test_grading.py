"""Grading a12 end to end: seeded bugs lose their tasks and only the tasks that call them; suite inputs avoid hinges."""
from __future__ import annotations

import pytest

from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_seeded_bugs

AID = "a12_capsules"
SUITE = load(AID)


def cases(task: str):
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            yield case, SUITE.tasks[task].inputs(case_generator(cfg.seed, task, case), case)


def test_suite_inputs_stay_clear_of_hinges_and_zero_lengths():
    for _, kw in cases("a12.margin_loss"):
        length = kw["v"].norm(dim=2)
        hinges = (kw.get("m_plus", 0.9), kw.get("m_minus", 0.1))
        assert min(float((length - h).abs().min()) for h in hinges) > 0.015
    for _, kw in cases("a12.squash_forward"):
        assert float(kw["s"].norm(dim=-1).min()) > 0.19
    sizes = {kw["u_hat"].shape[1:] for _, kw in cases("a12.routing_forward")}
    assert all(len(set(s)) == 3 for s in sizes)  # children, parents and capsule size all differ
    iterations = {kw.get("iterations") for _, kw in cases("a12.routing_forward")}
    assert iterations == {1, 2, 3, 4, None}


def test_em_cases_keep_every_variance_away_from_zero():
    """EM can shrink a parent onto one vote (a variance towards 0, where rounding decides the result):
    no graded case comes near that, in any M-step of the routing."""
    import torch

    from reference.a12_capsules import em_routing

    for task in ("a12.em_m_step", "a12.em_routing"):
        for _, kw in cases(task):
            n, i, j, _ = kw["votes"].shape
            r = kw.get("r", torch.full((n, i, j), 1.0 / j, dtype=torch.float64))
            for it in range(kw.get("iterations", 3) if task == "a12.em_routing" else 1):
                mu, sigma2, a_out = em_routing.em_m_step(kw["a_in"], r, kw["votes"], kw["beta_u"], kw["beta_a"],
                                                         kw["inverse_temperature"])
                assert float(sigma2.min()) > 1e-3 and 1e-4 < float(a_out.min()) and float(a_out.max()) < 1 - 1e-9
                r = em_routing.em_e_step(mu, sigma2, a_out, kw["votes"])


# Seeded bugs, graded in three groups; within a group no bugged task calls another bugged one,
# so each bug must cost its own task: (file, old, new, task).
BUG_GROUPS = {
    "forward": [
        ("capsules.py", "    v = (n2 / (1.0 + n2)) * (s / n)  # (..., D)\n", "    v = (n2 / (1.0 + n2)) * s  # (..., D)\n",
         "a12.squash_forward"),  # the norm ratio missing
        ("losses.py", "    present = (m_plus - length).clamp(min=0.0)  # (N, J)\n    absent = (length - m_minus)",
         "    present = (m_minus - length).clamp(min=0.0)  # (N, J)\n    absent = (length - m_plus)",
         "a12.margin_loss"),  # m+ and m- swapped
        ("capsules.py", 'dW = torch.einsum("nijd,nik->ijdk", dout, u)', 'dW = torch.einsum("nijd,nik->ijdk", dout, u) / u.shape[0]',
         "a12.predictions_backward"),  # averaged over the batch
        ("losses.py", "        h = sigmoid(z) if l == len(params) - 1 else z.clamp(min=0.0)\n",
         "        h = sigmoid(z)\n", "a12.decoder_forward"),  # sigmoid everywhere
        ("em_routing.py", "0.5 * torch.log(sigma2)", "torch.log(sigma2)", "a12.em_m_step"),  # log variance for log sigma
    ],
    "routing": [
        ("capsules.py", "        e = torch.exp(b - b.amax(dim=2, keepdim=True))  # stabilise exp\n"
                        "        c = e / e.sum(dim=2, keepdim=True)",
         "        e = torch.exp(b - b.amax(dim=1, keepdim=True))  # stabilise exp\n"
         "        c = e / e.sum(dim=1, keepdim=True)", "a12.routing_forward"),  # softmax over children
        ("capsules.py", "    ds = f * dout + (df / n) *", "    ds = f * dout + df *", "a12.squash_backward"),
        ("capsules.py", ".transpose(2, 3).reshape(n, t * ho * wo, caps_dim)", ".reshape(n, t * ho * wo, caps_dim)",
         "a12.primary_caps_forward"),  # capsules read across positions
        ("losses.py", "diff * out * (1.0 - out)  # (N, P)", "diff  # (N, P)", "a12.reconstruction_loss"),
        ("em_routing.py", "    logits = torch.log(a_out)[:, None, :] + log_p", "    logits = log_p", "a12.em_e_step"),
    ],
    "backward": [
        ("capsules.py", "            du_hat += db[..., None] * v[:, None]  # through the agreement",
         "            pass  # through the agreement", "a12.routing_backward"),  # inner iterations detached
        ("capsules.py", "    db = dconv.sum(dim=(0, 2))  # (F,)", "    db = dconv.sum(dim=2)[0]  # (F,)",
         "a12.primary_caps_backward"),
        ("capsules.py", 'u_hat = torch.einsum("ijdk,nik->nijd", W, u)', 'u_hat = torch.einsum("ijkd,nik->nijd", W, u)',
         "a12.predictions_forward"),
        ("em_routing.py", "(n, i, j), 1.0 / j,", "(n, i, j), 1.0 / i,", "a12.em_routing"),  # R not uniform over parents
    ],
}


@pytest.mark.parametrize("group", list(BUG_GROUPS))
def test_seeded_bugs_lose_their_tasks_and_only_the_tasks_that_call_them(group, solutions, tmp_path):
    grade_seeded_bugs(solutions(AID), tmp_path, BUG_GROUPS[group])
