"""Alternative a13 two-layer GCN, correct but written differently from the reference: the loss over the
labelled rows by log_softmax and gather, the gradient of the scores built by one-hot, and the weight decay's
gradient added before the first layer's backward. The grader must give them full marks."""
import torch


def gcn2_forward(x, a_hat, params):
    (w1, b1), (w2, b2) = params
    hidden, cache1 = gcn_forward(x, a_hat, w1, b1)
    hidden = torch.relu(hidden)
    scores, cache2 = gcn_forward(hidden, a_hat, w2, b2)
    return scores, (cache1, hidden, cache2)


def gcn2_loss(x, a_hat, params, y, labelled, reg=0.0):
    (w1, _), _ = params
    scores, (cache1, hidden, cache2) = gcn2_forward(x, a_hat, params)
    picked = scores.index_select(0, labelled)
    log_p = torch.log_softmax(picked, dim=1)
    target = torch.nn.functional.one_hot(y[labelled], scores.shape[1]).to(scores.dtype)
    loss = -(log_p * target).sum() / len(labelled) + reg * w1.pow(2).sum() / 2
    dscores = torch.zeros_like(scores)
    dscores.index_add_(0, labelled, (log_p.exp() - target) / len(labelled))
    dhidden, dw2, db2 = gcn_backward(dscores, cache2)
    _, dw1, db1 = gcn_backward(torch.where(hidden > 0, dhidden, 0.0), cache1)
    return loss, [(reg * w1 + dw1, db1), (dw2, db2)]
