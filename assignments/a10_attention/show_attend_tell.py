"""Soft and hard attention over image locations (Xu et al., 2015, Show, Attend and Tell).

a (N, L, D) holds the annotation vectors of L locations, h (N, H) the decoder's previous state.
Soft attention: e_i = w . tanh(a_i W_a + h W_h), alpha = softmax e, gated context z = beta sum_i alpha_i a_i
with beta = sigmoid(h . w_b + b_b). Hard attention samples one location from alpha with noise given by
the caller and is trained by REINFORCE with a moving-average baseline. The doubly stochastic penalty
pushes every location to receive, over the caption's steps, a total attention of one.
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def soft_attention_forward(a: Tensor, h: Tensor, Wa: Tensor, Wh: Tensor, w: Tensor, wb: Tensor,
                           bb: Tensor) -> tuple[Tensor, Tensor, tuple]:
    """Deterministic soft attention with the gating scalar beta.

    a: (N, L, D); h: (N, H); Wa: (D, A); Wh: (H, A); w: (A,); wb: (H,); bb: (1,). Use masked_softmax_forward.
    Returns (z, alpha, cache): z (N, D), alpha (N, L).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.soft_attention_forward")
    cache = (a, h, Wa, Wh, w, wb, t, alpha, beta, ctx, sm_cache)
    return z, alpha, cache


def soft_attention_backward(dz: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of soft_attention_forward. dz: (N, D).

    Returns (da, dh, dWa, dWh, dw, dwb, dbb), shaped like a, h, Wa, Wh, w, wb, bb.
    """
    a, h, Wa, Wh, w, wb, t, alpha, beta, ctx, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.soft_attention_backward")
    return da, dh, dWa, dWh, dw, dwb, dbb


def doubly_stochastic_penalty(alphas: Tensor, lam: float) -> tuple[Tensor, Tensor]:
    """lam * sum_n sum_i (1 - sum_t alpha_nti)^2 and its gradient.

    alphas: (N, C, L), the attention of each of C steps over L locations. Returns (loss, dalphas):
    a scalar tensor and (N, C, L).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.doubly_stochastic_penalty")
    return loss, dalphas


def hard_attention_sample(alpha: Tensor, a: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
    """Sample one location per example from alpha by inversion: the first location whose cumulative
    probability exceeds the uniform noise.

    alpha: (N, L), rows summing to 1; a: (N, L, D); noise: (N,) in [0, 1).
    Returns (z, loc): the chosen annotation vectors (N, D) and the locations (N,) int64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.hard_attention_sample")
    return z, loc


def reinforce_step(e: Tensor, loc: Tensor, reward: Tensor, baseline: Tensor,
                   momentum: float) -> tuple[Tensor, Tensor]:
    """REINFORCE with a baseline for hard attention: the estimate of the gradient of the mean expected
    reward with respect to the attention scores, and the baseline's moving-average update.

    With alpha = softmax(e), d log alpha_loc / d e = onehot(loc) - alpha, so
    de = (1/N) sum_n (reward_n - baseline) (onehot(loc_n) - alpha_n), and the new baseline is
    momentum * baseline + (1 - momentum) * mean(reward).
    e: (N, L); loc: (N,) int64; reward: (N,); baseline: (1,). Use masked_softmax_forward.
    Returns (de, new_baseline): (N, L) (row n holds example n's term of the sum), (1,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.reinforce_step")
    return de, new_baseline
