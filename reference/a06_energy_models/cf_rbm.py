"""The collaborative-filtering RBM (Salakhutdinov, Mnih and Hinton, 2007): one RBM per user, weights
shared across users, a K-way softmax visible unit for each item the user rated.

A user's ratings are V (M, K): row i is the one-hot code of item i's rating (1..K as columns 0..K-1),
and ``mask`` (M,) says which items the user rated. Items the user did not rate are not part of
that user's RBM: whatever their rows of V hold, they add nothing to the hidden units and no
statistics. Weights W (M, K, F) join rating k of item i to hidden unit j; a (M, K) and b (F,) are the
biases. Shapes: N users (rows), M items, K ratings, F hidden units. Randomness is an input (uniform
noise). Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from .rbm import rbm_sample, sigmoid

Tensor = torch.Tensor


def cf_p_h_given_v(v: Tensor, mask: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """p(h_j = 1 | V) = sigmoid(b_j + sum over rated items i, ratings k of V_ik W_ikj).

    v: (N, M, K) one-hot rows; mask: (N, M) bool, the rated items; w: (M, K, F); b: (F,). Returns (N, F).
    """
    ### BEGIN SOLUTION
    rated = v * mask[:, :, None].to(v.dtype)  # (N, M, K) unrated items removed
    x = rated.reshape(v.shape[0], -1) @ w.reshape(-1, w.shape[2]) + b  # (N, F)
    p = sigmoid(x)
    ### END SOLUTION
    return p


def cf_p_v_given_h(h: Tensor, w: Tensor, a: Tensor) -> Tensor:
    """p(v_ik = 1 | h) = exp(a_ik + sum_j h_j W_ikj) / sum_l exp(a_il + sum_j h_j W_ilj), for every item.

    h: (N, F); w: (M, K, F); a: (M, K). Returns (N, M, K); each (n, i) row sums to 1.
    """
    ### BEGIN SOLUTION
    x = torch.einsum("nf,mkf->nmk", h, w) + a  # (N, M, K)
    x = x - x.amax(dim=2, keepdim=True)  # stabilise exp
    e = torch.exp(x)
    p = e / e.sum(dim=2, keepdim=True)
    ### END SOLUTION
    return p


def cf_sample(p: Tensor, noise: Tensor) -> Tensor:
    """One rating per softmax unit, from uniform noise by inverting the cumulative distribution.

    With c_k = p_1 + ... + p_k, the rating is the first k with noise < c_k (the last rating when
    rounding leaves noise >= c_K). p: (N, M, K); noise: (N, M) uniform on [0, 1). Returns the
    one-hot ratings, (N, M, K), p's dtype.
    """
    ### BEGIN SOLUTION
    c = torch.cumsum(p, dim=2)  # (N, M, K)
    k = (c[:, :, :-1] <= noise[:, :, None]).sum(dim=2)  # (N, M) ratings passed over
    s = (torch.arange(p.shape[2], device=p.device) == k[:, :, None]).to(p.dtype)  # (N, M, K)
    ### END SOLUTION
    return s


def cf_cd1(v0: Tensor, mask: Tensor, w: Tensor, a: Tensor, b: Tensor, noise_h: Tensor, noise_v: Tensor
           ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """CD-1 for the CF-RBM: h0 = sample(p(h | V0), noise_h), V1 = cf_sample(p(v | h0), noise_v); the
    statistics use the hidden probabilities and the rated items only:
    dW_ikj = sum_n mask_ni (V0_nik p(h_j | V0_n) - V1_nik p(h_j | V1_n)) / N,
    da_ik = sum_n mask_ni (V0_nik - V1_nik) / N, db = mean(p(h | V0) - p(h | V1)).

    v0: (N, M, K); mask: (N, M) bool; w: (M, K, F); a: (M, K); b: (F,); noise_h: (N, F); noise_v: (N, M).
    Returns (dw (M, K, F), da (M, K), db (F,), v1 (N, M, K)): v1 holds a reconstruction for every item.
    """
    ### BEGIN SOLUTION
    n = v0.shape[0]
    m = mask[:, :, None].to(v0.dtype)  # (N, M, 1)
    ph0 = cf_p_h_given_v(v0, mask, w, b)  # (N, F)
    h0 = rbm_sample(ph0, noise_h)
    v1 = cf_sample(cf_p_v_given_h(h0, w, a), noise_v)  # (N, M, K)
    ph1 = cf_p_h_given_v(v1, mask, w, b)  # (N, F)
    dw = (torch.einsum("nmk,nf->mkf", v0 * m, ph0) - torch.einsum("nmk,nf->mkf", v1 * m, ph1)) / n
    da = ((v0 - v1) * m).sum(dim=0) / n  # (M, K)
    db = (ph0 - ph1).mean(dim=0)  # (F,)
    ### END SOLUTION
    return dw, da, db, v1


def cf_predict(v: Tensor, mask: Tensor, w: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Predicted ratings: the expected rating sum_k k p(v_ik = 1 | p_hat), p_hat = p(h | V) (one
    mean-field pass, as in the paper), for every item (ratings 1..K).

    v: (N, M, K); mask: (N, M) bool; w: (M, K, F); a: (M, K); b: (F,). Returns (N, M).
    """
    ### BEGIN SOLUTION
    p = cf_p_v_given_h(cf_p_h_given_v(v, mask, w, b), w, a)  # (N, M, K)
    ratings = torch.arange(1, p.shape[2] + 1, dtype=p.dtype, device=p.device)  # (K,) 1..K
    r = p @ ratings  # (N, M)
    ### END SOLUTION
    return r


def one_hot_ratings(r: Tensor, k: int) -> Tensor:
    """Ratings r (N, M) int64 in 1..k (0 where unrated) as one-hot rows (N, M, k); unrated rows are 0."""
    return (r[:, :, None] == torch.arange(1, k + 1, device=r.device)).to(torch.float64)
