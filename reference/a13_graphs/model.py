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
    ### BEGIN SOLUTION
    (w1, b1), (w2, b2) = params
    pre, cache1 = gcn_forward(x, a_hat, w1, b1)  # (N, H)
    hidden = relu(pre)  # (N, H)
    scores, cache2 = gcn_forward(hidden, a_hat, w2, b2)  # (N, C)
    cache = (cache1, pre, cache2)
    ### END SOLUTION
    return scores, cache


def gcn2_loss(x: Tensor, a_hat: Tensor, params: Params, y: Tensor, labelled: Tensor,
              reg: float = 0.0) -> tuple[Tensor, Params]:
    """Loss of the two-layer GCN on the labelled nodes and its gradients, by gcn_backward for each layer.

    y: (N,) int64 labels (only the labelled nodes' are used); labelled: (M,) int64 node indices;
    reg: weight decay on W1 only, reg / 2 * sum(W1^2). Returns (loss, [(dW1, db1), (dW2, db2)]).
    """
    ### BEGIN SOLUTION
    (w1, _), _ = params
    scores, (cache1, pre, cache2) = gcn2_forward(x, a_hat, params)  # (N, C)
    loss, dlabelled = softmax_cross_entropy(scores[labelled], y[labelled])  # (M, C)
    loss = loss + 0.5 * reg * (w1 * w1).sum()
    dscores = torch.zeros_like(scores).index_put((labelled,), dlabelled)  # (N, C): unlabelled nodes add nothing
    dhidden, dw2, db2 = gcn_backward(dscores, cache2)  # (N, H)
    dpre = dhidden * (pre > 0)  # (N, H) through the ReLU
    _, dw1, db1 = gcn_backward(dpre, cache1)
    dw1 = dw1 + reg * w1
    ### END SOLUTION
    return loss, [(dw1, db1), (dw2, db2)]
