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
    ### BEGIN SOLUTION
    n = v.shape[0]
    length = (v * v).sum(dim=2).sqrt()  # (N, J)
    t = torch.zeros_like(length)
    t[torch.arange(n), y] = 1.0  # (N, J) one-hot targets
    present = (m_plus - length).clamp(min=0.0)  # (N, J)
    absent = (length - m_minus).clamp(min=0.0)
    loss = (t * present ** 2 + lam * (1.0 - t) * absent ** 2).sum() / n
    dlength = (-2.0 * t * present + 2.0 * lam * (1.0 - t) * absent) / n  # (N, J)
    dv = (dlength / length)[..., None] * v  # (N, J, D): d|v|/dv = v / |v|
    ### END SOLUTION
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
    ### BEGIN SOLUTION
    h = mask(v, y)  # (N, J*D)
    inputs = []
    for l, (w, b) in enumerate(params):
        inputs.append(h)
        z = h @ w + b  # (N, H_l)
        h = sigmoid(z) if l == len(params) - 1 else z.clamp(min=0.0)
    cache = (v, y, params, inputs, h)
    ### END SOLUTION
    return h, cache


def reconstruction_loss(v: Tensor, y: Tensor, images: Tensor, params: list,
                        scale: float = 0.0005) -> tuple[Tensor, Tensor, list]:
    """The reconstruction loss: ``scale`` times the sum of squared differences between the decoder's
    output (decoder_forward(v, y, params)) and the image's pixel intensities, averaged over the batch:

    loss = scale * sum_{n, p} (out_np - images_np)^2 / N.

    images: (N, P); the rest as in decoder_forward. Returns (loss, dv, grads): the scalar,
    dv: (N, J, D) and grads = [(dW1, db1), ..., (dWL, dbL)] shaped like params.
    """
    ### BEGIN SOLUTION
    out, (_, _, _, inputs, _) = decoder_forward(v, y, params)
    n = v.shape[0]
    diff = out - images  # (N, P)
    loss = scale * (diff * diff).sum() / n
    dz = (2.0 * scale / n) * diff * out * (1.0 - out)  # (N, P) through the sigmoid
    grads = []
    for l in reversed(range(len(params))):
        w, _ = params[l]
        h = inputs[l]
        grads.append((h.T @ dz, dz.sum(dim=0)))  # (H_{l-1}, H_l), (H_l,)
        dh = dz @ w.T  # (N, H_{l-1})
        dz = dh * (h > 0) if l > 0 else dh  # through the ReLU that made h
    grads.reverse()
    keep = torch.zeros(v.shape[:2], dtype=v.dtype, device=v.device)
    keep[torch.arange(n), y] = 1.0
    dv = dh.reshape(v.shape) * keep[..., None]  # (N, J, D): only the kept capsule reaches the decoder
    ### END SOLUTION
    return loss, dv, grads
