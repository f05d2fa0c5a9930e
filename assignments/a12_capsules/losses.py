"""CapsNet's training objective (Sabour, Frosst and Hinton 2017): the margin loss on the lengths of
the digit capsules, and the masked reconstruction decoder with its 0.0005-weighted squared error.

Shapes: N examples, J digit capsules of D components, P pixels.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def margin_loss(v: Tensor, y: Tensor, m_plus: float = 0.9, m_minus: float = 0.1,
                lam: float = 0.5) -> tuple[Tensor, Tensor]:
    """The margin loss (the paper's equation 4) on the capsules' lengths |v_k|, summed over the
    classes k and averaged over the batch:

    L = mean_n sum_k T_k max(0, m+ - |v_k|)^2 + lam (1 - T_k) max(0, |v_k| - m-)^2,

    with T_k = 1 for the labelled class and 0 otherwise (m+ = 0.9, m- = 0.1, lam = 0.5). No graded
    length is 0 or at a hinge.
    v: (N, J, D); y: (N,) int64 in [0, J). Returns (loss, dv): a scalar tensor and dv: (N, J, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.margin_loss")
    return loss, dv


def mask(v: Tensor, y: Tensor) -> Tensor:
    """The digit capsules with every capsule but class y[n]'s set to zero, flattened: (N, J, D) -> (N, J * D)."""
    keep = torch.zeros(v.shape[:2], dtype=v.dtype, device=v.device)
    keep[torch.arange(v.shape[0]), y] = 1.0
    return (v * keep[..., None]).reshape(v.shape[0], -1)


def sigmoid(x: Tensor) -> Tensor:
    z = torch.exp(-x.abs())  # two branches, so exp never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def decoder_forward(v: Tensor, y: Tensor, params: list) -> tuple[Tensor, tuple]:
    """The reconstruction decoder: the digit capsules masked to class y (:func:`mask`, given), then
    fully connected layers, ReLU after each hidden one and a sigmoid after the last (the paper's
    512 -> 1024 -> 784):

    h_0 = mask(v, y);  h_l = relu(h_{l-1} W_l + b_l) for hidden layers;  out = sigmoid(h_{L-1} W_L + b_L).

    Train with the true labels as y, test with the longest capsule's class.
    v: (N, J, D); y: (N,) int64; params: [(W1, b1), ..., (WL, bL)], W_l (H_{l-1}, H_l), b_l (H_l,),
    H_0 = J * D. Returns (out, cache), out: (N, P) pixel intensities in (0, 1), P = H_L.
    Use sigmoid (given).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.decoder_forward")
    return h, cache


def reconstruction_loss(v: Tensor, y: Tensor, images: Tensor, params: list,
                        scale: float = 0.0005) -> tuple[Tensor, Tensor, list]:
    """The reconstruction loss: ``scale`` times the sum of squared differences between the decoder's
    output (decoder_forward(v, y, params)) and the image's pixel intensities, averaged over the batch:

    loss = scale * sum_{n, p} (out_np - images_np)^2 / N.

    images: (N, P); the rest as in decoder_forward. Returns (loss, dv, grads): the scalar,
    dv: (N, J, D) and grads = [(dW1, db1), ..., (dWL, dbL)] shaped like params.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a12.reconstruction_loss")
    return loss, dv, grads
