"""Learning rules of single units: perceptron (Rosenblatt), delta/LMS (Widrow-Hoff), generalised
delta rule, and the Hebbian family (plain Hebb, Oja, Sanger's generalised Hebbian algorithm).

Each graded rule returns new weights and leaves its inputs unchanged. The batch rules average
their update over the N examples of the batch; with N = 1 they are the online rules.
Shapes: N examples, D inputs, K units (components).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def perceptron_epoch(x: Tensor, t: Tensor, w: Tensor, theta: Tensor,
                     lr: float) -> tuple[Tensor, Tensor, Tensor]:
    """One epoch of Rosenblatt's perceptron rule, one example at a time in the given order.

    For each example n: y = 1 if x_n.w >= theta else 0; then w += lr (t_n - y) x_n and
    theta -= lr (t_n - y) (the threshold learns as the weight of a constant input -1).
    x: (N, D); t: (N,) targets 0.0/1.0; w: (D,); theta: 0-d; lr > 0.
    Returns (w, theta, mistakes): new w (D,), new theta (0-d), and the number of examples
    whose output was wrong when they were seen (int64, 0-d).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.perceptron_epoch")
    return w, theta, mistakes


def train_perceptron(x: Tensor, t: Tensor, w: Tensor, theta: Tensor, lr: float = 1.0,
                     max_epochs: int = 1000) -> tuple[Tensor, Tensor, list[int]]:
    """Repeat perceptron epochs until one makes no mistake or ``max_epochs`` have run.

    Returns (w, theta, mistakes per epoch); the last entry is 0 when it converged.
    """
    history = []
    for _ in range(max_epochs):
        w, theta, mistakes = perceptron_epoch(x, t, w, theta, lr)
        history.append(int(mistakes))
        if history[-1] == 0:
            break
    return w, theta, history


def lms_step(x: Tensor, t: Tensor, w: Tensor, b: Tensor, lr: float) -> tuple[Tensor, Tensor]:
    """Widrow-Hoff delta (LMS) rule for a linear unit y = x.w + b, averaged over the batch.

    w += lr * mean_n (t_n - y_n) x_n,  b += lr * mean_n (t_n - y_n): one gradient-descent step
    on E = sum_n (t_n - y_n)^2 / (2N).
    x: (N, D); t: (N,); w: (D,); b: 0-d. Returns (w, b) of the same shapes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.lms_step")
    return w, b


def sigmoid_delta_step(x: Tensor, t: Tensor, w: Tensor, b: Tensor, lr: float) -> tuple[Tensor, Tensor]:
    """Generalised delta rule for one sigmoid unit y = sigmoid(x.w + b), averaged over the batch.

    delta_n = (t_n - y_n) y_n (1 - y_n);  w += lr * mean_n delta_n x_n;  b += lr * mean_n delta_n:
    one gradient-descent step on E = sum_n (t_n - y_n)^2 / (2N).
    x: (N, D); t: (N,); w: (D,); b: 0-d. Returns (w, b) of the same shapes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.sigmoid_delta_step")
    return w, b


def hebb_step(x: Tensor, w: Tensor, lr: float) -> Tensor:
    """Plain Hebbian rule for a linear unit y = x.w: w += lr * mean_n y_n x_n.

    x: (N, D); w: (D,). Returns the new w (D,). Its norm grows without bound.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.hebb_step")
    return w


def oja_step(x: Tensor, w: Tensor, lr: float) -> Tensor:
    """Oja's rule for a linear unit y = x.w: w += lr * mean_n y_n (x_n - y_n w).

    The decay term -y^2 w keeps ||w|| near 1; w converges to the first principal direction
    of zero-mean data. x: (N, D); w: (D,). Returns the new w (D,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.oja_step")
    return w


def sanger_step(x: Tensor, w: Tensor, lr: float) -> Tensor:
    """Sanger's generalised Hebbian algorithm for K linear units y = x W, averaged over the batch.

    Column k: w_k += lr * mean_n y_nk (x_n - sum_{j <= k} y_nj w_j), i.e.
    W += lr / N * (x^T Y - W triu(Y^T Y)). The columns converge to the first K principal
    directions of zero-mean data, in order. x: (N, D); w: (D, K). Returns the new w (D, K).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a01.sanger_step")
    return w
