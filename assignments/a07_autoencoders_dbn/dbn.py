"""A deep belief network (Hinton, Osindero and Teh 2006): RBMs pretrained greedily, one layer at a
time, then unrolled into a sigmoid MLP with a softmax head and fine-tuned by backpropagation.

A stack is a list of RBM layers [(W1, b1, c1), ...], W_l (D_{l-1}, D_l); the MLP's parameters are
a list of (W, b) pairs whose hidden layers are sigmoid and whose last layer gives class scores.
Every function returns new tensors and leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from .rbm import hidden_probs, rbm_cd1

Tensor = torch.Tensor
Stack = list[tuple[Tensor, Tensor, Tensor]]
Params = list[tuple[Tensor, Tensor]]


def dbn_pretrain(x: Tensor, layers: Stack, noise: list[Tensor], lr: float, batch: int) -> tuple[Stack, Tensor]:
    """Greedy layer-wise pretraining: train layer 1 by CD-1 on x, then layer 2 on layer 1's hidden
    probabilities p(h | x), and so on, each layer on the probabilities of the trained one below.

    Each layer runs E epochs over its data in order, in minibatches x[0:batch], x[batch:2 batch], ...
    (the last may be smaller), one :func:`rbm_cd1` step per minibatch, the step of epoch e on rows
    i:j taking noise[l][e, i:j].
    x: (N, D0); layers: L initial (W, b, c); noise: L tensors (E, N, D_l), uniform in [0, 1); batch >= 1.
    Returns (layers, errors): the trained stack and errors (L, E), each epoch's reconstruction error
    averaged over its N examples (the steps' errors weighted by their batch sizes).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.dbn_pretrain")
    return trained, errors


def dbn_unroll(layers: Stack, W_out: Tensor, b_out: Tensor) -> Params:
    """The MLP a stack becomes: each RBM's recognition weights W_l and hidden biases c_l as a sigmoid
    layer (its visible biases are dropped), then the softmax head (W_out, b_out).

    layers: L triples (W, b, c); W_out: (D_L, K); b_out: (K,). Returns L + 1 pairs (W, b).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.dbn_unroll")
    return params


def dbn_forward(x: Tensor, params: Params) -> tuple[Tensor, list]:
    """The unrolled network: h_l = sigmoid(h_{l-1} W_l + b_l) for every layer but the last, whose
    affine output are the class scores.

    x: (N, D0); params: [(W1, b1), ..., (W_out, b_out)]. Returns (scores, cache): scores (N, K);
    cache = (x, params, hs), hs the list of hidden activations [h_1, ..., h_L].
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.dbn_forward")
    cache = (x, params, hs)
    return scores, cache


def dbn_backward(dscores: Tensor, cache: tuple) -> Params:
    """Backpropagation through :func:`dbn_forward`.

    dscores: (N, K). Returns [(dW1, db1), ..., (dW_out, db_out)], shaped like params.
    """
    x, params, hs = cache
    # YOUR CODE HERE
    raise NotImplementedError("a07.dbn_backward")
    return grads


def dbn_finetune_step(x: Tensor, y: Tensor, params: Params, lr: float) -> tuple[Tensor, Params]:
    """One step of fine-tuning: the mean softmax cross-entropy of :func:`dbn_forward`'s scores for
    labels y, its gradient by :func:`dbn_backward`, and gradient descent W <- W - lr dW, b <- b - lr db.

    x: (N, D0); y: (N,) int64 in [0, K). Returns (loss, new_params): loss 0-d, computed before the step.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a07.dbn_finetune_step")
    return loss, new_params
