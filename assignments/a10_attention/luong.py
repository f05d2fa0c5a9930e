"""Luong, Pham and Manning (2015): global attention with the dot, general and concat scores, the
attentional state h~ = tanh([c; h_t] W_c), and local-p attention around a predicted position.

Row vectors throughout. ht (N, Dt) is the decoder's current state, hs (N, S, Ds) the source states.
Scores: dot e_s = h_t . h_s (needs Dt = Ds); general e_s = (h_t W_a) . h_s with W_a (Dt, Ds);
concat e_s = v_a . tanh([h_t; h_s] W_a) with W_a (Dt + Ds, A), v_a (A,). ``params`` holds the
score's parameters in that order: [] for dot, [W_a] for general, [W_a, v_a] for concat.
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def luong_score_forward(ht: Tensor, hs: Tensor, score: str, params: list) -> tuple[Tensor, tuple]:
    """The alignment scores e (N, S) of ``score`` ("dot", "general" or "concat"). Returns (e, cache).

    ``extra``, in the cache, is a tuple of what the backward needs besides the inputs: () for dot,
    (q,) with q = h_t W_a for general, (x, t) with x = [h_t; h_s] (N, S, Dt + Ds) and t its tanh for concat.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_score_forward")
    cache = (ht, hs, score, params, extra)
    return e, cache


def luong_score_backward(de: Tensor, cache: tuple) -> tuple[Tensor, Tensor, list]:
    """Backward of luong_score_forward. de: (N, S).

    Returns (dht, dhs, dparams): (N, Dt), (N, S, Ds) and a list of the gradients of ``params``, in order.
    """
    ht, hs, score, params, extra = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_score_backward")
    return dht, dhs, dparams


def luong_global_forward(ht: Tensor, hs: Tensor, Wc: Tensor, score: str, params: list,
                         mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Global attention: alpha = softmax_s(e), c = sum_s alpha_s h_s, attentional state h~ = tanh([c; h_t] W_c).

    Wc: (Ds + Dt, Dout) (the context first); mask: (N, S) boolean or None. Use luong_score_forward and
    masked_softmax_forward. Returns (h_tilde, alpha, cache): (N, Dout), (N, S).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_global_forward")
    cache = (hs, Wc, alpha, ch, h_tilde, score_cache, sm_cache)
    return h_tilde, alpha, cache


def luong_global_backward(dh_tilde: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, list]:
    """Backward of luong_global_forward. dh_tilde: (N, Dout).

    Returns (dht, dhs, dWc, dparams): (N, Dt), (N, S, Ds), (Ds + Dt, Dout), the score's parameter gradients.
    """
    hs, Wc, alpha, ch, h_tilde, score_cache, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_global_backward")
    return dht, dhs, dWc, dparams


def luong_local_forward(ht: Tensor, hs: Tensor, Wc: Tensor, Wp: Tensor, vp: Tensor, window: float, score: str,
                        params: list) -> tuple[Tensor, Tensor, tuple]:
    """Local-p attention: p_t = S sigmoid(v_p . tanh(h_t W_p)), the window [p_t - D, p_t + D] of source
    positions s = 0 .. S-1, a_s = align_s exp(-(s - p_t)^2 / (2 sigma^2)) with sigma = D / 2, align the
    softmax of the scores over the window, c = sum_s a_s h_s and h~ = tanh([c; h_t] W_c).

    Wp: (Dt, P); vp: (P,); window: D, a float (``inf``: every position, and no Gaussian decay).
    Use luong_score_forward and masked_softmax_forward (the mask: inside the window).
    Returns (h_tilde, a, cache): (N, Dout), (N, S).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_local_forward")
    cache = (ht, hs, Wc, Wp, vp, tp, sig, dist, sigma, gauss, align, a, ch, h_tilde, score_cache, sm_cache)
    return h_tilde, a, cache


def luong_local_backward(dh_tilde: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, list]:
    """Backward of luong_local_forward. dh_tilde: (N, Dout). The window's edges are steps: no gradient
    flows through which positions are inside; p_t gets its gradient through the Gaussian.

    Returns (dht, dhs, dWc, dWp, dvp, dparams).
    """
    ht, hs, Wc, Wp, vp, tp, sig, dist, sigma, gauss, align, a, ch, h_tilde, score_cache, sm_cache = cache
    # YOUR CODE HERE
    raise NotImplementedError("a10.luong_local_backward")
    return dht, dhs, dWc, dWp, dvp, dparams
