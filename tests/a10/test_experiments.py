"""a10 experiment: reversing digits, where additive attention beats the same decoder without it (full run: -m slow)."""
from __future__ import annotations

import pytest
import torch

from reference.a10_attention import experiments


def test_training_gradients_match_autograd():
    """The experiment's hand-written backward (additive_attention_backward inside) is the loss's gradient."""
    g = torch.Generator().manual_seed(3)
    p = experiments.init(g, hidden=5, query=3, att=4, mlp=6)
    x, y = experiments.digits(3, g)
    for attention in (True, False):
        loss, grads = experiments.loss_and_grads(p, x, y, attention)
        leaves = {k: v.clone().requires_grad_(True) for k, v in p.items()}
        with torch.enable_grad():
            logits, _, _ = experiments.forward(leaves, x, attention)
            ref = torch.nn.functional.cross_entropy(logits.reshape(-1, experiments.VOCAB), y.reshape(-1))
            ref.backward()
        assert abs(loss - float(ref.detach())) < 1e-12
        for k in p:
            expected = leaves[k].grad if leaves[k].grad is not None else torch.zeros_like(p[k])
            torch.testing.assert_close(grads[k], expected, rtol=1e-9, atol=1e-11, msg=k)


def test_attention_learns_to_reverse_and_the_plain_decoder_does_not_yet():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        att, plain = experiments.train(True, steps=40, every=40), experiments.train(False, steps=40, every=40)
    finally:
        torch.set_num_threads(threads)
    assert att["token"] > 0.9 > 0.5 > plain["token"], (att["token"], plain["token"])
    assert att["curve"] == [(40, att["token"])]
    top, _ = experiments.mirrored(att["params"], att["x_test"])
    assert top > 0.8


@pytest.mark.slow
def test_full_run_reproduces_every_row_and_writes_the_plot(tmp_path):
    rows = experiments.run(tmp_path)
    assert rows and all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert (tmp_path / "a10_attention_reversal.png").stat().st_size > 10_000
