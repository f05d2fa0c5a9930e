"""The binary restricted Boltzmann machine a deep belief network is stacked from, trained by CD-1.

Visible units v (D of them, binary or probabilities in [0, 1]) and hidden units h (H) interact
through W (D, H), with visible biases b (D,) and hidden biases c (H,):
p(h_j = 1 | v) = sigmoid(c_j + v . W[:, j]) and p(v_i = 1 | h) = sigmoid(b_i + W[i, :] . h).
Sampling takes its uniform noise from the caller, so every result is deterministic.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def hidden_probs(v: Tensor, W: Tensor, c: Tensor) -> Tensor:
    """p(h = 1 | v) = sigmoid(v W + c). v: (N, D); W: (D, H); c: (H,). Returns (N, H)."""
    return torch.sigmoid(v @ W + c)


def visible_probs(h: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """p(v = 1 | h) = sigmoid(h W^T + b). h: (N, H); W: (D, H); b: (D,). Returns (N, D)."""
    return torch.sigmoid(h @ W.T + b)


def rbm_cd1(v: Tensor, W: Tensor, b: Tensor, c: Tensor, noise: Tensor,
            lr: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One step of contrastive divergence (CD-1) on a batch, as in Hinton's practical guide:

    p0 = p(h | v); h0 = 1 where noise < p0, else 0 (a binary sample drives the chain);
    v1 = p(v | h0) (the reconstruction's probabilities); p1 = p(h | v1).
    W += lr (v^T p0 - v1^T p1) / N, b += lr mean(v - v1), c += lr mean(p0 - p1): probabilities,
    not samples, in the statistics.

    v: (N, D); W: (D, H); b: (D,); c: (H,); noise: (N, H) uniform in [0, 1).
    Returns (W, b, c, error): the new parameters and the reconstruction error sum((v - v1)^2) / N (0-d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.rbm_cd1")
    return W, b, c, error
