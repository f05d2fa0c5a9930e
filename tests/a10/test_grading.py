"""Grading a10 end to end: seeded bugs (a missing 1/sqrt(d_k), a softmax over the wrong axis, an inverted
mask, heads split in the wrong order, a banned torch attention, ...) each lose their task and only the
tasks that call it."""
from __future__ import annotations

import pytest
import torch

from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_named_bugs

AID = "a10_attention"
SUITE = load(AID)


def ids(*names: str) -> set[str]:
    return {f"a10.{n}" for n in names}


SDPA_MHA = ids("scaled_dot_attention_forward", "scaled_dot_attention_backward", "multi_head_attention_forward",
               "multi_head_attention_backward")
MHA = ids("multi_head_attention_forward", "multi_head_attention_backward")
MASKED = ids(*(f"{name}_{kind}" for kind in ("forward", "backward") for name in (
    "masked_softmax", "additive_attention", "luong_global", "luong_local", "scaled_dot_attention",
    "multi_head_attention", "attention_pooling", "hierarchical_attention", "multidim_attention",
    "structured_attention", "memory_network")))

# Each bug: (file, old, new, the tasks it must cost, the first of them, a word of that task's diagnosis).
BUGS = {
    "missing 1/sqrt(d_k)": (
        "self_attention.py", "    scale = 1.0 / math.sqrt(q.shape[-1])\n", "    scale = 1.0\n",
        SDPA_MHA, "a10.scaled_dot_attention_forward", "out:"),
    "attention over attention: column softmax over the wrong axis": (
        "combinations.py", "masked_softmax_forward(m, dim=1)", "masked_softmax_forward(m, dim=2)",
        ids("attention_over_attention_forward", "attention_over_attention_backward"),
        "a10.attention_over_attention_forward", "s:"),
    "heads split in the wrong order": (
        "self_attention.py", "    q = (xq @ Wq).reshape(n, tq, heads, dk).transpose(1, 2)",
        "    q = (xq @ Wq).reshape(n, heads, tq, dk)", MHA, "a10.multi_head_attention_forward", "out:"),
    "softmax mask inverted": (
        "softmax.py", "x.masked_fill(~mask, ", "x.masked_fill(mask, ", MASKED, "a10.masked_softmax_forward", "p:"),
    "additive backward drops the scores' path to h": (
        "additive.py", "    dh = dh + dpre @ U.T  # (N, T, Dh): through the scores\n", "",
        ids("additive_attention_backward"), "a10.additive_attention_backward", "dh:"),
    "local-p: no gradient through the Gaussian": (
        "luong.py", "    dp = (da * align * gauss * dist).sum(dim=1) / (sigma * sigma)", "    dp = 0 * sig",
        ids("luong_local_backward"), "a10.luong_local_backward", "dvp:"),
    "REINFORCE without the baseline": (
        "show_attend_tell.py", "    advantage = reward - baseline  # (N,)", "    advantage = reward  # (N,)",
        ids("reinforce_step"), "a10.reinforce_step", "de:"),
    "doubly stochastic penalty summed over the locations": (
        "show_attend_tell.py", "    gap = 1 - alphas.sum(dim=1)  # (N, L)", "    gap = 1 - alphas.sum(dim=2)  # (N, L)",
        ids("doubly_stochastic_penalty"), "a10.doubly_stochastic_penalty", ""),
    "structured penalty's gradient halved": (
        "multidim.py", "    dA = 4 * coef * gap @ A", "    dA = 2 * coef * gap @ A",
        ids("structured_penalty"), "a10.structured_penalty", "dA:"),
    "memory hops forget the query": (
        "memory.py", "        u = u + o  # (N, d)", "        u = o  # (N, d)",
        ids("memory_network_forward", "memory_network_backward"), "a10.memory_network_forward", "u:"),
    "sentence attention reuses the word parameters": (
        "combinations.py", "attention_pooling_forward(sent.reshape(n, s, d), Ws, bs, us)",
        "attention_pooling_forward(sent.reshape(n, s, d), Ww, bw, uw)",
        ids("hierarchical_attention_forward", "hierarchical_attention_backward"),
        "a10.hierarchical_attention_forward", ""),
    "multi-step backward drops the residual": (
        "combinations.py", "        dh = dh + ddq @ Wd.T", "        dh = ddq @ Wd.T",
        ids("multistep_attention_backward"), "a10.multistep_attention_backward", "dh:"),
    "torch's scaled_dot_product_attention (banned)": (
        "self_attention.py", "    out = alpha @ v  # (..., Tq, dv)",
        "    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)",
        SDPA_MHA, "a10.scaled_dot_attention_forward",
        "banned operation torch.nn.functional.scaled_dot_product_attention"),
    "torch.softmax in the masked softmax (banned in that task only)": (
        "softmax.py", "    p = ex / ex.sum(dim=dim, keepdim=True)", "    p = torch.softmax(x, dim=dim)",
        ids("masked_softmax_forward"), "a10.masked_softmax_forward", "banned operation torch.softmax"),
}
# Every group costs one grading; the bugs that reach multi-head attention need a group each.
GROUPS = [
    ("missing 1/sqrt(d_k)", "attention over attention: column softmax over the wrong axis",
     "additive backward drops the scores' path to h", "REINFORCE without the baseline",
     "structured penalty's gradient halved", "doubly stochastic penalty summed over the locations",
     "memory hops forget the query", "local-p: no gradient through the Gaussian",
     "sentence attention reuses the word parameters", "multi-step backward drops the residual",
     "torch.softmax in the masked softmax (banned in that task only)"),
    ("heads split in the wrong order",),
    ("softmax mask inverted",),
    ("torch's scaled_dot_product_attention (banned)",),
]


def test_groups_cover_every_bug_with_disjoint_losses():
    assert sorted(b for g in GROUPS for b in g) == sorted(BUGS)
    for group in GROUPS:
        sets = [BUGS[b][3] for b in group]
        assert sum(len(s) for s in sets) == len(set().union(*sets)), group


@pytest.mark.parametrize("group", GROUPS, ids=[" + ".join(g) for g in GROUPS])
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    grade_named_bugs(solutions(AID), tmp_path, BUGS, group, crash_ok=True)


def cases(task: str):
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            yield case, SUITE.tasks[task].inputs(case_generator(cfg.seed, task, case), case)


def test_inputs_avoid_degenerate_cases():
    """Masks keep a position in every row; hard attention's noise is clear of the steps of the cumulative
    probabilities; d_k > 1; the local window leaves positions out and no position sits on its edge."""
    for task, axis in (("a10.additive_attention_forward", -1), ("a10.multi_head_attention_forward", -1),
                       ("a10.scaled_dot_attention_forward", -1), ("a10.memory_network_forward", -1),
                       ("a10.hierarchical_attention_forward", -1), ("a10.multidim_attention_forward", -1)):
        masks = [kw["mask"] for _, kw in cases(task) if kw["mask"] is not None]
        assert all(m.any(dim=axis).all() for m in masks), task
        assert sum(not m.all() for m in masks) >= 3, task  # most masks leave positions out
    for case, kw in cases("a10.masked_softmax_forward"):
        if kw["mask"] is not None:
            assert kw["mask"].any(dim=kw["dim"]).all(), case
    for case, kw in cases("a10.hard_attention_sample"):
        cdf = kw["alpha"].cumsum(1)
        assert float((cdf - kw["noise"][:, None]).abs().min()) > 1e-6, case  # far beyond rounding
    for case, kw in cases("a10.multi_head_attention_forward"):
        assert kw["xq"].shape[2] // kw["heads"] >= 2
    for case, kw in cases("a10.luong_local_forward"):
        p = kw["hs"].shape[1] * torch.sigmoid(torch.tanh(kw["ht"] @ kw["Wp"]) @ kw["vp"])
        dist = (torch.arange(kw["hs"].shape[1], dtype=torch.float64)[None] - p[:, None]).abs()
        assert float((dist - kw["window"]).abs().min()) > 1e-4, case
        assert (dist > kw["window"]).any(), case
