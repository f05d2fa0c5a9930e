"""Alternative a02 layers, correct but written differently from the reference: loops over the
batch, other but equivalent formulas, another order of operations. The grader must give them
full marks; ``grader audit`` and tests/test_audit.py check that it does."""
import torch


def sigmoid_forward(x):
    out = 0.5 * (1.0 + torch.tanh(0.5 * x))  # sigmoid(x) = (1 + tanh(x/2)) / 2, never overflows
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s - dout * s * s


def tanh_forward(x):
    e = torch.exp(-2.0 * x.abs())
    out = torch.sign(x) * (1.0 - e) / (1.0 + e)  # tanh from one exponential of -2|x|
    return out, out


def tanh_backward(dout, cache):
    return dout - dout * cache ** 2


def relu_forward(x):
    return torch.where(x > 0, x, torch.zeros_like(x)), x


def relu_backward(dout, cache):
    return torch.where(cache > 0, dout, torch.zeros_like(dout))


def leaky_relu_forward(x, slope=0.01):
    positive = (x > 0).to(x.dtype)
    return x * positive + slope * x * (1.0 - positive), (x, slope)


def leaky_relu_backward(dout, cache):
    x, slope = cache
    return dout * (slope + (1.0 - slope) * (x > 0).to(dout.dtype))


def softplus_forward(x):
    return torch.logaddexp(x, torch.zeros_like(x)), x


def softplus_backward(dout, cache):
    return dout * torch.special.expit(cache)


def affine_forward(x, w, b):
    rows = [x[i] @ w + b for i in range(x.shape[0])]  # one example at a time, (M,) each
    return torch.stack(rows), (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    n, d = x.shape
    m = w.shape[1]
    dx = torch.zeros(n, d, dtype=dout.dtype, device=dout.device)
    dw = torch.zeros(d, m, dtype=dout.dtype, device=dout.device)
    db = torch.zeros(m, dtype=dout.dtype, device=dout.device)
    for i in range(n):  # sum of per-example outer products
        dx[i] = w @ dout[i]
        dw += torch.outer(x[i], dout[i])
        db += dout[i]
    return dx, dw, db


def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    total = torch.zeros((), dtype=scores.dtype, device=scores.device)
    dscores = torch.empty_like(scores)
    for i in range(n):
        row = scores[i]
        log_z = torch.logsumexp(row, dim=0)
        total = total + (log_z - row[y[i]])
        p = torch.exp(row - log_z)
        p[y[i]] = p[y[i]] - 1.0
        dscores[i] = p / n
    return total / n, dscores


def mse_loss(pred, target):
    diff = target - pred  # the other sign, squared away
    return (diff ** 2).mean() * pred.shape[1] / 2.0, -diff / pred.shape[0]
