"""Recursive neural networks (Socher et al.): one composition applied over a binary tree, a classifier
at every node, and backpropagation through structure.

A tree (or a forest of trees, batched) travels as tensors:

- ``leaves`` (L, D): the leaves' vectors, nodes 0 .. L-1;
- ``children`` (M, 2) int64: row k holds the (left, right) children of internal node L + k. Rows are in
  post-order: each child index is below L + k (a leaf, or an internal node built earlier), and every
  node is the child of at most one internal node. The last row of each tree is its root.

Every internal node is p = tanh(w [c_left; c_right] + b) with ``w`` (D, 2D) and ``b`` (D,): in rows,
p = cat(c_left, c_right) w^T + b through tanh. ``nodes`` (L + M, D) holds every node's vector, leaves first.
"""
from __future__ import annotations

import torch

from .rnn import softmax_loss

Tensor = torch.Tensor


def _levels(children: Tensor, leaves: int) -> list[Tensor]:
    """Internal nodes (as row indices k of ``children``) grouped by height, lowest first: a node's
    children always sit at lower heights, so each group depends only on the groups before it."""
    height = [0] * leaves
    for left, right in children.tolist():
        height.append(1 + max(height[left], height[right]))
    internal = torch.tensor(height[leaves:], dtype=torch.int64)  # (M,)
    return [torch.nonzero(internal == level)[:, 0].to(children.device) for level in range(1, int(internal.max()) + 1)] \
        if len(internal) else []


def tree_forward(leaves: Tensor, children: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """Every node of the tree, bottom up: p = tanh(cat(c_left, c_right) w^T + b) for each internal node.

    leaves: (L, D); children: (M, 2) int64 in post-order (see the module's docstring); w: (D, 2D); b: (D,).
    Returns (nodes, cache): nodes (L + M, D), rows 0 .. L-1 the leaves, row L + k internal node k.
    """
    ### BEGIN SOLUTION
    n_leaves = leaves.shape[0]
    nodes = torch.cat([leaves, leaves.new_zeros(children.shape[0], leaves.shape[1])])  # (L+M, D)
    levels = _levels(children, n_leaves)
    for ks in levels:  # all nodes of one height at once
        pair = torch.cat([nodes[children[ks, 0]], nodes[children[ks, 1]]], dim=1)  # (K, 2D)
        nodes[n_leaves + ks] = torch.tanh(pair @ w.T + b)  # (K, D)
    cache = (nodes, children, w, levels)
    ### END SOLUTION
    return nodes, cache


def tree_backward(dnodes: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backpropagation through structure: top down, each node's gradient is its own ``dnodes`` row plus
    what its parent sends back through the composition.

    dnodes: (L + M, D), the loss's gradient with respect to every node's vector.
    Returns (dleaves, dw, db): (L, D), (D, 2D), (D,).
    """
    ### BEGIN SOLUTION
    nodes, children, w, levels = cache
    n_leaves = nodes.shape[0] - children.shape[0]
    d = w.shape[0]
    grad = dnodes.clone()  # (L+M, D): complete for a node once every node above it is done
    dw, db = torch.zeros_like(w), w.new_zeros(d)
    for ks in reversed(levels):
        p = nodes[n_leaves + ks]  # (K, D)
        da = grad[n_leaves + ks] * (1.0 - p * p)  # (K, D) through tanh
        left, right = children[ks, 0], children[ks, 1]
        pair = torch.cat([nodes[left], nodes[right]], dim=1)  # (K, 2D)
        dw += da.T @ pair  # (D, 2D)
        db += da.sum(dim=0)
        dpair = da @ w  # (K, 2D)
        grad.index_add_(0, left, dpair[:, :d])
        grad.index_add_(0, right, dpair[:, d:])
    dleaves = grad[:n_leaves]  # (L, D)
    ### END SOLUTION
    return dleaves, dw, db


def tree_node_loss(nodes: Tensor, w: Tensor, b: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A softmax classifier at every node (Socher et al.'s node labels), cross-entropy averaged over nodes.

    nodes: (L + M, D); w: (C, D); b: (C,); labels: (L + M,) int64 in [0, C).
    loss = mean_j CE(nodes[j] w^T + b, labels[j]). Returns (loss, dnodes, dw, db): a scalar, (L + M, D),
    (C, D), (C,).
    """
    ### BEGIN SOLUTION
    count = nodes.shape[0]
    loss, dscores = softmax_loss(nodes @ w.T + b, labels, nodes.new_full((count,), 1.0 / count))  # (L+M, C)
    dnodes = dscores @ w  # (L+M, D)
    dw = dscores.T @ nodes  # (C, D)
    db = dscores.sum(dim=0)  # (C,)
    ### END SOLUTION
    return loss, dnodes, dw, db
