"""a04 experiments: LeNet-5's published sizes, the output-size formula, training on digits (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a04_cnn import experiments, lenet



def test_lenet_parameter_counts_match_the_published_ones():
    rows = experiments.parameter_rows()
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    by_name = {r["quantity"]: r["ours"] for r in rows}
    assert by_name["LeNet-5 modern (full C3, linear output): parameters"] == 61706
    assert by_name["LeNet-5 1998: trainable parameters"] == 60000
    assert by_name["LeNet-5 1998: connections"] == 340908


def test_c3_table_has_the_papers_connection_pattern():
    table = experiments.C3_TABLE
    assert len(table) == 16 and all(len(set(maps)) == len(maps) for maps in table)
    assert [len(m) for m in table] == [3] * 6 + [4] * 9 + [6]
    # every S2 map feeds exactly 10 of the 16 C3 maps (Table I's rows each hold ten X's)
    assert [sum(s in maps for maps in table) for s in range(6)] == [10] * 6


def test_output_size_table():
    rows = experiments.output_size_rows()
    assert len(rows) == len(experiments.OUTPUT_SIZE_CASES)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]


def test_digits_are_centred_in_a_32x32_field():
    x_tr, y_tr, x_te, y_te = experiments.digits_data()
    assert x_tr.shape[1:] == (1, 32, 32) and len(x_tr) + len(x_te) == 1797
    assert set(y_te.tolist()) == set(range(10))
    border = torch.cat([x_tr[:, 0, :2].flatten(), x_tr[:, 0, -2:].flatten()])
    assert torch.allclose(border, border[0].expand_as(border))  # the padding: one constant value


def test_a_few_steps_of_training_reduce_the_loss():
    params, curve, acc, _ = experiments.train_lenet(epochs=3, limit=256, lr=0.05)
    assert len(curve) == 3 and curve[-1] < 0.7 * curve[0]
    assert acc > 0.3  # well above chance (0.1) after 24 steps
    assert lenet.parameter_count(params) == 61706


@pytest.mark.slow
def test_full_run_reproduces_every_number_and_draws_the_pictures(tmp_path):
    rows = experiments.run(plots=tmp_path)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    acc = next(r["ours"] for r in rows if r["quantity"].endswith("test accuracy"))
    assert acc >= 0.97
    for name in ("a04_lenet_c1_filters.png", "a04_lenet_feature_maps.png"):
        assert (tmp_path / name).stat().st_size > 10_000
