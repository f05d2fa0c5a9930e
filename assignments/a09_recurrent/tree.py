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
    # YOUR CODE HERE
    raise NotImplementedError("a09.tree_forward")
    return nodes, cache


def tree_backward(dnodes: Tensor, cache: tuple) -> tuple[Tensor, Tensor, Tensor]:
    """Backpropagation through structure: top down, each node's gradient is its own ``dnodes`` row plus
    what its parent sends back through the composition.

    dnodes: (L + M, D), the loss's gradient with respect to every node's vector.
    Returns (dleaves, dw, db): (L, D), (D, 2D), (D,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.tree_backward")
    return dleaves, dw, db


def tree_node_loss(nodes: Tensor, w: Tensor, b: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A softmax classifier at every node (Socher et al.'s node labels), cross-entropy averaged over nodes.

    nodes: (L + M, D); w: (C, D); b: (C,); labels: (L + M,) int64 in [0, C).
    loss = mean_j CE(nodes[j] w^T + b, labels[j]). Returns (loss, dnodes, dw, db): a scalar, (L + M, D),
    (C, D), (C,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.tree_node_loss")
    return loss, dnodes, dw, db
