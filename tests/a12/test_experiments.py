"""a12 experiments: the MNIST CapsNet's parameter counts and shapes, a small CapsNet learning digits (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a12_capsules import capsnet, experiments


def test_mnist_capsnet_counts_and_shapes_match_the_paper():
    rows = experiments.mnist_counts_and_shapes()
    assert len(rows) == 9 and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    by_name = {r["quantity"]: r["ours"] for r in rows}
    assert by_name["MNIST CapsNet parameters: CapsNet in all"] == "8,215,568"
    assert by_name["MNIST CapsNet: PrimaryCaps"] == "1152 capsules of 8-D"


def test_capsnet_gradients_are_those_of_its_loss():
    """The network's hand-written backward, end to end, against central differences of its loss."""
    config = {"image": (1, 6, 6), "conv1": (3, 3), "primary": (2, 3, 2, 2), "digits": (3, 4), "decoder": (5,)}
    g = torch.Generator().manual_seed(0)
    params = capsnet.init(config, g)
    x = torch.rand(2, 1, 6, 6, generator=g, dtype=torch.float64)
    y = torch.tensor([2, 0])
    _, _, grads = capsnet.loss_and_grads(params, x, y, config)
    for name, index in (("conv1_w", (1, 0, 2, 1)), ("primary_b", (4,)), ("digit_W", (3, 1, 2, 0))):
        h, plus, minus = 1e-6, {**params}, {**params}
        plus[name], minus[name] = params[name].clone(), params[name].clone()
        plus[name][index] += h
        minus[name][index] -= h
        numeric = (sum(capsnet.loss_and_grads(plus, x, y, config)[:2])
                   - sum(capsnet.loss_and_grads(minus, x, y, config)[:2])) / (2 * h)
        assert abs(float(grads[name][index]) - numeric) < 1e-7 * max(1.0, abs(numeric))


def test_a_short_run_learns():
    history = experiments.train_digits(epochs=2, train_size=192, test_size=100)
    assert history["margin"][1] < history["margin"][0]
    assert history["accuracy"][-1] > 0.4  # ten classes: chance is 0.1
    assert history["reconstructions"].shape == history["images"].shape == (100, 8, 8)


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_picture(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert {"quantity", "published", "ours", "ok"} == set(rows[0])
    assert (tmp_path / "a12_capsnet_digits.png").stat().st_size > 10_000
