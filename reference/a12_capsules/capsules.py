"""Capsule layers of Sabour, Frosst and Hinton (2017), each a ``forward -> (out, cache)`` / ``backward(dout, cache)`` pair.

The squash nonlinearity, PrimaryCaps (a convolution whose channels are read as capsules),
the prediction vectors u_hat_{j|i} = W_ij u_i of DigitCaps, and routing by agreement.
Shapes: N examples, I child capsules, J parent capsules, capsule sizes D_in (children) and
D (parents); a capsule is a vector along the last axis.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def squash_forward(s: Tensor) -> tuple[Tensor, tuple]:
    """The squash nonlinearity (the paper's equation 1), along the last axis:

    v = |s|^2 / (1 + |s|^2) * s / |s|,

    so v points like s and 0 <= |v| < 1: short vectors shrink to almost nothing, long ones to
    just under 1. Every graded input has |s| > 0 (well away from it).
    s: (..., D). Returns (v, cache), v: (..., D).
    """
    ### BEGIN SOLUTION
    n2 = (s * s).sum(dim=-1, keepdim=True)  # (..., 1) squared length
    n = n2.sqrt()
    v = (n2 / (1.0 + n2)) * (s / n)  # (..., D)
    cache = (s, n)
    ### END SOLUTION
    return v, cache


def squash_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of squash_forward.

    With n = |s| and f(n) = n / (1 + n^2), v = f(n) s, so dv/ds = f(n) I + f'(n) s s^T / n.
    dout: (..., D). Returns ds: (..., D).
    """
    ### BEGIN SOLUTION
    s, n = cache
    f = n / (1.0 + n * n)  # (..., 1)
    df = (1.0 - n * n) / (1.0 + n * n) ** 2  # (..., 1) f'(n)
    ds = f * dout + (df / n) * (s * dout).sum(dim=-1, keepdim=True) * s
    ### END SOLUTION
    return ds


def im2col(x: Tensor, kernel: int, stride: int) -> Tensor:
    """The kernel x kernel patches of x (no padding), one column per output position, rows ordered
    (channel, kernel row, kernel column): x (N, C, H, W) -> (N, C * kernel * kernel, H' * W')."""
    return F.unfold(x, kernel, stride=stride)


def col2im(cols: Tensor, size: tuple[int, int], kernel: int, stride: int) -> Tensor:
    """The adjoint of im2col: each column added back to where its patch came from (overlaps summed).
    cols (N, C * kernel * kernel, H' * W') -> (N, C, H, W) with (H, W) = size."""
    return F.fold(cols, size, kernel, stride=stride)


def primary_caps_forward(x: Tensor, w: Tensor, b: Tensor, caps_dim: int = 8,
                         stride: int = 2) -> tuple[Tensor, tuple]:
    """PrimaryCaps: a convolution (no padding) whose F = T * caps_dim output channels are read as
    T capsule types of caps_dim components each, one capsule per type and position, then squashed.

    Output channel t * caps_dim + d is component d of capsule type t (the paper's 256 channels are
    32 types of 8-D capsules). Capsules are ordered type, then row, then column: capsule
    (t * H' + y) * W' + x is type t at position (y, x).
    x: (N, C, H, W); w: (F, C, K, K); b: (F,). Returns (u, cache),
    u: (N, T * H' * W', caps_dim) with H' = (H - K) // stride + 1, likewise W'.
    Use im2col (given) for the convolution and squash_forward for the capsules.
    """
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    ho, wo = (h - k) // stride + 1, (wd - k) // stride + 1
    cols = im2col(x, k, stride)  # (N, C*K*K, H'*W')
    conv = w.reshape(f, -1) @ cols + b[:, None]  # (N, F, H'*W')
    t = f // caps_dim
    s = conv.reshape(n, t, caps_dim, ho * wo).transpose(2, 3).reshape(n, t * ho * wo, caps_dim)  # (N, T*H'*W', D)
    u, squash_cache = squash_forward(s)
    cache = (x, w, cols, caps_dim, stride, squash_cache)
    ### END SOLUTION
    return u, cache


def primary_caps_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of primary_caps_forward.

    dout: (N, T * H' * W', caps_dim). Returns (dx, dw, db) shaped like x, w and b.
    Use col2im (given) and squash_backward.
    """
    ### BEGIN SOLUTION
    x, w, cols, caps_dim, stride, squash_cache = cache
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    ds = squash_backward(dout, squash_cache)  # (N, T*H'*W', D)
    t = f // caps_dim
    dconv = ds.reshape(n, t, -1, caps_dim).transpose(2, 3).reshape(n, f, -1)  # (N, F, H'*W')
    db = dconv.sum(dim=(0, 2))  # (F,)
    dw = torch.einsum("nfl,nkl->fk", dconv, cols).reshape(w.shape)  # (F, C, K, K)
    dcols = w.reshape(f, -1).T @ dconv  # (N, C*K*K, H'*W')
    dx = col2im(dcols, (h, wd), k, stride)  # (N, C, H, W)
    ### END SOLUTION
    return dx, dw, db


def predictions_forward(u: Tensor, W: Tensor) -> tuple[Tensor, tuple]:
    """Prediction vectors of DigitCaps: u_hat_{j|i} = W_ij u_i, one matrix per (child, parent) pair.

    u: (N, I, D_in); W: (I, J, D, D_in). Returns (u_hat, cache), u_hat: (N, I, J, D).
    """
    ### BEGIN SOLUTION
    u_hat = torch.einsum("ijdk,nik->nijd", W, u)  # (N, I, J, D)
    cache = (u, W)
    ### END SOLUTION
    return u_hat, cache


def predictions_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor]:
    """Backward pass of predictions_forward.

    dout: (N, I, J, D). Returns (du, dW) of shapes (N, I, D_in) and (I, J, D, D_in).
    """
    ### BEGIN SOLUTION
    u, W = cache
    du = torch.einsum("nijd,ijdk->nik", dout, W)  # (N, I, D_in)
    dW = torch.einsum("nijd,nik->ijdk", dout, u)  # (I, J, D, D_in)
    ### END SOLUTION
    return du, dW


def routing_forward(u_hat: Tensor, iterations: int = 3) -> tuple[Tensor, tuple]:
    """Routing by agreement (the paper's Procedure 1), starting from logits b = 0:

        repeat ``iterations`` times:
            c_ij = exp(b_ij) / sum_k exp(b_ik)       softmax over the parents j of each child i
            s_j  = sum_i c_ij u_hat_{j|i}
            v_j  = squash(s_j)
            b_ij = b_ij + u_hat_{j|i} . v_j          (after the last iteration it is not needed)

    The logits are a function of u_hat, and routing_backward differentiates through all of it:
    the variant graded is the full one, gradients through u_hat in every iteration (through
    s_j and through every agreement), as autograd of this loop computes them; no iteration is
    detached.
    u_hat: (N, I, J, D). Returns (v, cache), v: (N, J, D), the parents after the last iteration.
    Use squash_forward.
    """
    ### BEGIN SOLUTION
    n, i, j, d = u_hat.shape
    b = torch.zeros(n, i, j, dtype=u_hat.dtype, device=u_hat.device)  # (N, I, J) routing logits
    steps = []
    for r in range(iterations):
        e = torch.exp(b - b.amax(dim=2, keepdim=True))  # stabilise exp
        c = e / e.sum(dim=2, keepdim=True)  # (N, I, J): each child's coupling sums to 1 over parents
        s = torch.einsum("nij,nijd->njd", c, u_hat)  # (N, J, D)
        v, squash_cache = squash_forward(s)
        steps.append((c, v, squash_cache))
        if r < iterations - 1:
            b = b + torch.einsum("nijd,njd->nij", u_hat, v)  # agreement
    cache = (u_hat, steps)
    ### END SOLUTION
    return v, cache


def routing_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of routing_forward through every unrolled iteration (the full variant: the
    gradient reaches u_hat through each s_j and through each agreement u_hat_{j|i} . v_j).

    dout: (N, J, D). Returns du_hat: (N, I, J, D). Use squash_backward.
    """
    ### BEGIN SOLUTION
    u_hat, steps = cache
    du_hat = torch.zeros_like(u_hat)
    db = torch.zeros_like(steps[0][0])  # (N, I, J) gradient of the logits after the current iteration
    for r in reversed(range(len(steps))):
        c, v, squash_cache = steps[r]
        dv = dout if r == len(steps) - 1 else torch.einsum("nij,nijd->njd", db, u_hat)  # (N, J, D)
        if r < len(steps) - 1:
            du_hat += db[..., None] * v[:, None]  # through the agreement b += u_hat . v
        ds = squash_backward(dv, squash_cache)  # (N, J, D)
        du_hat += c[..., None] * ds[:, None]  # through s_j = sum_i c_ij u_hat_{j|i}
        dc = torch.einsum("njd,nijd->nij", ds, u_hat)  # (N, I, J)
        db = db + c * (dc - (c * dc).sum(dim=2, keepdim=True))  # softmax backward; b carries on
    ### END SOLUTION
    return du_hat
