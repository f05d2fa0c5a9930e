"""a07 experiments at small sizes: linear AE vs PCA, sparse AE on patches, DBN pretraining (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a07_autoencoders_dbn import experiments

F64 = torch.float64


def test_linear_autoencoder_spans_the_pca_subspace():
    rows = experiments.linear_ae_vs_pca(h=2, steps=600)
    assert all(r["ok"] for r in rows), rows
    assert rows[0]["ours"] < 0.1


def test_patches_are_normalised_as_ufldl_and_edges_are_coherent():
    g = torch.Generator().manual_seed(0)
    x = experiments.sample_patches([torch.randn(30, 40, generator=g, dtype=F64)], 50, 8, g)
    assert x.shape == (50, 64) and 0.1 - 1e-12 <= float(x.min()) and float(x.max()) <= 0.9 + 1e-12
    edge = torch.zeros(1, 8, 8, dtype=F64)
    edge[0, :, 4:] = 1.0
    ramp = torch.linspace(-1, 1, 8, dtype=F64)
    grating = torch.sin(3 * (ramp[:, None] + ramp[None, :]))[None]
    assert float(experiments.coherence(edge)) > 0.99 and float(experiments.coherence(grating)) > 0.99


def test_a_short_sparse_autoencoder_run_moves_activations_towards_rho():
    rows, filters, activations = experiments.sparse_ae_patches(n=300, h=6, iters=30, rho=0.05)
    assert filters.shape == (6, 8, 8) and activations.shape == (6,)
    assert abs(float(activations.mean()) - 0.05) < 0.05
    assert len(rows) == 3


def test_dbn_pretraining_lowers_reconstruction_error_and_unrolls_to_the_stack():
    rows, errors, curves = experiments.dbn_digits(sizes=(64, 20, 12), pretrain_epochs=2, epochs=1)
    assert errors.shape == (2, 2) and (errors[:, -1] < errors[:, 0]).all()
    by_name = {r["quantity"][:15]: r for r in rows}
    assert by_name["unrolled MLP's "]["ok"]
    assert set(curves) == {"pretrained", "random init"} and all(len(c) == 1 for c in curves.values())


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plots(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {"quantity", "published", "ours", "ok"} == set(rows[0])
    for name in ("a07_sparse_ae_filters.png", "a07_dbn_finetuning.png"):
        assert (tmp_path / name).stat().st_size > 10_000
