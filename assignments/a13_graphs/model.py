"""A two-layer GCN for semi-supervised node classification (Kipf and Welling, 2017), trained by hand.

scores = A_hat ReLU(A_hat X W1 + b1) W2 + b2: each node's class scores; the loss is the softmax
cross-entropy over the labelled nodes only, plus the paper's weight decay on the first layer,
reg / 2 * sum(W1^2). Every node's scores depend on its two-hop neighbourhood, so the labels of
a few nodes spread through the graph. ``relu`` and ``softmax_cross_entropy`` are given.
"""
from __future__ import annotations

import torch

from .gcn import gcn_backward, gcn_forward

Tensor = torch.Tensor
Params = list[tuple[Tensor, Tensor]]


def relu(x: Tensor) -> Tensor:
    return x.clamp(min=0.0)


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of softmax(scores) against labels. scores: (M, C); y: (M,) int64.
    Returns (loss, dscores), loss a 0-d tensor, dscores (M, C)."""
    shifted = scores - scores.amax(dim=1, keepdim=True)  # stabilise exp
    log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (M, C)
    m = scores.shape[0]
    loss = -log_p[torch.arange(m, device=scores.device), y].mean()
    dscores = log_p.exp()
    dscores[torch.arange(m, device=scores.device), y] -= 1.0
    return loss, dscores / m


def gcn2_forward(x: Tensor, a_hat: Tensor, params: Params) -> tuple[Tensor, tuple]:
    """The two-layer GCN's class scores, with gcn_forward for each layer and a ReLU between them.

    x: (N, F); a_hat: (N, N); params: [(W1 (F, H), b1 (H,)), (W2 (H, C), b2 (C,))].
    Returns (scores, cache), scores: (N, C).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn2_forward")
    return scores, cache


def gcn2_loss(x: Tensor, a_hat: Tensor, params: Params, y: Tensor, labelled: Tensor,
              reg: float = 0.0) -> tuple[Tensor, Params]:
    """Loss of the two-layer GCN on the labelled nodes and its gradients, by gcn_backward for each layer.

    y: (N,) int64 labels (only the labelled nodes' are used); labelled: (M,) int64 node indices;
    reg: weight decay on W1 only, reg / 2 * sum(W1^2). Returns (loss, [(dW1, db1), (dW2, db2)]).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a13.gcn2_loss")
    return loss, [(dw1, db1), (dw2, db2)]
