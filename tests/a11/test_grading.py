"""Grading a11 end to end: seeded bugs lose their tasks (and only the tasks that call them), diagnoses name them,
and the suite's inputs keep every optimal matching unique."""
from __future__ import annotations

import itertools

import pytest
import torch

from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, callers, lost_tasks, seeded_bugs

AID = "a11_transformer"
SUITE = load(AID)
CALLERS = callers(AID)

SCALE = "    scale = 1.0 / math.sqrt(q.shape[-1])\n"
SOFTMAX = "    attn = softmax(scores, dim=-1)  # (..., Tq, Tk) each row sums to 1 over the keys\n"
MASK = 'scores.masked_fill(~mask, float("-inf"))'
HEADS = "    q = (query @ w_q.T + b_q).reshape(n, tq, num_heads, d).transpose(1, 2)  # (N, h, Tq, d)\n"

# Seeded bugs: (file, old, new, task). The five: a missing 1/sqrt(d_k), softmax over the wrong axis,
# a mask inverted (the three in attention_forward, each graded on its own), heads split in the wrong order,
# LayerNorm over the wrong axis. Within a group no bugged task calls another bugged one, so each bug must
# cost its own task; the full groups are graded on every task, to show that only callers lose points too.
ATTENTION_BUGS = {
    "missing 1/sqrt(d_k)": ("attention.py", SCALE, "    scale = 1.0\n"),
    "softmax over the wrong axis": ("attention.py", SOFTMAX, SOFTMAX.replace("dim=-1", "dim=-2")),
    "a mask inverted": ("attention.py", MASK, 'scores.masked_fill(mask, float("-inf"))'),
}
FULL_GROUPS = {
    "heads split in the wrong order, LayerNorm over the wrong axis, primitives": [
        ("attention.py", HEADS, HEADS.replace("reshape(n, tq, num_heads, d).transpose(1, 2)", "reshape(n, num_heads, tq, d)"),
         "a11.multi_head_attention_forward"),
        ("layers.py", "    mu = x.mean(dim=-1, keepdim=True)  # (..., 1)\n    xmu = x - mu  # (..., D)\n"
         "    var = (xmu * xmu).mean(dim=-1, keepdim=True)",
         "    mu = x.mean(dim=0, keepdim=True)  # (..., 1)\n    xmu = x - mu  # (..., D)\n"
         "    var = (xmu * xmu).mean(dim=0, keepdim=True)", "a11.layer_norm_forward"),
        ("attention.py", "dscores = attn * (dattn - (dattn * attn).sum(dim=-1, keepdim=True))",
         "dscores = attn * dattn", "a11.attention_backward"),
        ("layers.py", "    pe[:, 0::2] = torch.sin(angle)\n", "    pe[:, 0::2] = torch.cos(angle)\n",
         "a11.positional_encoding"),
        ("layers.py", "    dpre = (dout @ w2) * (pre > 0)", "    dpre = (dout @ w2)", "a11.feed_forward_backward"),
        ("vision.py", "    alpha = _softmax(a @ w_i, dim=1)  # (N, HW)", "    alpha = _softmax(a @ w_i, dim=0)  # (N, HW)",
         "a11.spatial_attention_forward"),
        ("vision.py", "du[:, :, None, None] / (hh * ww)", "du[:, :, None, None]", "a11.channel_attention_backward"),
        ("vision.py", "        a = _softmax(logits, dim=1)  # (N, R, C) across the splits",
         "        a = _softmax(logits, dim=2)  # (N, R, C) across the splits", "a11.split_attention_forward"),
        ("detr.py", "    giou = inter / union - (area_c - union) / area_c", "    giou = inter / union",
         "a11.generalized_box_iou"),
        ("detr.py", "    c = (cost.T if transposed else cost).tolist()", "    c = (-cost.T if transposed else -cost).tolist()",
         "a11.hungarian_match"),  # the most expensive assignment
    ],
    "backwards": [
        ("attention.py", "    din_proj_weight = torch.cat([dw_q, dw_k, dw_v], dim=0)",
         "    din_proj_weight = torch.cat([dw_k, dw_q, dw_v], dim=0)", "a11.multi_head_attention_backward"),
        ("layers.py", "    dx = ivar * (dxhat - dxhat.mean(dim=-1, keepdim=True)\n", "    dx = ivar * (dxhat\n",
         "a11.layer_norm_backward"),
        ("layers.py", "    hidden = torch.where(pre > 0, pre, torch.zeros_like(pre))", "    hidden = pre",
         "a11.feed_forward_forward"),
        ("vision.py", "    dv = dout * alpha.reshape(n, 1, hh, ww) + dfeats", "    dv = dfeats",
         "a11.spatial_attention_backward"),
        ("vision.py", "    u = v.mean(dim=(2, 3))  # (N, C)", "    u = v.sum(dim=(2, 3))  # (N, C)",
         "a11.channel_attention_forward"),
        ("vision.py", "    dsplits = a[:, :, :, None, None] * dout[:, None] + (ds / (hh * ww))[:, None, :, None, None]",
         "    dsplits = a[:, :, :, None, None] * dout[:, None]", "a11.split_attention_backward"),
        ("detr.py", "    c_class = -prob[:, tgt_labels]", "    c_class = prob[:, tgt_labels]", "a11.matching_cost"),
    ],
}
# Graded on their own tasks only (every task they could touch is a caller of a bug above).
OWN_GROUPS = {
    "layer forwards": [
        ("transformer.py", "        y, ln1 = _norm(x + sa, p, 1, eps)  # (N, T, E)\n",
         "        y, ln1 = _norm(sa, p, 1, eps)  # (N, T, E)\n", "a11.encoder_layer_forward"),  # no residual
        ("transformer.py", "        ca, ca_cache = _attention(h2, memory, p, \"multihead_attn\", num_heads, memory_mask)",
         "        ca, ca_cache = _attention(y1, memory, p, \"multihead_attn\", num_heads, memory_mask)",
         "a11.decoder_layer_forward"),  # pre-LN's cross-attention fed the un-normed stream
        ("layers.py", "    dxhat = dout * gamma  # (..., D)\n", "    dxhat = dout.mul_(gamma)  # (..., D)\n",
         "a11.layer_norm_backward"),  # in place: the caller's dout changes
        ("detr.py", "    pred_idx, tgt_idx = hungarian_match(cost)\n", "    tgt_idx, pred_idx = hungarian_match(cost.T)\n",
         "a11.bipartite_match"),  # targets in order, predictions not
    ],
    "layer backwards": [
        ("transformer.py", "        dx = dz1 + dq + dk + dv\n    return dx, grads\n",
         "        dx = dz1 + dq\n    return dx, grads\n", "a11.encoder_layer_backward"),
        ("transformer.py", "        dmemory = dk + dv\n        dy1 = dz2 + dq", "        dmemory = dk\n        dy1 = dz2 + dq",
         "a11.decoder_layer_backward"),
    ],
}


def grade_in_process(folder, tasks=None):
    """The grader's own cases, comparisons and scores on the public suite, the code run in this process."""
    return grade(folder, COURSE, [AID], runner=InProcessRunner(), tasks=tasks)


@pytest.mark.parametrize("bug", list(ATTENTION_BUGS))
def test_each_attention_bug_loses_attention_forward(bug, solutions, tmp_path):
    result = grade_in_process(seeded_bugs(solutions(AID), tmp_path, [ATTENTION_BUGS[bug]]), {"a11.attention_forward"})
    assert lost_tasks(result) == {"a11.attention_forward"}


@pytest.mark.parametrize("group", list(FULL_GROUPS) + list(OWN_GROUPS))
def test_seeded_bugs_lose_their_tasks_and_only_the_tasks_that_call_them(group, solutions, tmp_path):
    bugs = {**FULL_GROUPS, **OWN_GROUPS}[group]
    bugged = {task for *_, task in bugs}
    assert not any(CALLERS[t] & bugged for t in bugged), "a bugged task calls another: attribution would be lost"
    folder = seeded_bugs(solutions(AID), tmp_path, [b[:3] for b in bugs])
    lost = lost_tasks(grade_in_process(folder, None if group in FULL_GROUPS else bugged))
    assert bugged <= lost, bugged - lost
    allowed = bugged | {caller for task in bugged for caller in CALLERS[task]}
    assert lost <= allowed, lost - allowed


def test_diagnoses_name_the_tensor_and_banned_calls(solutions, tmp_path):
    """A wrong backward reads as a backward error naming its tensor; torch's own layer norm is refused by name."""
    edits = [("attention.py", "    dv = attn.transpose(-2, -1) @ dout  # (..., Tk, d_v)\n",
              "    dv = 2 * (attn.transpose(-2, -1) @ dout)  # (..., Tk, d_v)\n"),
             ("layers.py", "    out = gamma * xhat + beta  # (..., D)\n",
              "    out = torch.nn.functional.layer_norm(x, x.shape[-1:], gamma, beta, eps)\n"),
             ("vision.py", "    dw_c = (dpre * u[:, None, :]).sum(dim=(0, 2))  # (K,)\n",
              "    dw_c = (dpre * u[:, None, :]).sum(dim=(0, 2)) * 1.5  # (K,)\n")]
    own = {"a11.attention_backward", "a11.layer_norm_forward", "a11.channel_attention_backward"}
    result = grade_in_process(seeded_bugs(solutions(AID), tmp_path, edits), own)
    tasks = {t.id: t for t in result.assignments[0].tasks}
    assert lost_tasks(result) == own
    assert "banned operation torch.nn.functional.layer_norm" in " ".join(
        c.said for c in tasks["a11.layer_norm_forward"].checks)
    for task, tensor in (("a11.attention_backward", "dv"), ("a11.channel_attention_backward", "dw_c")):
        failed = [c for c in tasks[task].checks if not c.passed]
        assert [c.name for c in failed] == [tensor], (task, [(c.name, c.message) for c in failed])


def test_scipys_solver_in_the_matching_is_refused_by_name(solutions, tmp_path):
    """scipy's linear_sum_assignment is the ground truth, banned in the matching tasks: the scan finds it
    through its import alias."""
    folder = seeded_bugs(solutions(AID), tmp_path, [(
        "detr.py", "    transposed = cost.shape[0] > cost.shape[1]\n",
        "    from scipy.optimize import linear_sum_assignment as solve\n"
        "    rows, cols = solve(cost.numpy())\n"
        "    return torch.as_tensor(rows), torch.as_tensor(cols)\n"
        "    transposed = cost.shape[0] > cost.shape[1]\n")])
    result = grade_in_process(folder, {"a11.hungarian_match"})
    [task] = result.assignments[0].tasks
    assert task.score == 0 and task.status == "banned", task
    assert "banned operation scipy.optimize.linear_sum_assignment (detr.py line" in task.checks[0].message


def test_suite_matchings_are_unique_and_masks_keep_a_key():
    """Every matching case has a unique optimum (the second best costs more by a margin), and every
    boolean mask leaves each query at least one key (an all-masked row is NaN in torch)."""
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            kw = SUITE.tasks["a11.hungarian_match"].inputs(case_generator(cfg.seed, "a11.hungarian_match", case), case)
            cost = kw["cost"] if kw["cost"].shape[0] <= kw["cost"].shape[1] else kw["cost"].T
            (r, s), c = cost.shape, cost.tolist()
            totals = sorted(sum(c[i][p[i]] for i in range(r)) for p in itertools.permutations(range(s), r))
            assert len(totals) == 1 or totals[1] - totals[0] > 1e-6, (suite, case)
            for task in ("a11.attention_forward", "a11.multi_head_attention_forward", "a11.encoder_layer_forward"):
                kw = SUITE.tasks[task].inputs(case_generator(cfg.seed, task, case), case)
                mask = kw["mask"]
                if mask is not None:
                    keep = mask if mask.dtype == torch.bool else mask > float("-inf")
                    assert keep.any(-1).all(), (task, suite, case)



