"""Competitive learning (Rumelhart and Zipser, 1985): K prototype units compete, only the winner learns.

The prototypes are the rows of ``w`` (K, D); an input x (D,) is won by the unit whose prototype
is nearest. Shapes: N inputs, D features, K units. Every update returns new tensors and leaves
its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def winner(x: Tensor, w: Tensor) -> Tensor:
    """The winning unit for each input: c_n = argmin_j ||x_n - w_j||.

    x: (N, D) inputs; w: (K, D) prototypes. Returns c: (N,) int64.
    """
    ### BEGIN SOLUTION
    d2 = ((x[:, None, :] - w[None, :, :]) ** 2).sum(dim=2)  # (N, K) squared distances
    c = d2.argmin(dim=1)  # (N,)
    ### END SOLUTION
    return c


def competitive_update(x: Tensor, w: Tensor, lr: float) -> Tensor:
    """One winner-take-all step for one input: w_c <- w_c + lr (x - w_c); the losers stay.

    x: (D,) one input; w: (K, D). Returns the new prototypes, (K, D).
    """
    ### BEGIN SOLUTION
    c = int(winner(x[None, :], w)[0])
    w = w.clone()
    w[c] = w[c] + lr * (x - w[c])
    ### END SOLUTION
    return w


def competitive_epoch(x: Tensor, w: Tensor, counts: Tensor, lr: float | None = None) -> tuple[Tensor, Tensor]:
    """Present the inputs once, in order; each one moves its winner.

    With ``lr=None`` the winner's step is 1 / counts_c, counted after this win: every prototype
    is then the running mean of the points it has won (MacQueen's online k-means). With a
    float ``lr`` every step uses it and ``counts`` still counts the wins.

    x: (N, D); w: (K, D); counts: (K,) int64 wins so far. Returns (w, counts), new tensors.
    """
    ### BEGIN SOLUTION
    w, counts = w.clone(), counts.clone()
    for n in range(x.shape[0]):
        c = int(winner(x[n:n + 1], w)[0])
        counts[c] += 1
        eta = 1.0 / float(counts[c]) if lr is None else lr
        w[c] = w[c] + eta * (x[n] - w[c])
    ### END SOLUTION
    return w, counts


def leaky_competitive_update(x: Tensor, w: Tensor, lr_win: float, lr_lose: float) -> Tensor:
    """Leaky learning (Rumelhart and Zipser): the winner moves by lr_win, every loser by the
    smaller lr_lose, so a unit that never wins still drifts towards the data and is revived.

    x: (D,) one input; w: (K, D). Returns the new prototypes, (K, D).
    """
    ### BEGIN SOLUTION
    c = int(winner(x[None, :], w)[0])
    eta = torch.full((w.shape[0], 1), lr_lose, dtype=w.dtype, device=w.device)  # (K, 1)
    eta[c] = lr_win
    w = w + eta * (x[None, :] - w)  # (K, D)
    ### END SOLUTION
    return w


def distortion(x: Tensor, w: Tensor) -> Tensor:
    """Sum of squared distances from each input to its nearest prototype (k-means' inertia).

    x: (N, D); w: (K, D). Returns a 0-d tensor.
    """
    d2 = ((x[:, None, :] - w[None, :, :]) ** 2).sum(dim=2)  # (N, K)
    return d2.min(dim=1).values.sum()
