"""Other correct ways to write a01's learning rules: augmented vectors, explicit gradients, loops, einsum."""
import torch


def perceptron_epoch(x, t, w, theta, lr):
    v = torch.cat([w, theta.reshape(1)])  # the threshold as the weight of a constant input -1
    xa = torch.cat([x, -torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)], 1)
    mistakes = 0
    for xn, tn in zip(xa, t):
        y = 1.0 if float(xn @ v) >= 0 else 0.0
        if y != float(tn):
            v = v + lr * (tn - y) * xn
            mistakes += 1
    return v[:-1], v[-1], torch.tensor(mistakes, device=x.device)


def lms_step(x, t, w, b, lr):
    residual = x @ w + b - t
    grad_w, grad_b = x.T @ residual / len(t), residual.sum() / len(t)
    return w - lr * grad_w, b - lr * grad_b


def sigmoid_delta_step(x, t, w, b, lr):
    y = 1.0 / (1.0 + torch.exp(-(x @ w + b)))
    delta = (t - y) * y * (1.0 - y)
    return w + lr * torch.einsum("n,nd->d", delta, x) / len(t), b + lr * delta.sum() / len(t)


def hebb_step(x, w, lr):
    return w + lr * torch.einsum("nd,ne,e->d", x, x, w) / x.shape[0]


def oja_step(x, w, lr):
    c = x.T @ x / x.shape[0]
    return w + lr * (c @ w - (w @ c @ w) * w)


def sanger_step(x, w, lr):
    y = x @ w
    columns = []
    for k in range(w.shape[1]):
        residual = x - y[:, :k + 1] @ w[:, :k + 1].T  # what units 0..k do not explain
        columns.append(w[:, k] + lr * (y[:, k] @ residual) / x.shape[0])
    return torch.stack(columns, 1)
