"""Radial basis function networks: Gaussian hidden units, centres by k-means, widths by nearest
neighbours, linear output weights by least squares or by the delta rule (Moody and Darken, 1989).

phi_nk = exp(-||x_n - c_k||^2 / (2 sigma_k^2)); the output is phi @ w. Shapes: N inputs,
D features, K centres, C outputs. Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from .competitive import winner

Tensor = torch.Tensor


def rbf_features(x: Tensor, centres: Tensor, widths: Tensor) -> Tensor:
    """Gaussian unit activations phi_nk = exp(-||x_n - c_k||^2 / (2 sigma_k^2)).

    x: (N, D); centres: (K, D); widths: (K,) sigma_k > 0. Returns phi: (N, K).
    """
    ### BEGIN SOLUTION
    d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(dim=2)  # (N, K)
    phi = torch.exp(-d2 / (2.0 * widths[None, :] ** 2))
    ### END SOLUTION
    return phi


def kmeans(x: Tensor, centres: Tensor, iters: int) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means from the given initial centres: ``iters`` rounds of (assign every input
    to its nearest centre, move every centre to the mean of its inputs); a centre that wins no
    input stays where it is. Then the inputs are assigned once more to the final centres.

    x: (N, D); centres: (K, D). Returns (centres, labels): (K, D) and (N,) int64.
    """
    ### BEGIN SOLUTION
    centres = centres.clone()
    k = centres.shape[0]
    for _ in range(iters):
        labels = winner(x, centres)  # (N,)
        onehot = (labels[:, None] == torch.arange(k, device=x.device)[None, :]).to(x.dtype)  # (N, K)
        counts = onehot.sum(dim=0)  # (K,)
        sums = onehot.T @ x  # (K, D)
        won = counts > 0
        centres[won] = sums[won] / counts[won][:, None]
    labels = winner(x, centres)
    ### END SOLUTION
    return centres, labels


def nearest_neighbour_widths(centres: Tensor, p: int = 1) -> Tensor:
    """The p-nearest-neighbour width heuristic: sigma_k is the mean distance from c_k to its p
    nearest other centres.

    centres: (K, D) with K > p. Returns widths: (K,).
    """
    ### BEGIN SOLUTION
    d = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(dim=2).sqrt()  # (K, K)
    d = d + torch.diag(torch.full((centres.shape[0],), float("inf"), dtype=d.dtype, device=d.device))
    widths = d.topk(p, dim=1, largest=False).values.mean(dim=1)  # (K,)
    ### END SOLUTION
    return widths


def rbf_least_squares(phi: Tensor, y: Tensor) -> Tensor:
    """Output weights minimising ||phi w - y||^2 (phi has full column rank, N >= K).

    phi: (N, K) hidden activations; y: (N, C) targets. Returns w: (K, C).
    """
    ### BEGIN SOLUTION
    w = torch.linalg.lstsq(phi, y, driver="gelsd").solution  # (K, C); the SVD driver: the same bits every run
    ### END SOLUTION
    return w


def rbf_delta_epoch(phi: Tensor, y: Tensor, w: Tensor, lr: float) -> Tensor:
    """One epoch of the delta (LMS) rule on the output weights, inputs in order:
    w <- w + lr phi_n^T (y_n - phi_n w).

    phi: (N, K); y: (N, C); w: (K, C). Returns the new weights, (K, C).
    """
    ### BEGIN SOLUTION
    for n in range(phi.shape[0]):
        err = y[n] - phi[n] @ w  # (C,)
        w = w + lr * phi[n][:, None] * err[None, :]  # (K, C)
    ### END SOLUTION
    return w


def rbf_predict(x: Tensor, centres: Tensor, widths: Tensor, w: Tensor) -> Tensor:
    """The network's output phi(x) @ w. x: (N, D). Returns (N, C)."""
    return rbf_features(x, centres, widths) @ w
