"""Grading a13 end to end: seeded bugs lose only their tasks, and the suite's inputs are what its docstring promises."""
from __future__ import annotations

import pytest
import torch

from grader.tasks.inputs import LARGE_CASE
from grader.tasks.model import case_generator
from grader.tasks.suites import load
from tests.helpers import COURSE, grade_named_bugs

AID = "a13_graphs"
SUITE = load(AID)


def cases(task: str):
    for suite in ("public", "hidden"):
        cfg = COURSE.suites[suite]
        for case in range(cfg.cases):
            yield case, SUITE.tasks[task].inputs(case_generator(cfg.seed, task, case), case)


def test_suite_graphs_are_neither_empty_nor_complete_and_max_readouts_have_no_ties():
    for case, kw in cases("a13.gat_forward"):
        n = kw["x"].shape[0]
        mask = (kw["adj"] != 0) | torch.eye(n, dtype=torch.bool)
        assert 0 < int(mask.sum()) - n and not mask.all(), case  # neighbourhoods differ from "all nodes"
        if case == LARGE_CASE:
            z = torch.einsum("nf,hfk->hnk", kw["x"], kw["w"])
            assert float((z * kw["a_src"][:, None]).sum(-1).abs().max()) > 200  # exp(score) overflows unshifted
    for case, kw in cases("a13.normalized_adjacency"):
        adj = kw["adj"]
        assert torch.equal(adj, adj.T) and (adj.diagonal() == 0).all() and 0 < int((adj > 0).sum()) < adj.numel() - len(adj)
        assert case < 2 or (adj.sum(1) == 0).any(), case  # an isolated node from case 2 on
    for case, kw in cases("a13.readout_forward"):
        assert set(kw["batch"].tolist()) == set(range(kw["num_graphs"]))  # no empty graph
        if kw["mode"] == "max":
            for k in range(kw["num_graphs"]):
                top = kw["x"][kw["batch"] == k].sort(0, descending=True).values
                assert len(top) == 1 or float((top[0] - top[1]).min()) > 0.01, case
    for case, kw in cases("a13.gcn_sparse_backward"):
        idx = kw["indices"]
        assert len(set(map(tuple, idx.T.tolist()))) == idx.shape[1]  # no pair twice
        assert case == 0 or not torch.equal(idx[0], idx[0].sort().values)  # not in coalesced order


# Each bug: (file, old, new, the tasks it must cost, the first of them, a word of that task's diagnosis).
# Bugs graded together cost disjoint sets of tasks, so each set is attributed to its bug.
BUGS = {
    "missing self-loop": (
        "gcn.py", "    a = adj + torch.eye(adj.shape[0], dtype=adj.dtype, device=adj.device)  # (N, N) self-loops\n",
        "    a = adj\n", {"a13.normalized_adjacency"}, "a13.normalized_adjacency", "a_hat:"),
    "D^-1 instead of D^-1/2": (
        "gcn.py", "    a_hat = d[:, None] * a * d[None, :]  # (N, N)\n", "    a_hat = d[:, None] ** 2 * a  # (N, N)\n",
        {"a13.normalized_adjacency"}, "a13.normalized_adjacency", "a_hat:"),
    "attention softmax over all nodes": (
        "gat.py", "    e = e.masked_fill(~mask, float(\"-inf\"))  # non-neighbours get no weight\n", "",
        {"a13.gat_forward", "a13.gat_backward"}, "a13.gat_forward", "out:"),
    "heads concatenated feature-major": (
        "gat.py", "h.permute(1, 0, 2).reshape(n, -1)", "h.permute(1, 2, 0).reshape(n, -1)",
        {"a13.gat_forward"}, "a13.gat_forward", "out:"),
    "LeakyReLU's backward as ReLU's": (
        "gat.py", "torch.where(pre > 0, de, slope * de)", "torch.where(pre > 0, de, 0.0 * de)",
        {"a13.gat_backward"}, "a13.gat_backward", "dx:"),
    "GCN backward without the transpose of A_hat": (
        "gcn.py", "    dxw = a_hat.T @ dout  # (N, F'): A_hat need not be symmetric\n", "    dxw = a_hat @ dout\n",
        {"a13.gcn_backward"}, "a13.gcn_backward", "dx:"),
    "edge gradients with row and column swapped": (
        "gcn.py", "dvalues = (dout[row] * (x @ w)[col])", "dvalues = (dout[col] * (x @ w)[row])",
        {"a13.gcn_sparse_backward"}, "a13.gcn_sparse_backward", "dvalues:"),
    "GraphSAGE sums instead of averaging": (
        "sage.py", "    mean = total / deg.clamp(min=1.0)[:, None]  # (N, F); an isolated node keeps zeros\n",
        "    mean = total\n", {"a13.sage_mean_forward", "a13.sage_mean_backward"}, "a13.sage_mean_forward", "out:"),
    "max readout's gradient to every node": (
        "readout.py", "        dx = dx * (x == out[batch])  # only the winner of each (graph, feature)\n", "        pass\n",
        {"a13.readout_backward"}, "a13.readout_backward", "dx:"),
    "mean readout over all nodes of the batch": (
        "readout.py", "            out = out / count[:, None]\n", "            out = out / x.shape[0]\n",
        {"a13.readout_forward"}, "a13.readout_forward", "out:"),
    "two-layer backward skips the ReLU": (
        "model.py", "    dpre = dhidden * (pre > 0)  # (N, H) through the ReLU\n", "    dpre = dhidden\n",
        {"a13.gcn2_loss"}, "a13.gcn2_loss", "dW1:"),
    "autograd in the GCN backward (banned)": (
        "gcn.py", "    dxw = a_hat.T @ dout  # (N, F'): A_hat need not be symmetric\n",
        "    dxw = torch.autograd.grad(a_hat @ dout, dout, dout, allow_unused=True)[0]\n",
        {"a13.gcn_backward", "a13.gcn2_loss"}, "a13.gcn_backward", "banned operation torch.autograd"),
}
GROUPS = [
    ("missing self-loop", "attention softmax over all nodes", "GraphSAGE sums instead of averaging",
     "max readout's gradient to every node", "edge gradients with row and column swapped",
     "autograd in the GCN backward (banned)"),
    ("D^-1 instead of D^-1/2", "heads concatenated feature-major", "LeakyReLU's backward as ReLU's",
     "GCN backward without the transpose of A_hat", "mean readout over all nodes of the batch",
     "two-layer backward skips the ReLU"),
]


def test_groups_cover_every_bug_with_disjoint_losses_within_declared_calls():
    assert sorted(b for g in GROUPS for b in g) == sorted(BUGS)
    for group in GROUPS:
        sets = [BUGS[b][3] for b in group]
        assert sum(len(s) for s in sets) == len(set().union(*sets)), group
    for bug, (*_, lost, first, _) in BUGS.items():  # a bug may cost its task and the tasks that call it, no more
        assert all(t == first or first in SUITE.tasks[t].calls for t in lost), bug


@pytest.mark.parametrize("group", GROUPS, ids=[f"group {i}" for i in range(len(GROUPS))])
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    grade_named_bugs(solutions(AID), tmp_path, BUGS, group)
