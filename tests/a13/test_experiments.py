"""a13 experiments: the karate club's size and clubs, the invariants on its A_hat, and a GCN that learns
the clubs from two labels (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a13_graphs import experiments


def test_karate_club_graph_and_invariants():
    adj, y, edges = experiments.karate_club()
    assert adj.shape == (34, 34) and len(edges) == 78 and torch.equal(adj, adj.T)
    assert int(y.sum()) == 17 and y[0] == 0 and y[33] == 1
    a_hat = experiments.normalized_adjacency(adj)
    rows = experiments.invariants(a_hat, torch.Generator().manual_seed(1))
    assert len(rows) == 4 and all(r["ok"] for r in rows), rows


def test_one_seed_of_the_two_label_gcn_classifies_the_club():
    rows, fit = experiments.karate(seeds=1)
    accuracy = rows[2]["ours"]
    assert accuracy >= 0.9 and rows[2]["ok"], rows
    assert fit["losses"][-1] < 0.1 * fit["losses"][0]  # gradient descent on the reference's own backward converges


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plot(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {"quantity", "published", "ours", "ok"} == set(rows[0])
    assert (tmp_path / "a13_karate.png").stat().st_size > 10_000
