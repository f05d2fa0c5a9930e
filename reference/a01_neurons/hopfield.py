"""A binary Hopfield network: Hebbian storage and the asynchronous update, the dedicated
implementation the generic network of generic.py is compared with (a06 builds on it).

States are +1/-1. Shapes: P patterns, U units, N states updated together.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def hopfield_weights(patterns: Tensor) -> Tensor:
    """Hebbian (outer-product) storage: W = patterns^T patterns / U, with a zero diagonal.

    patterns: (P, U) of +1/-1. Returns W: (U, U), symmetric, no self-connections.
    """
    ### BEGIN SOLUTION
    u = patterns.shape[1]
    w = patterns.T @ patterns / u  # (U, U)
    w = w - torch.diag(torch.diagonal(w))  # no unit connects to itself
    ### END SOLUTION
    return w


def hopfield_update(w: Tensor, s: Tensor, order: Tensor) -> Tensor:
    """Asynchronous update: units in ``order``, one after another, each from the latest state.

    Unit j takes h_j = sum_i W[j, i] s_i and becomes +1 if h_j > 0, -1 if h_j < 0, and keeps
    its state if h_j == 0. w: (U, U); s: (N, U) of +1/-1; order: (M,) int64 unit indices.
    Returns the new states (N, U); s itself is left unchanged.
    """
    ### BEGIN SOLUTION
    s = s.clone()
    for j in order.tolist():
        h = s @ w[j]  # (N,)
        s[:, j] = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s[:, j])).to(s.dtype)
    ### END SOLUTION
    return s


def energy(w: Tensor, s: Tensor) -> Tensor:
    """Hopfield's energy E = -1/2 s^T W s of each state. s: (N, U). Returns (N,)."""
    return -0.5 * ((s @ w) * s).sum(-1)
