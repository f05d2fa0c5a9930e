"""Alternative a04 fully connected pieces: addmm, where-based ReLU, log_softmax with gather."""
import torch


def affine_forward(x, w, b):
    return torch.addmm(b, x, w), (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return torch.mm(dout, w.t()), torch.mm(x.t(), dout), dout.sum(dim=0)


def relu_forward(x):
    mask = x > 0
    return torch.where(mask, x, torch.zeros_like(x)), mask


def relu_backward(dout, cache):
    return torch.where(cache, dout, torch.zeros_like(dout))


def softmax_cross_entropy(scores, y):
    log_p = torch.log_softmax(scores, dim=1)
    n = scores.shape[0]
    loss = -log_p.gather(1, y[:, None]).sum() / n
    onehot = torch.zeros_like(scores).scatter(1, y[:, None], 1.0)
    return loss, (log_p.exp() - onehot) / n
