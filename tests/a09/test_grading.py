"""Grading a09 end to end: the issue's seeded bugs (and a few more) each lose their task and only its callers."""
from __future__ import annotations

import pytest

from grader.tasks.suites import load
from tests.helpers import grade_named_bugs

AID = "a09_recurrent"
SUITE = load(AID)

LSTM = {"a09.lstm_step_forward", "a09.lstm_step_backward", "a09.lstm_forward", "a09.lstm_backward"}
RNN_BACKWARD = {"a09.rnn_step_backward", "a09.rnn_backward", "a09.rnn_backward_truncated"}

# Each bug: (file, old, new, the tasks it must cost, the first of them, a word of that task's diagnosis).
# Bugs graded together cost disjoint sets of tasks, so each set is attributed to its bug.
BUGS = {
    "LSTM gate order swapped (f, i, g, o)": (
        "lstm.py", "    ai, af, ag, ao = a.chunk(4, dim=1)", "    af, ai, ag, ao = a.chunk(4, dim=1)",
        LSTM, "a09.lstm_step_forward", "h_next:"),
    "W_hh^T instead of W_hh in BPTT": (
        "rnn.py", "    dh_prev = da @ w_hh  #", "    dh_prev = da @ w_hh.T  #",
        RNN_BACKWARD, "a09.rnn_step_backward", "dh_prev:"),
    "a tree's children swapped": (
        "tree.py", "torch.cat([nodes[children[ks, 0]], nodes[children[ks, 1]]], dim=1)",
        "torch.cat([nodes[children[ks, 1]], nodes[children[ks, 0]]], dim=1)",
        {"a09.tree_forward", "a09.tree_backward"}, "a09.tree_forward", "nodes:"),
    "many-to-many mask ignored": (
        "rnn.py", "        weight = weight * mask.reshape(-1).to(h.dtype)\n", "        weight = weight\n",
        {"a09.many_to_many_loss"}, "a09.many_to_many_loss", "loss:"),
    "GRU interpolation the other way round": (
        "gru.py", "    h_next = (1.0 - z) * n + z * h_prev  # (N, H)",
        "    h_next = z * n + (1.0 - z) * h_prev  # (N, H)",
        {"a09.gru_step_forward"}, "a09.gru_step_forward", "h_next:"),  # the backward's cache holds z and n, still right
    "torch's cross_entropy for the node loss (banned)": (
        "tree.py", "    dnodes = dscores @ w  # (L+M, D)\n",
        "    loss = torch.nn.functional.cross_entropy(nodes @ w.T + b, labels)\n    dnodes = dscores @ w  # (L+M, D)\n",
        {"a09.tree_node_loss"}, "a09.tree_node_loss", "banned operation torch.nn.functional.cross_entropy"),
    "the missing dc_next term": (
        "lstm.py", "    dc = dc_next + dh_next * o * (1.0 - tanh_c * tanh_c)",
        "    dc = dh_next * o * (1.0 - tanh_c * tanh_c)",
        {"a09.lstm_step_backward", "a09.lstm_backward"}, "a09.lstm_step_backward", "dc_prev:"),
    "truncated BPTT cuts one step late": (
        "rnn.py", "        if t % window == 0 and t > 0:", "        if (t - 1) % window == 0 and t > 1:",
        {"a09.rnn_backward_truncated"}, "a09.rnn_backward_truncated", "dh0:"),
    "GRU b_hh gradient without the reset gate": (
        "gru.py", "    db_ih, db_hh = dax.sum(dim=0), dah.sum(dim=0)",
        "    db_ih, db_hh = dax.sum(dim=0), dax.sum(dim=0)",
        {"a09.gru_step_backward"}, "a09.gru_step_backward", "db_hh:"),
    "many-to-one averaged over time too": (
        "rnn.py", "last.new_full((n,), 1.0 / n)", "last.new_full((n,), 1.0 / (n * h.shape[0]))",
        {"a09.many_to_one_loss"}, "a09.many_to_one_loss", "loss:"),
    "backprop through structure updates dnodes in place": (
        "tree.py", "    grad = dnodes.clone()  #", "    grad = dnodes  #",
        {"a09.tree_backward"}, "a09.tree_backward", "inputs_unchanged"),
}
GROUPS = [
    ("LSTM gate order swapped (f, i, g, o)", "W_hh^T instead of W_hh in BPTT", "a tree's children swapped",
     "many-to-many mask ignored", "GRU interpolation the other way round",
     "torch's cross_entropy for the node loss (banned)"),
    ("the missing dc_next term", "GRU b_hh gradient without the reset gate", "many-to-one averaged over time too",
     "backprop through structure updates dnodes in place", "truncated BPTT cuts one step late"),
]


def test_groups_cover_every_bug_with_disjoint_losses():
    assert sorted(b for g in GROUPS for b in g) == sorted(BUGS)
    for group in GROUPS:
        sets = [BUGS[b][3] for b in group]
        assert sum(len(s) for s in sets) == len(set().union(*sets)), group


def test_every_bug_costs_its_task_and_only_tasks_that_declare_they_call_it():
    callers = {t.id: {o.id for o in SUITE.tasks.values() if t.id in o.calls} for t in SUITE.tasks.values()}
    for bug, (*_, lost, first, _) in BUGS.items():
        assert first in lost and lost <= {first} | callers[first], bug


@pytest.mark.parametrize("group", GROUPS, ids=[f"group {i}" for i in range(len(GROUPS))])
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    grade_named_bugs(solutions(AID), tmp_path, BUGS, group)
