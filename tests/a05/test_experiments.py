"""a05 experiments: AlexNet's published shapes and parameter counts, LRN's constants, dropout, BN's faster convergence (full run: -m slow)."""
from __future__ import annotations

import pytest

from reference.a05_batchnorm_alexnet import experiments



def test_shape_table_and_parameter_counts_match_the_paper():
    rows = experiments.shape_table() + experiments.parameter_counts()
    assert len(rows) == 8 + 10 and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    by_name = {r["quantity"]: r for r in rows}
    assert by_name["AlexNet parameters, two-group conv2/conv4/conv5"]["ours"] == 60_965_224
    assert by_name["AlexNet parameters without groups"]["ours"] == 62_378_344
    assert by_name["AlexNet pool5 output (227x227 input), from the specs"]["ours"] == "6x6x256"


def test_lrn_constants_and_dropout_statistics():
    rows = experiments.lrn_constants() + experiments.dropout_statistics()
    assert all(r["ok"] for r in rows), rows
    assert rows[0]["ours"] < 1e-12


def test_batchnorm_converges_faster_after_two_epochs():
    plain, normed = experiments.train_bn_mlp(False, epochs=2), experiments.train_bn_mlp(True, epochs=2)
    assert normed["accuracy"][-1] > 0.85 > 0.5 > plain["accuracy"][-1]  # the sigmoid net without BN is still stuck
    assert len(normed["loss"]) == len(plain["loss"]) == 2 * 24  # 1437 training digits in batches of 60
    assert sum(normed["loss"][-10:]) < sum(plain["loss"][-10:])
    assert experiments.first_epoch_at([0.5, 0.92, 0.95], 0.9) == 2 and experiments.first_epoch_at([0.5], 0.9) is None


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plot(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {"quantity", "published", "ours", "ok"} == set(rows[0])
    assert (tmp_path / "a05_batchnorm_curves.png").stat().st_size > 10_000
