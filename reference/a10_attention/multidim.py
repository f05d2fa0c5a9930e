"""Multi-dimensional attention: DiSAN's feature-wise source-to-token attention (Shen et al., 2018) and the
structured self-attentive sentence embedding with its penalty (Lin et al., 2017).

Feature-wise attention gives every feature its own distribution over the positions; when all the
features of a position score alike it is ordinary (vector) attention.
"""
from __future__ import annotations

import torch

from .softmax import masked_softmax_backward, masked_softmax_forward

Tensor = torch.Tensor


def multidim_attention_forward(x: Tensor, W1: Tensor, b1: Tensor, W: Tensor, b: Tensor,
                               mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """Multi-dimensional source-to-token attention: f(x_i) = elu(x_i W1 + b1) W + b, one score per
    feature; P = softmax over the positions i, separately for each feature; s = sum_i P_i * x_i.

    x: (N, T, D); W1: (D, D); b1: (D,); W: (D, D); b: (D,); mask: (N, T) boolean or None.
    elu(y) = y for y > 0, exp(y) - 1 otherwise. Use masked_softmax_forward.
    Returns (s, P, cache): (N, D), (N, T, D).
    """
    ### BEGIN SOLUTION
    pre = x @ W1 + b1  # (N, T, D)
    act = torch.where(pre > 0, pre, torch.exp(pre.clamp(max=0.0)) - 1)  # (N, T, D) elu
    f = act @ W + b  # (N, T, D)
    m = None if mask is None else mask[:, :, None]  # (N, T, 1): the same for every feature
    P, sm_cache = masked_softmax_forward(f, m, dim=1)  # (N, T, D): a distribution over T per feature
    s = (P * x).sum(dim=1)  # (N, D)
    ### END SOLUTION
    cache = (x, W1, W, pre, act, P, sm_cache)
    return s, P, cache


def multidim_attention_backward(ds: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward of multidim_attention_forward. ds: (N, D). Returns (dx, dW1, db1, dW, db)."""
    x, W1, W, pre, act, P, sm_cache = cache
    ### BEGIN SOLUTION
    d = x.shape[2]
    dP = ds[:, None, :] * x  # (N, T, D)
    dx = ds[:, None, :] * P  # (N, T, D)
    df = masked_softmax_backward(dP, sm_cache)  # (N, T, D)
    dW = act.reshape(-1, d).T @ df.reshape(-1, d)  # (D, D)
    db = df.sum(dim=(0, 1))  # (D,)
    dact = df @ W.T  # (N, T, D)
    dpre = dact * torch.where(pre > 0, torch.ones_like(pre), act + 1)  # elu' = 1, or exp(y) = elu(y) + 1
    dW1 = x.reshape(-1, d).T @ dpre.reshape(-1, d)  # (D, D)
    db1 = dpre.sum(dim=(0, 1))  # (D,)
    dx = dx + dpre @ W1.T
    ### END SOLUTION
    return dx, dW1, db1, dW, db


def structured_attention_forward(H: Tensor, W1: Tensor, W2: Tensor,
                                 mask: Tensor | None = None) -> tuple[Tensor, Tensor, tuple]:
    """The structured self-attentive embedding: A = softmax(W2 tanh(W1 H^T)), each of the r rows a
    distribution over the T positions; M = A H.

    H: (N, T, D); W1: (da, D); W2: (r, da); mask: (N, T) boolean or None. Use masked_softmax_forward.
    Returns (M, A, cache): (N, r, D), (N, r, T).
    """
    ### BEGIN SOLUTION
    t = torch.tanh(W1 @ H.transpose(1, 2))  # (N, da, T)
    scores = W2 @ t  # (N, r, T)
    m = None if mask is None else mask[:, None, :]  # (N, 1, T)
    A, sm_cache = masked_softmax_forward(scores, m, dim=2)  # (N, r, T)
    M = A @ H  # (N, r, D)
    ### END SOLUTION
    cache = (H, W1, W2, t, A, sm_cache)
    return M, A, cache


def structured_attention_backward(dM: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward of structured_attention_forward. dM: (N, r, D). Returns (dH, dW1, dW2)."""
    H, W1, W2, t, A, sm_cache = cache
    ### BEGIN SOLUTION
    dA = dM @ H.transpose(1, 2)  # (N, r, T)
    dH = A.transpose(1, 2) @ dM  # (N, T, D)
    dscores = masked_softmax_backward(dA, sm_cache)  # (N, r, T)
    dW2 = (dscores @ t.transpose(1, 2)).sum(dim=0)  # (r, da)
    dpre = (W2.T @ dscores) * (1 - t * t)  # (N, da, T)
    dW1 = (dpre @ H).sum(dim=0)  # (da, D)
    dH = dH + dpre.transpose(1, 2) @ W1
    ### END SOLUTION
    return dH, dW1, dW2


def structured_penalty(A: Tensor, coef: float) -> tuple[Tensor, Tensor]:
    """coef * sum_n ||A_n A_n^T - I||_F^2, which pushes the r attention rows apart, and its gradient.

    A: (N, r, T). Returns (loss, dA): a scalar tensor and (N, r, T).
    """
    ### BEGIN SOLUTION
    r = A.shape[1]
    eye = torch.eye(r, dtype=A.dtype, device=A.device)
    gap = A @ A.transpose(1, 2) - eye  # (N, r, r), symmetric
    loss = coef * (gap * gap).sum()
    dA = 4 * coef * gap @ A  # (N, r, T): d ||G||^2 / dA = 2 (G + G^T) A
    ### END SOLUTION
    return loss, dA
