"""A fully connected sigmoid network with optional batch normalization before each sigmoid, as in the BN paper's MNIST experiment (section 4.1).

Layers: affine -> [batchnorm] -> sigmoid for each hidden layer, then an affine output layer
scored by softmax cross-entropy. Training mode normalises with the batch statistics and
updates the running ones; evaluation uses the running statistics. Built from batchnorm.py
and layers.py; nothing here is graded, it runs whatever those functions compute.
"""
from __future__ import annotations

import torch

from . import batchnorm, layers

Tensor = torch.Tensor


def sigmoid(x: Tensor) -> Tensor:
    z = torch.exp(-x.abs())  # two branches, so exp never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def init(sizes: list[int], generator: torch.Generator, bn: bool, dtype=torch.float64) -> dict:
    """Weights N(0, 1/fan_in), zero biases; with bn, gamma = 1, beta = 0, running mean 0 and variance 1."""
    net = {"W": [], "b": [], "gamma": [], "beta": [], "mean": [], "var": [], "bn": bn}
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        net["W"].append(torch.randn(d_in, d_out, generator=generator, dtype=dtype) / d_in ** 0.5)
        net["b"].append(torch.zeros(d_out, dtype=dtype))
    for d in sizes[1:-1]:
        net["gamma"].append(torch.ones(d, dtype=dtype))
        net["beta"].append(torch.zeros(d, dtype=dtype))
        net["mean"].append(torch.zeros(d, dtype=dtype))
        net["var"].append(torch.ones(d, dtype=dtype))
    return net


def forward(net: dict, x: Tensor, train: bool) -> tuple[Tensor, list, list[Tensor]]:
    """x: (N, D0). Returns (scores (N, K), caches, the input of each hidden layer's sigmoid)."""
    caches, sigmoid_inputs, h = [], [], x
    hidden = len(net["W"]) - 1
    for i in range(hidden):
        a, affine_cache = layers.affine_forward(h, net["W"][i], net["b"][i])  # (N, D_i)
        bn_cache = None
        if net["bn"] and train:
            net["mean"][i], net["var"][i] = batchnorm.batchnorm_running_stats(a, net["mean"][i], net["var"][i])
            a, bn_cache = batchnorm.batchnorm_forward(a, net["gamma"][i], net["beta"][i])
        elif net["bn"]:
            a = batchnorm.batchnorm_inference(a, net["gamma"][i], net["beta"][i], net["mean"][i], net["var"][i])
        sigmoid_inputs.append(a)
        h = sigmoid(a)
        caches.append((affine_cache, bn_cache, h))
    scores, out_cache = layers.affine_forward(h, net["W"][-1], net["b"][-1])  # (N, K)
    caches.append(out_cache)
    return scores, caches, sigmoid_inputs


def backward(net: dict, dscores: Tensor, caches: list) -> dict:
    """Gradients of every parameter, keyed like ``net`` ({"W": [...], "b": [...], "gamma": [...], "beta": [...]})."""
    grads = {"W": [], "b": [], "gamma": [], "beta": []}
    d, dw, db = layers.affine_backward(dscores, caches[-1])
    grads["W"].append(dw)
    grads["b"].append(db)
    for affine_cache, bn_cache, h in reversed(caches[:-1]):
        d = d * h * (1.0 - h)  # through the sigmoid
        if bn_cache is not None:
            d, dgamma, dbeta = batchnorm.batchnorm_backward_alt(d, bn_cache)
            grads["gamma"].append(dgamma)
            grads["beta"].append(dbeta)
        d, dw, db = layers.affine_backward(d, affine_cache)
        grads["W"].append(dw)
        grads["b"].append(db)
    for key in grads:
        grads[key].reverse()
    return grads


def softmax_cross_entropy(scores: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy of softmax(scores) against labels y (N,). Returns (loss, dscores (N, K))."""
    log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)  # (N, K)
    rows = torch.arange(scores.shape[0], device=scores.device)
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1.0
    return -log_probs[rows, y].mean(), dscores / scores.shape[0]


def sgd_step(net: dict, grads: dict, lr: float) -> None:
    """Gradient descent: replaces net's parameters by updated ones (the running statistics are not parameters)."""
    for key, values in grads.items():
        net[key] = [p - lr * g for p, g in zip(net[key], values)]
