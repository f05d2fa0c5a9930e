"""a06 experiments at small sizes: Hopfield recall and capacity, RBM features on digits, the CF-RBM (full run: -m slow)."""
from __future__ import annotations

import math

import pytest
import torch

from reference.a06_energy_models import experiments


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_recall_collapses_between_low_and_high_load():
    g = gen(0)
    assert experiments.recall_rate(100, 4, 0.1, 1, g) == 1.0  # load 0.04
    assert experiments.recall_rate(100, 30, 0.1, 1, g) < 0.2  # load 0.3, far past 0.138
    assert math.isclose(experiments.crossing([0.1, 0.2], [1.0, 0.0], 0.5), 0.15)
    assert math.isnan(experiments.crossing([0.1, 0.2], [1.0, 0.9], 0.5))


def test_a_noisy_glyph_is_recalled_unit_by_unit_with_falling_energy():
    steps = experiments.recall_steps(gen(1))
    assert steps["recalled"] and steps["monotone"]
    assert steps["states"].shape == (6, 16, 16) and len(steps["energy"]) == 257


def test_rbm_features_beat_chance_by_far_after_two_epochs():
    """The quick path: two epochs of CD-1 with 50 hidden units (the full run, 15 epochs with 100, is slow)."""
    x_tr, y_tr, x_te, y_te = experiments.digits()
    g = gen(2)
    w, a, b = experiments.train_rbm(x_tr, 50, 2, g, lr=0.1)
    h_tr, h_te = experiments.rbm_p_h_given_v(x_tr, w, b), experiments.rbm_p_h_given_v(x_te, w, b)
    assert experiments.logistic_accuracy(h_tr, y_tr, h_te, y_te) >= 0.85
    samples = experiments.gibbs_samples(w, a, b, x_te[:3], [0, 1, 5], g)
    assert samples.shape == (3, 3, 64) and torch.equal(samples[:, 0], x_te[:3])


def test_persistent_training_runs_its_own_chains():
    x_tr = experiments.digits()[0][:200]
    w, a, b = experiments.train_rbm(x_tr, 20, 1, gen(3), persistent=True)
    assert w.shape == (64, 20) and bool(torch.isfinite(w).all())


def test_cf_rbm_beats_the_item_mean_baseline_on_low_rank_ratings():
    g = gen(4)
    data = experiments.low_rank_ratings(g)
    _, curve = experiments.train_cf_rbm(data, g, epochs=4)  # the full run trains 15 epochs
    assert curve[-1] < experiments.item_mean_baseline(data) - 0.2


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plots(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    for name in ("a06_hopfield_capacity", "a06_hopfield_recall", "a06_rbm_digits", "a06_cf_rbm"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
