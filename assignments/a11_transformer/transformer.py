"""The encoder and decoder layers of the transformer, post-LN as in the paper and pre-LN, forward and backward.

A layer's parameters are a dict named like the state dict of ``nn.TransformerEncoderLayer`` /
``nn.TransformerDecoderLayer`` with dots turned into underscores (``self_attn.in_proj_weight``
-> ``self_attn_in_proj_weight``, ``linear1.weight`` -> ``linear1_weight``). Post-LN (the paper,
``norm_first=False``): x = LN(x + Sublayer(x)); pre-LN (``norm_first=True``): x = x + Sublayer(LN(x)).
The decoder's self-attention takes a causal ``tgt_mask`` and its second attention looks at the
encoder's output ``memory``. Masks are bool, True = may attend (or float, added to the scores).
No dropout: these are the layers with dropout 0.
"""
from __future__ import annotations

import torch

from .attention import multi_head_attention_backward, multi_head_attention_forward
from .layers import feed_forward_backward, feed_forward_forward, layer_norm_backward, layer_norm_forward

Tensor = torch.Tensor

ATTENTION = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")
ENCODER_KEYS = tuple(f"self_attn_{k}" for k in ATTENTION) + (
    "linear1_weight", "linear1_bias", "linear2_weight", "linear2_bias",
    "norm1_weight", "norm1_bias", "norm2_weight", "norm2_bias")
DECODER_KEYS = tuple(f"self_attn_{k}" for k in ATTENTION) + tuple(f"multihead_attn_{k}" for k in ATTENTION) + (
    "linear1_weight", "linear1_bias", "linear2_weight", "linear2_bias",
    "norm1_weight", "norm1_bias", "norm2_weight", "norm2_bias", "norm3_weight", "norm3_bias")


def causal_mask(t: int, device=None) -> Tensor:
    """(T, T) bool, True on and below the diagonal: position t may attend to positions s <= t."""
    return torch.ones(t, t, dtype=torch.bool, device=device).tril()


def _attention(q: Tensor, kv: Tensor, p: dict, prefix: str, num_heads: int, mask) -> tuple[Tensor, tuple]:
    return multi_head_attention_forward(q, kv, kv, p[f"{prefix}_in_proj_weight"], p[f"{prefix}_in_proj_bias"],
                                        p[f"{prefix}_out_proj_weight"], p[f"{prefix}_out_proj_bias"], num_heads, mask)


def _attention_grads(grads: dict, prefix: str, result: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Store the four parameter gradients of an attention under ``prefix``; return (dquery, dkey, dvalue)."""
    for key, g in zip(ATTENTION, result[3:]):
        grads[f"{prefix}_{key}"] = g
    return result[:3]


def _ffn(x: Tensor, p: dict) -> tuple[Tensor, tuple]:
    return feed_forward_forward(x, p["linear1_weight"], p["linear1_bias"], p["linear2_weight"], p["linear2_bias"])


def _ffn_grads(grads: dict, result: tuple) -> Tensor:
    dx, grads["linear1_weight"], grads["linear1_bias"], grads["linear2_weight"], grads["linear2_bias"] = result
    return dx


def _norm(x: Tensor, p: dict, i: int, eps: float) -> tuple[Tensor, tuple]:
    return layer_norm_forward(x, p[f"norm{i}_weight"], p[f"norm{i}_bias"], eps)


def _norm_grads(grads: dict, i: int, result: tuple) -> Tensor:
    dx, grads[f"norm{i}_weight"], grads[f"norm{i}_bias"] = result
    return dx


def encoder_layer_forward(x: Tensor, params: dict, num_heads: int, mask: Tensor | None = None,
                          norm_first: bool = False, eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """One encoder layer: self-attention, then the feed-forward block, each with a residual and a layer norm.

    post-LN: y = LN1(x + SA(x)), out = LN2(y + FFN(y)); pre-LN: y = x + SA(LN1(x)), out = y + FFN(LN2(y)).
    x: (N, T, E); params: ENCODER_KEYS (attention as in multi_head_attention_forward, linear1 (F, E),
    linear2 (E, F), norms (E,)); mask: (T, T) or (N, T, T). Returns (out, cache), out: (N, T, E).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.encoder_layer_forward")
    return out, cache


def encoder_layer_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, dict]:
    """Backward pass of encoder_layer_forward. dout: (N, T, E).

    Returns (dx, grads): dx (N, T, E) and grads, a dict with one gradient per key of ENCODER_KEYS.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.encoder_layer_backward")
    return dx, grads


def decoder_layer_forward(x: Tensor, memory: Tensor, params: dict, num_heads: int, tgt_mask: Tensor | None = None,
                          memory_mask: Tensor | None = None, norm_first: bool = False,
                          eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """One decoder layer: masked self-attention, attention over the encoder's output, the feed-forward block.

    post-LN: y1 = LN1(x + SA(x)), y2 = LN2(y1 + CA(y1, memory)), out = LN3(y2 + FFN(y2));
    pre-LN:  y1 = x + SA(LN1(x)), y2 = y1 + CA(LN2(y1), memory), out = y2 + FFN(LN3(y2)),
    where CA's queries come from the decoder and its keys and values from ``memory``.
    x: (N, T, E); memory: (N, S, E); params: DECODER_KEYS; tgt_mask: (T, T) (causal to decode
    left to right); memory_mask: (T, S). Returns (out, cache), out: (N, T, E).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.decoder_layer_forward")
    return out, cache


def decoder_layer_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, dict]:
    """Backward pass of decoder_layer_forward. dout: (N, T, E).

    Returns (dx, dmemory, grads): dx (N, T, E), dmemory (N, S, E) (memory is the key and the value
    of the second attention) and grads, one gradient per key of DECODER_KEYS.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.decoder_layer_backward")
    return dx, dmemory, grads
