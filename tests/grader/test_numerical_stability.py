"""Numerical stability is graded: a naive exp or log loses points at the large case, the reference keeps them.

Every task whose own code exponentiates or takes logs has its case ``LARGE_CASE`` at magnitudes near
1e3 (``grader.tasks.inputs.large_magnitude``). Each naive rewrite below is right at moderate inputs
and wrong in float64 at 1e3 (exp(1000) is inf, inf / inf is NaN), so its tasks must fail there and
only there; the reference passes every suite's large case.
"""
from __future__ import annotations

import pytest

from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from grader.tasks.inputs import LARGE_CASE
from tests.helpers import COURSE, grade_folder, lost_tasks, seeded_bugs

EXP_SIGMOID = "torch.exp(x) / (1.0 + torch.exp(x))"  # right up to x = 709, NaN past it (1 / (1 + exp(-x)) is not)
LOG_SUM_EXP = ("layers.py", "torch.logsumexp(shifted, dim=1, keepdim=True)",
               "torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))")


def naive_softmax(subtract: str) -> list[tuple[str, str, str]]:
    """log(sum(exp(scores - subtract))) written out, ``subtract`` in place of each row's max."""
    return [("layers.py", "scores - scores.amax(dim=1, keepdim=True)  # stabilise exp", subtract), LOG_SUM_EXP]


# Per assignment: naive rewrites of every such function, and the tasks they must cost (and no others).
NAIVE = {
    "a01_neurons": (
        [("rules.py", "y = torch.sigmoid(x @ w + b)", "y = torch.exp(x @ w + b) / (1.0 + torch.exp(x @ w + b))")],
        {"a01.sigmoid_delta_step"}),
    "a02_mlp_backprop": (
        [("layers.py", "    out = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))\n", f"    out = {EXP_SIGMOID}\n"),
         ("layers.py", "    out = torch.tanh(x)\n",
          "    out = (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))\n"),
         ("layers.py", "torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))", "torch.log(1.0 + torch.exp(x))"),
         ("layers.py", "    sig = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))\n", f"    sig = {EXP_SIGMOID}\n"),
         *naive_softmax("scores - scores.amin(dim=1, keepdim=True)")],  # exp(max - min) overflows
        {"a02.sigmoid_forward", "a02.tanh_forward", "a02.softplus_forward", "a02.softplus_backward",
         "a02.softmax_cross_entropy"}),
    "a04_cnn": (naive_softmax("scores"), {"a04.softmax_cross_entropy", "a04.lenet_train_step"}),  # exp(scores)
    "a06_energy_models": (
        [("rbm.py", "torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))", "torch.log(1.0 + torch.exp(x))"),
         ("cf_rbm.py", "    x = x - x.amax(dim=2, keepdim=True)  # stabilise exp\n", ""),
         ("rbm.py", "    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))\n", f"    return {EXP_SIGMOID}\n")],
        {"a06.rbm_free_energy", "a06.cf_p_v_given_h", "a06.cf_predict", "a06.rbm_p_h_given_v",
         "a06.rbm_p_v_given_h", "a06.cf_p_h_given_v"}),
    "a09_recurrent": (
        [("rnn.py", "    shifted = scores - scores.amax(dim=1, keepdim=True)  # stabilise exp\n"
                    "    log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)  # (K, C)\n",
          "    log_probs = scores - torch.log(torch.exp(scores).sum(dim=1, keepdim=True))  # (K, C)\n")],
        {"a09.many_to_one_loss", "a09.many_to_many_loss", "a09.tree_node_loss"}),
}


@pytest.mark.parametrize("aid", sorted(NAIVE))
def test_naive_exp_and_log_lose_points_at_the_large_case_only(aid, solutions, tmp_path):
    edits, costly = NAIVE[aid]
    result = grade_folder(seeded_bugs(solutions(aid), tmp_path, edits), sandboxed=False)
    assert lost_tasks(result) == costly
    for task in result.assignments[0].tasks:
        for check in task.checks:
            if not check.passed:
                assert (check.suite, check.case) == ("public", LARGE_CASE), (task.id, check.name, check.message)
    # The reference passes the large case of both suites (in process: the same cases, comparisons and scores).
    reference = grade(solutions(aid), COURSE, [aid], suite="all", runner=InProcessRunner())
    assert lost_tasks(reference) == set()
    assert reference.assignments[0].score == reference.assignments[0].max_score
