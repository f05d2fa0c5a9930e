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
    # YOUR CODE HERE
    raise NotImplementedError("a12.squash_forward")
    return v, cache


def squash_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of squash_forward.

    With n = |s| and f(n) = n / (1 + n^2), v = f(n) s, so dv/ds = f(n) I + f'(n) s s^T / n.
    dout: (..., D). Returns ds: (..., D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.squash_backward")
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
    # YOUR CODE HERE
    raise NotImplementedError("a12.primary_caps_forward")
    return u, cache


def primary_caps_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of primary_caps_forward.

    dout: (N, T * H' * W', caps_dim). Returns (dx, dw, db) shaped like x, w and b.
    Use col2im (given) and squash_backward.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.primary_caps_backward")
    return dx, dw, db


def predictions_forward(u: Tensor, W: Tensor) -> tuple[Tensor, tuple]:
    """Prediction vectors of DigitCaps: u_hat_{j|i} = W_ij u_i, one matrix per (child, parent) pair.

    u: (N, I, D_in); W: (I, J, D, D_in). Returns (u_hat, cache), u_hat: (N, I, J, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.predictions_forward")
    return u_hat, cache


def predictions_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor]:
    """Backward pass of predictions_forward.

    dout: (N, I, J, D). Returns (du, dW) of shapes (N, I, D_in) and (I, J, D, D_in).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.predictions_backward")
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
    # YOUR CODE HERE
    raise NotImplementedError("a12.routing_forward")
    return v, cache


def routing_backward(dout: Tensor, cache: tuple) -> Tensor:
    """Backward pass of routing_forward through every unrolled iteration (the full variant: the
    gradient reaches u_hat through each s_j and through each agreement u_hat_{j|i} . v_j).

    dout: (N, J, D). Returns du_hat: (N, I, J, D). Use squash_backward.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.routing_backward")
    return du_hat
