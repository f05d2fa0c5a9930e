"""The binary restricted Boltzmann machine: conditionals, sampling, free energy, CD-k and persistent CD.

Energy E(v, h) = -a.v - b.h - v^T W h over binary visible units v (D,) and hidden units h (H,).
Both conditionals factorise: p(h_j = 1 | v) = sigmoid(b_j + v.W[:, j]) and
p(v_i = 1 | h) = sigmoid(a_i + W[i, :].h). Randomness is an input: a unit is sampled on by uniform
noise u in [0, 1) as (u < p). Shapes: N examples (rows), D visible, H hidden units, k Gibbs steps.
Every function returns new tensors and leaves its inputs unchanged.

The learning rule follows Hinton's practical guide (2010): the hidden states that drive the chain are
sampled, but the statistics <v h> use the hidden probabilities p(h | v), which lowers their noise without
changing their expectation. The visible states of the chain are sampled too, so the chain is a true
Gibbs chain, as in persistent CD.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)) without overflow for any sign."""
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def rbm_p_h_given_v(v: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """p(h_j = 1 | v) = sigmoid(b_j + sum_i v_i W_ij).

    v: (N, D) in [0, 1]; w: (D, H); b: (H,). Returns (N, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_p_h_given_v")
    return p


def rbm_p_v_given_h(h: Tensor, w: Tensor, a: Tensor) -> Tensor:
    """p(v_i = 1 | h) = sigmoid(a_i + sum_j W_ij h_j).

    h: (N, H) in [0, 1]; w: (D, H); a: (D,). Returns (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_p_v_given_h")
    return p


def rbm_sample(p: Tensor, noise: Tensor) -> Tensor:
    """Binary states with P(on) = p, from the uniform noise: 1.0 where noise < p, else 0.0.

    p: any shape, probabilities; noise: the same shape, uniform on [0, 1). Returns p's shape and dtype.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_sample")
    return s


def rbm_free_energy(v: Tensor, w: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """F(v) = -log sum_h exp(-E(v, h)) = -a.v - sum_j softplus(b_j + v.W[:, j]).

    v: (N, D); w: (D, H); a: (D,); b: (H,). Returns (N,). Stable for net inputs of any size.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_free_energy")
    return f


def rbm_cd_k(v0: Tensor, w: Tensor, a: Tensor, b: Tensor, noise_h: Tensor, noise_v: Tensor
             ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The CD-k estimate of the log-likelihood gradient (an ascent direction) on a batch.

    The chain starts at the data: for t = 0..k-1, h_t = sample(p(h | v_t), noise_h[t]) and
    v_{t+1} = sample(p(v | h_t), noise_v[t]). The statistics use the hidden probabilities:
    dW = (v0^T p(h | v0) - vk^T p(h | vk)) / N, da = mean(v0 - vk), db = mean(p(h | v0) - p(h | vk)).

    v0: (N, D) data in [0, 1]; w: (D, H); a: (D,); b: (H,); noise_h: (k, N, H); noise_v: (k, N, D).
    Returns (dw (D, H), da (D,), db (H,), vk (N, D)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_cd_k")
    return dw, da, db, v


def rbm_pcd(v0: Tensor, chains: Tensor, w: Tensor, a: Tensor, b: Tensor, noise_h: Tensor, noise_v: Tensor
            ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Persistent CD (Tieleman, 2008): the negative statistics come from M fantasy chains that carry
    on from where the last update left them, not from the data.

    The positive statistics are v0^T p(h | v0) / N. The chains take k Gibbs steps as in
    :func:`rbm_cd_k` (h sampled with noise_h[t], then v with noise_v[t]); the negative statistics are
    c^T p(h | c) / M at their new states c. Returns the same gradient as rbm_cd_k, and the chains.

    v0: (N, D); chains: (M, D) binary; w: (D, H); a: (D,); b: (H,); noise_h: (k, M, H); noise_v: (k, M, D).
    Returns (dw (D, H), da (D,), db (H,), chains (M, D)).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a06.rbm_pcd")
    return dw, da, db, c
