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
    ### BEGIN SOLUTION
    extra = ()
    if score == "dot":
        e = (hs * ht[:, None, :]).sum(dim=2)  # (N, S)
    elif score == "general":
        (Wa,) = params
        q = ht @ Wa  # (N, Ds)
        e = (hs * q[:, None, :]).sum(dim=2)  # (N, S)
        extra = (q,)
    elif score == "concat":
        Wa, va = params
        x = torch.cat([ht[:, None, :].expand(-1, hs.shape[1], -1), hs], dim=2)  # (N, S, Dt + Ds)
        t = torch.tanh(x @ Wa)  # (N, S, A)
        e = t @ va  # (N, S)
        extra = (x, t)
    else:
        raise ValueError(f"unknown score {score!r}")
    ### END SOLUTION
    cache = (ht, hs, score, params, extra)
    return e, cache


def luong_score_backward(de: Tensor, cache: tuple) -> tuple[Tensor, Tensor, list]:
    """Backward of luong_score_forward. de: (N, S).

    Returns (dht, dhs, dparams): (N, Dt), (N, S, Ds) and a list of the gradients of ``params``, in order.
    """
    ht, hs, score, params, extra = cache
    ### BEGIN SOLUTION
    if score == "dot":
        dht = (de[:, :, None] * hs).sum(dim=1)  # (N, Dt)
        dhs = de[:, :, None] * ht[:, None, :]  # (N, S, Ds)
        dparams = []
    elif score == "general":
        (Wa,), (q,) = params, extra
        dq = (de[:, :, None] * hs).sum(dim=1)  # (N, Ds)
        dhs = de[:, :, None] * q[:, None, :]  # (N, S, Ds)
        dparams = [ht.T @ dq]  # (Dt, Ds)
        dht = dq @ Wa.T  # (N, Dt)
    else:
        (Wa, va), (x, t) = params, extra
        dva = (t * de[:, :, None]).sum(dim=(0, 1))  # (A,)
        dpre = de[:, :, None] * va * (1 - t * t)  # (N, S, A)
        dWa = torch.einsum("nsk,nsa->ka", x, dpre)  # (Dt + Ds, A)
        dx = dpre @ Wa.T  # (N, S, Dt + Ds)
        dt_ = ht.shape[1]
        dht = dx[:, :, :dt_].sum(dim=1)  # (N, Dt): h_t is repeated at every source position
        dhs = dx[:, :, dt_:]  # (N, S, Ds)
        dparams = [dWa, dva]
    ### END SOLUTION
    return dht, dhs, dparams


def luong_global_forward(ht: Tensor, hs: Tensor, Wc: Tensor, score: str, params: list,
                         mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Global attention: alpha = softmax_s(e), c = sum_s alpha_s h_s, attentional state h~ = tanh([c; h_t] W_c).

    Wc: (Ds + Dt, Dout) (the context first); mask: (N, S) boolean or None. Use luong_score_forward and
    masked_softmax_forward. Returns (h_tilde, alpha, cache): (N, Dout), (N, S).
    """
    ### BEGIN SOLUTION
    e, score_cache = luong_score_forward(ht, hs, score, params)  # (N, S)
    alpha, sm_cache = masked_softmax_forward(e, mask)  # (N, S)
    c = (alpha[:, :, None] * hs).sum(dim=1)  # (N, Ds)
    ch = torch.cat([c, ht], dim=1)  # (N, Ds + Dt)
    h_tilde = torch.tanh(ch @ Wc)  # (N, Dout)
    ### END SOLUTION
    cache = (hs, Wc, alpha, ch, h_tilde, score_cache, sm_cache)
    return h_tilde, alpha, cache


def luong_global_backward(dh_tilde: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, list]:
    """Backward of luong_global_forward. dh_tilde: (N, Dout).

    Returns (dht, dhs, dWc, dparams): (N, Dt), (N, S, Ds), (Ds + Dt, Dout), the score's parameter gradients.
    """
    hs, Wc, alpha, ch, h_tilde, score_cache, sm_cache = cache
    ### BEGIN SOLUTION
    du = dh_tilde * (1 - h_tilde * h_tilde)  # (N, Dout)
    dWc = ch.T @ du  # (Ds + Dt, Dout)
    dch = du @ Wc.T  # (N, Ds + Dt)
    ds_ = hs.shape[2]
    dc, dht = dch[:, :ds_], dch[:, ds_:]  # (N, Ds), (N, Dt)
    dalpha = (hs * dc[:, None, :]).sum(dim=2)  # (N, S)
    dhs = alpha[:, :, None] * dc[:, None, :]  # (N, S, Ds)
    de = masked_softmax_backward(dalpha, sm_cache)  # (N, S)
    dht_e, dhs_e, dparams = luong_score_backward(de, score_cache)
    dht = dht + dht_e
    dhs = dhs + dhs_e
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    S = hs.shape[1]
    tp = torch.tanh(ht @ Wp)  # (N, P)
    sig = torch.sigmoid(tp @ vp)  # (N,)
    p = S * sig  # (N,)
    pos = torch.arange(S, dtype=hs.dtype, device=hs.device)  # (S,)
    dist = pos[None, :] - p[:, None]  # (N, S)
    inside = dist.abs() <= window  # (N, S)
    sigma = window / 2
    gauss = torch.exp(-dist * dist / (2 * sigma * sigma))  # (N, S)
    e, score_cache = luong_score_forward(ht, hs, score, params)  # (N, S)
    align, sm_cache = masked_softmax_forward(e, inside)  # (N, S)
    a = align * gauss  # (N, S)
    c = (a[:, :, None] * hs).sum(dim=1)  # (N, Ds)
    ch = torch.cat([c, ht], dim=1)  # (N, Ds + Dt)
    h_tilde = torch.tanh(ch @ Wc)  # (N, Dout)
    ### END SOLUTION
    cache = (ht, hs, Wc, Wp, vp, tp, sig, dist, sigma, gauss, align, a, ch, h_tilde, score_cache, sm_cache)
    return h_tilde, a, cache


def luong_local_backward(dh_tilde: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, list]:
    """Backward of luong_local_forward. dh_tilde: (N, Dout). The window's edges are steps: no gradient
    flows through which positions are inside; p_t gets its gradient through the Gaussian.

    Returns (dht, dhs, dWc, dWp, dvp, dparams).
    """
    ht, hs, Wc, Wp, vp, tp, sig, dist, sigma, gauss, align, a, ch, h_tilde, score_cache, sm_cache = cache
    ### BEGIN SOLUTION
    S, ds_ = hs.shape[1], hs.shape[2]
    du = dh_tilde * (1 - h_tilde * h_tilde)  # (N, Dout)
    dWc = ch.T @ du  # (Ds + Dt, Dout)
    dch = du @ Wc.T  # (N, Ds + Dt)
    dc, dht = dch[:, :ds_], dch[:, ds_:]
    da = (hs * dc[:, None, :]).sum(dim=2)  # (N, S)
    dhs = a[:, :, None] * dc[:, None, :]  # (N, S, Ds)
    dalign = da * gauss  # (N, S)
    dp = (da * align * gauss * dist).sum(dim=1) / (sigma * sigma)  # (N,): d gauss / d p = gauss (s - p) / sigma^2
    dz = dp * S * sig * (1 - sig)  # (N,)
    dvp = tp.T @ dz  # (P,)
    dpre = dz[:, None] * vp * (1 - tp * tp)  # (N, P)
    dWp = ht.T @ dpre  # (Dt, P)
    dht = dht + dpre @ Wp.T
    de = masked_softmax_backward(dalign, sm_cache)  # (N, S)
    dht_e, dhs_e, dparams = luong_score_backward(de, score_cache)
    dht = dht + dht_e
    dhs = dhs + dhs_e
    ### END SOLUTION
    return dht, dhs, dWc, dWp, dvp, dparams
