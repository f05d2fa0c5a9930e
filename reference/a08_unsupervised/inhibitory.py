"""Inhibitory feedback networks: MAXNET's lateral inhibition, the Hamming net, Grossberg's shunting network.

MAXNET (Lippmann, 1987): M units, each inhibiting all others by eps, repeat until one survives.
The Hamming net: a feed-forward layer scores each stored prototype by agreement with a bipolar
input, and a MAXNET picks the best. The shunting on-centre off-surround network (Grossberg)
normalises its input: activities settle at x_i = B I_i / (A + sum_k I_k). Shapes: N patterns,
M units, n bits. Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def maxnet_step(y: Tensor, eps: float) -> Tensor:
    """One step of lateral inhibition: y_j <- relu(y_j - eps * sum_{k != j} y_k).

    y: (N, M) non-negative activations (one row per network); 0 < eps < 1/M. Returns (N, M).
    """
    ### BEGIN SOLUTION
    others = y.sum(dim=1, keepdim=True) - y  # (N, M) total activity of the other units
    y = torch.clamp(y - eps * others, min=0.0)
    ### END SOLUTION
    return y


def maxnet(y: Tensor, eps: float, max_steps: int = 10_000) -> tuple[Tensor, Tensor]:
    """Iterate maxnet_step until every row has at most one positive unit (or max_steps).

    A row that has converged no longer changes, so all rows can be stepped together.
    y: (N, M). Returns (y, steps): the final activations (N, M) and, for each row, the
    number of steps it took to converge, (N,) int64.
    """
    ### BEGIN SOLUTION
    steps = torch.zeros(y.shape[0], dtype=torch.int64, device=y.device)
    for _ in range(max_steps):
        active = (y > 0).sum(dim=1) > 1  # (N,) rows with more than one survivor
        if not bool(active.any()):
            break
        y = maxnet_step(y, eps)
        steps += active.to(torch.int64)
    ### END SOLUTION
    return y, steps


def hamming_net(x: Tensor, prototypes: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Classify bipolar patterns by the stored prototype nearest in Hamming distance.

    The lower layer scores s_nj = (n + x_n . p_j) / 2 = n - hamming(x_n, p_j), the number of
    agreeing bits; a MAXNET with inhibition eps then leaves the best one.
    x: (N, n) in {-1, +1}; prototypes: (M, n) in {-1, +1}. Returns (scores, c): scores (N, M)
    and c (N,) int64, the index of the unit that survives.
    """
    ### BEGIN SOLUTION
    n = x.shape[1]
    scores = (n + x @ prototypes.T) / 2  # (N, M)
    y, _ = maxnet(scores, eps)
    c = y.argmax(dim=1)  # (N,)
    ### END SOLUTION
    return scores, c


def shunting_step(x: Tensor, inputs: Tensor, A: float, B: float, dt: float) -> Tensor:
    """One Euler step of the shunting on-centre off-surround network:

        dx_i/dt = -A x_i + (B - x_i) I_i - x_i sum_{k != i} I_k

    (passive decay, excitation by the unit's own input that shuts off at B, inhibition by
    the others' inputs that shuts off at 0). x, inputs: (N, M), inputs >= 0. Returns (N, M).
    """
    ### BEGIN SOLUTION
    others = inputs.sum(dim=1, keepdim=True) - inputs  # (N, M)
    dx = -A * x + (B - x) * inputs - x * others
    x = x + dt * dx
    ### END SOLUTION
    return x


def shunting_equilibrium(inputs: Tensor, A: float, B: float) -> Tensor:
    """The steady state of the shunting network: x_i = B I_i / (A + sum_k I_k).

    inputs: (N, M), >= 0. Returns (N, M).
    """
    ### BEGIN SOLUTION
    x = B * inputs / (A + inputs.sum(dim=1, keepdim=True))  # (N, M)
    ### END SOLUTION
    return x
