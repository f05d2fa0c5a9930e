"""Graph convolution (Kipf and Welling, 2017): the renormalised adjacency and one GCN layer, dense and sparse.

A graph of N nodes is an adjacency matrix A (N, N); each node carries F features (a row of
X (N, F)). One GCN layer mixes every node's transformed features with its neighbours':
out = A_hat X W + b, with the renormalisation trick A_hat = D~^-1/2 (A + I) D~^-1/2, where
D~ is the degree matrix of A + I. The layer here is linear; the network puts a ReLU between layers.
The sparse layer holds A_hat as a ``torch.sparse`` COO matrix built from its nonzeros, so a large
graph costs O(E F) instead of O(N^2 F).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def normalized_adjacency(adj: Tensor) -> Tensor:
    """The renormalised adjacency A_hat = D~^-1/2 (A + I) D~^-1/2, D~_ii = sum_j (A + I)_ij.

    adj: (N, N) symmetric, nonnegative edge weights (1 for an unweighted edge), zero diagonal.
    Returns A_hat (N, N), symmetric; its eigenvalues lie in (-1, 1].
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.normalized_adjacency")
    return a_hat


def gcn_forward(x: Tensor, a_hat: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """One GCN layer, out = A_hat (X W) + b.

    x: (N, F); a_hat: (N, N), any propagation matrix (not necessarily symmetric); w: (F, F'); b: (F',).
    Returns (out, cache), out: (N, F').
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn_forward")
    cache = (x, a_hat, w)
    return out, cache


def gcn_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of gcn_forward.

    dout: (N, F'). Returns (dx, dw, db) of shapes (N, F), (F, F'), (F',).
    """
    x, a_hat, w = cache
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn_backward")
    return dx, dw, db


def gcn_sparse_forward(x: Tensor, indices: Tensor, values: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """One GCN layer with A_hat sparse: out = A_hat (X W) + b, A_hat built with ``torch.sparse_coo_tensor``.

    x: (N, F); indices: (2, E) int64, the (row, column) of each nonzero of A_hat, no pair twice;
    values: (E,), the nonzeros; w: (F, F'); b: (F',). A_hat[i, j] = values[e] for
    (i, j) = indices[:, e]: node i takes values[e] times node j's transformed features.
    Returns (out, cache), out: (N, F'), dense.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn_sparse_forward")
    cache = (x, indices, values, w)
    return out, cache


def gcn_sparse_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Backward pass of gcn_sparse_forward, sparse too: no (N, N) dense matrix.

    dout: (N, F'). Returns (dx, dw, db, dvalues) of shapes (N, F), (F, F'), (F',), (E,):
    dvalues[e] is the gradient of the nonzero A_hat[indices[:, e]].
    """
    x, indices, values, w = cache
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn_sparse_backward")
    return dx, dw, db, dvalues
