"""The transformer's other layers: sinusoidal positional encoding, layer normalization and the position-wise feed-forward block.

Linear maps follow torch's layout, y = x W^T + b with W (out, in), and act on the last axis of
inputs of any leading shape (N, T, E).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def positional_encoding(length: int, d_model: int, base: float = 10000.0) -> Tensor:
    """The sinusoidal encoding of section 3.5 of the paper, float64 (length, d_model):

    PE[pos, 2i] = sin(pos / base^(2i / d_model)),  PE[pos, 2i + 1] = cos(pos / base^(2i / d_model)).
    An odd d_model has one more sine column than cosine columns.
    """
    ### BEGIN SOLUTION
    pos = torch.arange(length, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(E/2),) the even feature indices
    angle = pos / base ** (two_i / d_model)  # (T, ceil(E/2))
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    ### END SOLUTION
    return pe


def layer_norm_forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> tuple[Tensor, tuple]:
    """Layer normalization (Ba et al., 2016): each position normalised over its own features (the last axis).

    out = gamma * (x - mean) / sqrt(var + eps) + beta, mean and biased var over the last axis.
    x: (..., D); gamma, beta: (D,). Returns (out, cache), out shaped like x.
    """
    ### BEGIN SOLUTION
    mu = x.mean(dim=-1, keepdim=True)  # (..., 1)
    xmu = x - mu  # (..., D)
    var = (xmu * xmu).mean(dim=-1, keepdim=True)  # (..., 1) biased
    ivar = 1.0 / torch.sqrt(var + eps)  # (..., 1)
    xhat = xmu * ivar  # (..., D)
    out = gamma * xhat + beta  # (..., D)
    ### END SOLUTION
    cache = (xhat, ivar, gamma)
    return out, cache


def layer_norm_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of layer_norm_forward. dout: (..., D).

    Returns (dx, dgamma, dbeta): dx shaped like x, dgamma and dbeta (D,) summed over every position.
    """
    xhat, ivar, gamma = cache
    ### BEGIN SOLUTION
    d = xhat.shape[-1]
    dbeta = dout.reshape(-1, d).sum(dim=0)  # (D,)
    dgamma = (dout * xhat).reshape(-1, d).sum(dim=0)  # (D,)
    dxhat = dout * gamma  # (..., D)
    dx = ivar * (dxhat - dxhat.mean(dim=-1, keepdim=True)
                 - xhat * (dxhat * xhat).mean(dim=-1, keepdim=True))  # (..., D)
    ### END SOLUTION
    return dx, dgamma, dbeta


def feed_forward_forward(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> tuple[Tensor, tuple]:
    """The position-wise feed-forward block, FFN(x) = max(0, x W1^T + b1) W2^T + b2, at every position alike.

    x: (..., E); w1: (F, E); b1: (F,); w2: (E, F); b2: (E,). Returns (out, cache), out: (..., E).
    """
    ### BEGIN SOLUTION
    pre = x @ w1.T + b1  # (..., F)
    hidden = torch.where(pre > 0, pre, torch.zeros_like(pre))  # (..., F) ReLU
    out = hidden @ w2.T + b2  # (..., E)
    ### END SOLUTION
    cache = (x, w1, w2, pre, hidden)
    return out, cache


def feed_forward_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of feed_forward_forward. dout: (..., E).

    Returns (dx, dw1, db1, dw2, db2) shaped like x, w1, b1, w2, b2.
    """
    x, w1, w2, pre, hidden = cache
    ### BEGIN SOLUTION
    e, f = w2.shape
    db2 = dout.reshape(-1, e).sum(dim=0)  # (E,)
    dw2 = dout.reshape(-1, e).T @ hidden.reshape(-1, f)  # (E, F)
    dpre = (dout @ w2) * (pre > 0)  # (..., F) no gradient where the ReLU was off
    db1 = dpre.reshape(-1, f).sum(dim=0)  # (F,)
    dw1 = dpre.reshape(-1, f).T @ x.reshape(-1, e)  # (F, E)
    dx = dpre @ w1  # (..., E)
    ### END SOLUTION
    return dx, dw1, db1, dw2, db2
