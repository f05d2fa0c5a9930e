"""a11 experiments: the transformer's parameter count, torch's modules as ground truth, attention's properties,
the matcher, a toy task learnt (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a11_transformer import experiments, model


def test_reference_transformer_has_nn_transformers_44140544_parameters():
    rows = experiments.parameter_counts()
    assert all(r["ok"] for r in rows), rows
    assert rows[1]["ours"] == 44_140_544
    assert rows[2]["ours"] == 3_152_384 and rows[3]["ours"] == 4_204_032


def test_ground_truth_and_property_rows_hold():
    g = torch.Generator().manual_seed(0)
    rows = experiments.against_torch(g) + experiments.properties(g) + experiments.split_attention_is_se(g) \
        + experiments.matcher(g, trials=40)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]


def test_model_backward_matches_autograd_through_the_same_forward():
    g = torch.Generator().manual_seed(1)
    params = model.init_transformer(8, 2, 1, 1, 12, 5, 6, g, dtype=torch.float64)
    src, tgt, out = torch.randint(0, 5, (2, 4), generator=g), torch.randint(0, 6, (2, 3), generator=g), \
        torch.randint(0, 6, (2, 3), generator=g)
    logits, cache = model.transformer_forward(src, tgt, params, 2, norm_first=True)
    loss, dlogits = model.cross_entropy(logits, out)
    grads = model.tensors(model.transformer_backward(dlogits, cache))
    leaves = [t.clone().requires_grad_(True) for t in model.tensors(params)]
    it = iter(leaves)

    def rebuild(tree):
        if isinstance(tree, torch.Tensor):
            return next(it)
        if isinstance(tree, dict):
            return {k: rebuild(v) for k, v in tree.items()}
        return [rebuild(v) for v in tree]
    with torch.enable_grad():
        ref = torch.nn.functional.cross_entropy(
            model.transformer_forward(src, tgt, rebuild(params), 2, norm_first=True)[0].reshape(-1, 6), out.reshape(-1))
        ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-10, atol=1e-12)
    for got, leaf in zip(grads, leaves):
        torch.testing.assert_close(got, leaf.grad, rtol=1e-8, atol=1e-10)


def test_a_few_adam_steps_start_learning_the_reverse_task():
    result = experiments.train_reverse(steps=40, warmup=10, d_model=16, nhead=2, dim_feedforward=32, test=50)
    assert result["loss"][-1] < 0.8 * result["loss"][0]
    maps = experiments.attention_maps(result)
    assert maps["cross"].shape == (2, experiments.LENGTH, experiments.LENGTH)
    torch.testing.assert_close(maps["cross"].sum(-1), torch.ones(2, experiments.LENGTH, dtype=torch.float32))


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plots(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {"quantity", "published", "ours", "ok"} == set(rows[0])
    for name in ("a11_attention_maps.png", "a11_positions_and_training.png"):
        assert (tmp_path / name).stat().st_size > 10_000
