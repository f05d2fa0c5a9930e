"""Grading a07: seeded bugs lose their tasks and only the tasks that declare they call them, with a diagnosis
that names the tensor; suite inputs keep the KL term tame and CD's noise clear of its probabilities."""
from __future__ import annotations

import pytest
import torch

from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_named_bugs

AID = "a07_autoencoders_dbn"
SUITE = load(AID)
SPARSE = {"a07.sparsity_penalty", "a07.sparse_ae_loss"}
CD = {"a07.rbm_cd1", "a07.dbn_pretrain"}

# Each bug: (file, old, new, the tasks it must cost, the first of them, a word of that task's diagnosis).
# Bugs graded together cost disjoint sets of tasks, so each set is attributed to its bug.
BUGS = {
    "sparsity term's sign": (
        "autoencoder.py", "    drho_hat = beta * (-rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat))  # (H,)\n",
        "    drho_hat = beta * (rho / rho_hat - (1.0 - rho) / (1.0 - rho_hat))  # (H,)\n",
        SPARSE, "a07.sparsity_penalty", "dh:"),
    "rho_hat per example instead of per batch": (
        "autoencoder.py", "    rho_hat = h.mean(dim=0)  # (H,)", "    rho_hat = h  # (H,)",
        SPARSE, "a07.sparsity_penalty", "loss:"),
    "CD statistics from the hidden sample": (
        "rbm.py", "    W = W + lr * (v.T @ p0 - v1.T @ p1) / n  # (D, H)\n",
        "    W = W + lr * (v.T @ h0 - v1.T @ p1) / n  # (D, H)\n",
        CD, "a07.rbm_cd1", "W:"),
    "reconstruction error not averaged": (
        "rbm.py", "    error = ((v - v1) ** 2).sum() / n\n", "    error = ((v - v1) ** 2).sum()\n",
        CD, "a07.rbm_cd1", "error:"),
    "unrolled layers keep the visible biases": (
        "dbn.py", "[(W, c) for W, _, c in layers]", "[(W, b) for W, b, _ in layers]",
        {"a07.dbn_unroll"}, "a07.dbn_unroll", "b1:"),
    "hidden delta without the sigmoid's derivative": (
        "dbn.py", "            d = (d @ W.T) * h * (1.0 - h)\n", "            d = d @ W.T\n",
        {"a07.dbn_backward", "a07.dbn_finetune_step"}, "a07.dbn_backward", "dW1:"),
    "next layer trained on thresholded samples": (
        "dbn.py", "        data = hidden_probs(data, W, c)  # (N, D_l)",
        "        data = (hidden_probs(data, W, c) > 0.5).to(x.dtype)  # (N, D_l)",
        {"a07.dbn_pretrain"}, "a07.dbn_pretrain", "W2:"),
    "softmax gradient not divided by N": (
        "dbn.py", "dbn_backward(dscores / n, cache)", "dbn_backward(dscores, cache)",
        {"a07.dbn_finetune_step"}, "a07.dbn_finetune_step", "W1:"),
    "decoder's activation derivative forgotten": (
        "autoencoder.py", "    dz2 = dxhat * activation_grad(xhat, output)  # (N, D)", "    dz2 = dxhat  # (N, D)",
        {"a07.ae_backward", "a07.sparse_ae_loss"}, "a07.ae_backward", "dW2:"),
    "weight decay's gradient halved": (
        "autoencoder.py", "    dW1 = lam * W1\n", "    dW1 = 0.5 * lam * W1\n",
        {"a07.reconstruction_loss", "a07.sparse_ae_loss"}, "a07.reconstruction_loss", "dW1:"),
    "encoder without its bias": (
        "autoencoder.py", "    h = activate(x @ W1 + b1, hidden)  # (N, H)",
        "    h = activate(x @ W1, hidden)  # (N, H)",
        {"a07.ae_forward", "a07.ae_backward", "a07.sparse_ae_loss"}, "a07.ae_forward", "xhat:"),
    "sigmoid on the class scores": (
        "dbn.py", "    scores = h @ W_out + b_out  # (N, K)", "    scores = torch.sigmoid(h @ W_out + b_out)  # (N, K)",
        {"a07.dbn_forward", "a07.dbn_finetune_step"}, "a07.dbn_forward", "scores:"),  # the backward reads its cache
    "torch's cross_entropy for the loss (banned)": (
        "dbn.py", "    loss = -log_probs[rows, y].mean()\n",
        "    loss = torch.nn.functional.cross_entropy(scores, y)\n",
        {"a07.dbn_finetune_step"}, "a07.dbn_finetune_step", "banned operation torch.nn.functional.cross_entropy"),
}
GROUPS = [
    ("sparsity term's sign", "CD statistics from the hidden sample", "unrolled layers keep the visible biases",
     "hidden delta without the sigmoid's derivative"),
    ("rho_hat per example instead of per batch", "next layer trained on thresholded samples",
     "softmax gradient not divided by N"),
    ("decoder's activation derivative forgotten", "torch's cross_entropy for the loss (banned)",
     "reconstruction error not averaged"),
    ("weight decay's gradient halved", "sigmoid on the class scores"),
    ("encoder without its bias",),
]


def test_groups_cover_every_bug_with_disjoint_losses():
    assert sorted(b for g in GROUPS for b in g) == sorted(BUGS)
    for group in GROUPS:
        sets = [BUGS[b][3] for b in group]
        assert sum(len(s) for s in sets) == len(set().union(*sets)), group
    for bug, (*_, lost, first, _) in BUGS.items():  # a bug costs only its task and the tasks that declare they call it
        assert lost == {first} | {t.id for t in SUITE.tasks.values() if t.id in lost and first in t.calls}, bug


@pytest.mark.parametrize("group", GROUPS, ids=[" + ".join(g) for g in GROUPS])
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    grade_named_bugs(solutions(AID), tmp_path, BUGS, group)


def cases(task: str):
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            yield case, SUITE.tasks[task].inputs(case_generator(cfg.seed, task, case), case)


def test_sparsity_inputs_keep_mean_activations_inside_the_tame_range():
    for _, kw in cases("a07.sparsity_penalty"):
        assert 0.05 <= float(kw["h"].min()) and float(kw["h"].max()) <= 0.95
    for _, kw in cases("a07.sparse_ae_loss"):
        rho_hat = torch.sigmoid(kw["x"] @ kw["W1"] + kw["b1"]).mean(dim=0)
        assert 0.05 < float(rho_hat.min()) and float(rho_hat.max()) < 0.95


def test_cd_noise_stays_clear_of_the_hidden_probabilities_and_shapes_differ():
    for case, kw in cases("a07.rbm_cd1"):
        p = torch.sigmoid(kw["v"] @ kw["W"] + kw["c"])
        assert float((kw["noise"] - p).abs().min()) >= 1e-3 - 1e-12
        assert 0 <= float(kw["noise"].min()) and float(kw["noise"].max()) < 1
        assert kw["W"].shape[0] != kw["W"].shape[1]
        assert (kw["v"].shape[0] == 1) == (case == 0)
