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
    # YOUR CODE HERE
    raise NotImplementedError("a06.hopfield_store")
    return w


def hopfield_energy(w: Tensor, s: Tensor, theta: Tensor) -> Tensor:
    """Hopfield's energy of each state: E(s) = -1/2 s^T W s + theta^T s.

    w: (U, U) symmetric, zero diagonal; s: (N, U); theta: (U,) thresholds. Returns E: (N,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.hopfield_energy")
    return e


def hopfield_async(w: Tensor, s: Tensor, theta: Tensor, order: Tensor) -> Tensor:
    """Asynchronous update: the units in ``order``, one after another, each from the latest state.

    w: (U, U); s: (N, U) of +1/-1; theta: (U,); order: (T,) int64 unit indices (a sweep is a
    permutation of all U units; units may repeat). Returns the new states, (N, U).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.hopfield_async")
    return s


def hopfield_sync(w: Tensor, s: Tensor, theta: Tensor) -> Tensor:
    """Synchronous (Little) update: every unit at once, from the same old state.

    w: (U, U); s: (N, U) of +1/-1; theta: (U,). Returns the new states, (N, U).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.hopfield_sync")
    return s


def hopfield_recall(w: Tensor, s: Tensor, theta: Tensor, order: Tensor, max_sweeps: int) -> tuple[Tensor, Tensor]:
    """Recall: asynchronous sweeps in ``order`` until a sweep changes no state, or ``max_sweeps`` sweeps.

    The states are swept together; a state at a fixed point no longer changes. ``sweeps`` counts,
    for each state, the sweeps that changed it. w: (U, U); s: (N, U); theta: (U,); order: (T,) int64.
    Returns (s, sweeps): the final states (N, U) and (N,) int64.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.hopfield_recall")
    return s, sweeps


def flip(s: Tensor, fraction: float, g: torch.Generator) -> Tensor:
    """``s`` (N, U) with round(fraction * U) distinct units of each row flipped: a noisy probe."""
    n, u = s.shape
    idx = torch.rand(n, u, generator=g).argsort(dim=1)[:, :round(fraction * u)]  # (N, flips)
    out = s.clone()
    out.scatter_(1, idx, -out.gather(1, idx))
    return out
