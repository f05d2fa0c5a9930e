"""Grading a05 end to end: full marks for the solutions, zero for the skeleton, seeded bugs losing only their tasks."""
from __future__ import annotations

import pytest

from grader import paths
from grader.tasks import suites
from tests.helpers import COURSE, grade_named_bugs

AID = "a05_batchnorm_alexnet"
MAX_SCORE = 42



def test_solutions_score_full_marks(graded_solutions):
    result = graded_solutions(AID)
    assert result.max_score == COURSE.assignment(AID).max_score == MAX_SCORE
    assert result.score == MAX_SCORE
    tasks = result.assignments[0].tasks
    assert [t.id for t in tasks] == [t.id for t in COURSE.assignment(AID).tasks]
    assert {t.status for t in tasks} == {"passed"}
    for task in tasks:
        assert task.checks and all(c.passed for c in task.checks)
    checks = {t.id: {c.name for c in t.checks} for t in tasks}
    assert checks["a05.batchnorm_backward"] == {"dx", "dgamma", "dbeta", "inputs_unchanged"}
    assert checks["a05.batchnorm_running_stats"] == {"running_mean", "running_var", "inputs_unchanged"}
    assert checks["a05.alexnet_backward"] == {f"d{p}{i}" for i in range(1, 9) for p in ("W", "b")} | {"inputs_unchanged"}


def test_untouched_skeleton_scores_zero_with_every_task_not_implemented(graded_skeletons):
    result = graded_skeletons(AID)
    assert result.score == 0 and result.max_score == MAX_SCORE
    tasks = {t.id: t for t in result.assignments[0].tasks}
    assert {t.status for t in tasks.values()} == {"not_implemented"}
    assert tasks["a05.conv_forward"].checks[0].message == "not implemented yet"
    assert "waits for a05.conv_forward" in tasks["a05.conv_backward"].checks[0].message


def test_committed_skeleton_is_the_generated_one(tmp_path):
    from grader.authoring.release import out_of_sync
    problems = out_of_sync(paths.REFERENCE, paths.ASSIGNMENTS, [AID], tmp_path)
    assert [p for p in problems if AID in p] == []  # other assignments' folders are their own tests' concern


def test_alexnet_cases_bring_no_positive_ties_to_max_pooling():
    """torch and the reference send a tie's gradient to the first maximum only; a submission may pick
    another. Ties at 0 (after a ReLU) are harmless, the ReLU drops their gradient; others must not occur."""
    import torch.nn.functional as F

    from grader.judge.cases import make_cases
    from reference.a05_batchnorm_alexnet import layers

    task = suites.load(AID).tasks["a05.alexnet_backward"]
    for case in make_cases(COURSE, task, "all"):
        h, params = case.inputs["x"], [tuple(p) for p in case.inputs["params"]]
        for spec in case.inputs["arch"]:
            kind = spec["type"]
            if kind == "pool":
                cols = F.unfold(h.reshape(-1, 1, *h.shape[2:]), spec["kernel"], stride=spec["stride"])
                top = cols.amax(dim=1, keepdim=True)
                assert (((cols == top).sum(1) == 1) | (top[:, 0] == 0)).all(), (case.label, spec["name"])
                h, _ = layers.max_pool_forward(h, spec["kernel"], spec["stride"])
            elif kind == "conv":
                w, b = params.pop(0)
                h, _ = layers.conv_forward(h, w, b, spec["stride"], spec["pad"], spec["groups"])
            elif kind == "relu":
                h, _ = layers.relu_forward(h)
            elif kind == "lrn":
                h, _ = layers.lrn_forward(h, spec["k"], spec["n"], spec["alpha"], spec["beta"])
            elif kind == "flatten":
                break


BN = ("a05.batchnorm_forward", "a05.batchnorm_backward", "a05.batchnorm_backward_alt")
SPATIAL = ("a05.spatial_batchnorm_forward", "a05.spatial_batchnorm_backward")
STATS = ("a05.batchnorm_running_stats", "a05.spatial_batchnorm_running_stats")

# Each bug: (file, old, new, the tasks it must cost, the first of them, a word of that task's diagnosis).
# Bugs graded together cost disjoint sets of tasks, so each set is attributed to its bug.
BUGS = {
    "BN variance over the wrong axis": (
        "batchnorm.py", "    var = sq.sum(dim=0) / n  # (D,) biased\n",
        "    var = sq.sum(dim=1, keepdim=True) / sq.shape[1]  # (D,) biased\n",
        set(BN + SPATIAL), "a05.batchnorm_forward", "out:"),
    "running_var biased": (
        "batchnorm.py", "    var = ((x - mean) ** 2).sum(dim=0) / (n - 1)  # (D,) unbiased\n",
        "    var = ((x - mean) ** 2).sum(dim=0) / n  # (D,) unbiased\n",
        set(STATS), "a05.batchnorm_running_stats", "running_var:"),
    "pooling gradient sent to every element": (
        "layers.py", "    dcols.scatter_(1, argmax.unsqueeze(1), dout.reshape(n * c, 1, -1))\n",
        "    dcols += dout.reshape(n * c, 1, -1)\n",
        {"a05.max_pool_backward", "a05.alexnet_backward"}, "a05.max_pool_backward", "dx:"),
    "flipped kernel (true convolution)": (
        "layers.py", "    wg = w.reshape(groups, f // groups, cg * kh * kw)  # (G, Fg, Cg*KH*KW)\n",
        "    wg = w.flip(-2, -1).reshape(groups, f // groups, cg * kh * kw)  # (G, Fg, Cg*KH*KW)\n",
        {"a05.conv_forward", "a05.alexnet_forward", "a05.alexnet_backward"}, "a05.conv_forward", "out:"),
    "graph backward drops the branch through the variance": (
        "batchnorm.py", "    dx1 = dxmu1 + dxmu2  # (N, D)\n", "    dx1 = dxmu1  # (N, D)\n",
        {"a05.batchnorm_backward"}, "a05.batchnorm_backward", "dx:"),
    "inference forgets eps": (
        "batchnorm.py", "torch.sqrt(running_var + eps) + beta", "torch.sqrt(running_var) + beta",
        {"a05.batchnorm_inference", "a05.spatial_batchnorm_inference"}, "a05.batchnorm_inference", "out:"),
    "wrong padding offset in col2im": (
        "layers.py",
        "    dx = F.fold(dcols.reshape(n, c * kh * kw, -1), (h, wd), (kh, kw), padding=pad, stride=stride)",
        "    dx = F.fold(dcols.reshape(n, c * kh * kw, -1), (h + 2 * pad, wd + 2 * pad), (kh, kw), stride=stride)"
        "[:, :, :h, :wd]",
        {"a05.conv_backward", "a05.alexnet_backward"}, "a05.conv_backward", "dx:"),
    "spatial BN without moving channels last": (
        "batchnorm.py", "batchnorm_forward(_channels_last(x), gamma, beta, eps)",
        "batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, eps)",
        set(SPATIAL), "a05.spatial_batchnorm_forward", "out:"),
    "LRN with torch's alpha (divided by n)": (
        "layers.py", "    scale = k + alpha * _window_sum(x * x, n)", "    scale = k + alpha / n * _window_sum(x * x, n)",
        {"a05.lrn_forward", "a05.lrn_backward", "a05.alexnet_forward", "a05.alexnet_backward"}, "a05.lrn_forward",
        "out:"),
    "closed-form BN backward without the mean term": (
        "batchnorm.py", "(n * dxhat - dxhat.sum(dim=0) - xhat", "(n * dxhat - xhat",
        {"a05.batchnorm_backward_alt", "a05.spatial_batchnorm_backward"}, "a05.batchnorm_backward_alt", "dx:"),
    "running statistics updated in place": (
        "batchnorm.py", "    running_mean = (1.0 - momentum) * running_mean + momentum * mean\n",
        "    running_mean = running_mean.mul_(1.0 - momentum).add_(momentum * mean)\n",
        set(STATS), "a05.batchnorm_running_stats", "inputs_unchanged"),
    "dropout backward not rescaled": (
        "layers.py", "    dx = dout if mask is None else dout * mask\n",
        "    dx = dout if mask is None else dout * (mask > 0)\n",
        {"a05.dropout_backward", "a05.alexnet_backward"}, "a05.dropout_backward", "dx:"),
    "torch's conv2d in the forward (banned)": (
        "layers.py", "    cols = F.unfold(x, (kh, kw), padding=pad, stride=stride)  # (N, C*KH*KW, L)\n",
        "    return F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups), (x, w, b, stride, pad, groups)\n",
        {"a05.conv_forward", "a05.conv_backward", "a05.alexnet_forward", "a05.alexnet_backward"}, "a05.conv_forward",
        "banned operation torch.nn.functional.conv2d"),
    "torch's batch_norm for inference (banned)": (
        "batchnorm.py", "    out = gamma * (x - running_mean) / torch.sqrt(running_var + eps) + beta  # (N, D)\n",
        "    out = torch.nn.functional.batch_norm(x, running_mean, running_var, gamma, beta, False, 0.0, eps)\n",
        {"a05.batchnorm_inference", "a05.spatial_batchnorm_inference"}, "a05.batchnorm_inference",
        "banned operation torch.nn.functional.batch_norm"),
}
GROUPS = [
    ("BN variance over the wrong axis", "running_var biased", "pooling gradient sent to every element"),
    ("flipped kernel (true convolution)", "graph backward drops the branch through the variance",
     "inference forgets eps"),
    ("wrong padding offset in col2im", "spatial BN without moving channels last"),
    ("LRN with torch's alpha (divided by n)", "closed-form BN backward without the mean term"),
    ("running statistics updated in place", "dropout backward not rescaled"),
    ("torch's conv2d in the forward (banned)", "torch's batch_norm for inference (banned)"),
]


def test_groups_cover_every_bug_with_disjoint_losses():
    assert sorted(b for g in GROUPS for b in g) == sorted(BUGS)
    for group in GROUPS:
        sets = [BUGS[b][3] for b in group]
        assert sum(len(s) for s in sets) == len(set().union(*sets)), group


@pytest.mark.parametrize("group", GROUPS, ids=[" + ".join(g) for g in GROUPS])
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    grade_named_bugs(solutions(AID), tmp_path, BUGS, group)
