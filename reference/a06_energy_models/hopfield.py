"""The binary Hopfield network (Hopfield, 1982): Hebbian storage, its energy, asynchronous and synchronous
updates, and recall to a fixed point.

States are +1/-1. Unit j's local field is h_j = sum_i W[j, i] s_i - theta_j; it becomes +1 if h_j > 0,
-1 if h_j < 0, and keeps its state if h_j == 0. Shapes: P patterns, U units, N states updated together
(one per row). Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def hopfield_store(patterns: Tensor) -> Tensor:
    """Hebbian storage: W = (1/U) sum_mu xi_mu xi_mu^T, with a zero diagonal (no self-connections).

    patterns: (P, U) of +1/-1. Returns W: (U, U), symmetric.
    """
    ### BEGIN SOLUTION
    u = patterns.shape[1]
    w = patterns.T @ patterns / u  # (U, U) sum of outer products
    w = w - torch.diag(torch.diagonal(w))  # a self-connection would let a unit hold any state
    ### END SOLUTION
    return w


def hopfield_energy(w: Tensor, s: Tensor, theta: Tensor) -> Tensor:
    """Hopfield's energy of each state: E(s) = -1/2 s^T W s + theta^T s.

    w: (U, U) symmetric, zero diagonal; s: (N, U); theta: (U,) thresholds. Returns E: (N,).
    """
    ### BEGIN SOLUTION
    e = -0.5 * ((s @ w) * s).sum(dim=1) + s @ theta  # (N,)
    ### END SOLUTION
    return e


def hopfield_async(w: Tensor, s: Tensor, theta: Tensor, order: Tensor) -> Tensor:
    """Asynchronous update: the units in ``order``, one after another, each from the latest state.

    w: (U, U); s: (N, U) of +1/-1; theta: (U,); order: (T,) int64 unit indices (a sweep is a
    permutation of all U units; units may repeat). Returns the new states, (N, U).
    """
    ### BEGIN SOLUTION
    s = s.clone()
    for j in order.tolist():
        h = s @ w[j] - theta[j]  # (N,) local field of unit j
        s[:, j] = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s[:, j]))
    ### END SOLUTION
    return s


def hopfield_sync(w: Tensor, s: Tensor, theta: Tensor) -> Tensor:
    """Synchronous (Little) update: every unit at once, from the same old state.

    w: (U, U); s: (N, U) of +1/-1; theta: (U,). Returns the new states, (N, U).
    """
    ### BEGIN SOLUTION
    h = s @ w.T - theta  # (N, U) local fields
    s = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s))
    ### END SOLUTION
    return s


def hopfield_recall(w: Tensor, s: Tensor, theta: Tensor, order: Tensor, max_sweeps: int) -> tuple[Tensor, Tensor]:
    """Recall: asynchronous sweeps in ``order`` until a sweep changes no state, or ``max_sweeps`` sweeps.

    The states are swept together; a state at a fixed point no longer changes. ``sweeps`` counts,
    for each state, the sweeps that changed it. w: (U, U); s: (N, U); theta: (U,); order: (T,) int64.
    Returns (s, sweeps): the final states (N, U) and (N,) int64.
    """
    ### BEGIN SOLUTION
    sweeps = torch.zeros(s.shape[0], dtype=torch.int64, device=s.device)
    for _ in range(max_sweeps):
        new = hopfield_async(w, s, theta, order)
        changed = (new != s).any(dim=1)  # (N,)
        if not bool(changed.any()):
            break
        sweeps += changed.to(torch.int64)
        s = new
    ### END SOLUTION
    return s, sweeps


def flip(s: Tensor, fraction: float, g: torch.Generator) -> Tensor:
    """``s`` (N, U) with round(fraction * U) distinct units of each row flipped: a noisy probe."""
    n, u = s.shape
    idx = torch.rand(n, u, generator=g).argsort(dim=1)[:, :round(fraction * u)]  # (N, flips)
    out = s.clone()
    out.scatter_(1, idx, -out.gather(1, idx))
    return out
