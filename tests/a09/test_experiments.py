"""a09 experiments at small sizes: the vanishing-gradient bound, the forget gate's surviving gradient, the copy
task's data, a short LSTM and tree training run (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a09_recurrent import experiments


def test_tanh_gradient_stays_under_its_bound_and_the_forget_gate_keeps_it():
    curves = experiments.gradient_survival(steps=20, hidden=4)
    assert all(len(c) == 20 for c in curves.values())
    assert bool((curves["rnn"] <= curves["bound"] * (1 + 1e-12)).all())
    assert float(curves["rnn"][-1]) < 1e-4 < 0.1 < float(curves["lstm 5"][-1])
    assert float(curves["lstm 0"][-1]) < float(curves["lstm 5"][-1]) * 1e-3
    rows = experiments.gradient_rows(curves)
    assert [r["ok"] for r in rows[:3]] == [True, True, True]


def test_copy_task_data_and_a_short_lstm_run():
    x, y = experiments.recall_batch(5, 7, 3, torch.Generator().manual_seed(0))
    assert x.shape == (7, 5, 3) and y.shape == (5,)
    assert torch.equal(x[0].argmax(1), y) and x[1:].abs().sum() == 0 and bool((x[0].sum(1) == 1).all())
    result = experiments.train_recall("lstm", steps=6, iters=40, hidden=8)
    assert len(result["loss"]) == 40 and result["loss"][-1] < result["loss"][0]
    assert result["accuracy"] >= 0.95


def test_parity_trees_are_labelled_by_their_leaves_and_a_short_run_learns_them():
    bits, children, labels, roots = experiments.random_trees(6, 2, 5, torch.Generator().manual_seed(1))
    n_leaves = len(bits)
    assert children.shape == (n_leaves - 6, 2) and len(labels) == n_leaves + len(children) and len(roots) == 6
    for k, (left, right) in enumerate(children.tolist()):
        assert max(left, right) < n_leaves + k and labels[n_leaves + k] == labels[left] ^ labels[right]
    rows = children.tolist()

    def under(j: int) -> list[int]:
        return [j] if j < n_leaves else under(rows[j - n_leaves][0]) + under(rows[j - n_leaves][1])
    spans = [under(root) for root in roots.tolist()]
    assert sorted(sum(spans, [])) == list(range(n_leaves))  # every leaf in exactly one tree
    for root, span in zip(roots.tolist(), spans):
        assert span == sorted(span) and int(labels[root]) == int(bits[span].sum()) % 2
    result = experiments.train_tree_parity(dim=8, iters=60, leaves=(2, 4))
    assert result["accuracy"] >= 0.95


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plots(tmp_path):
    rows = experiments.run(tmp_path)
    assert len(rows) == 7 and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    for name in ("a09_gradient_vs_distance.png", "a09_training.png"):
        assert (tmp_path / name).stat().st_size > 10_000
