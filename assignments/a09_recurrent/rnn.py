"""The vanilla (Elman) RNN with backpropagation through time, and its many-to-one and many-to-many heads.

Weights follow torch's ``nn.RNN``: ``w_ih`` (H, I), ``w_hh`` (H, H) and two biases ``b_ih``, ``b_hh``
(H,), so h_t = tanh(x_t w_ih^T + b_ih + h_{t-1} w_hh^T + b_hh). Sequences are time-major like
``nn.RNN(batch_first=False)``: x is (T, N, I). Every function takes and returns ``torch.Tensor``s
and works with autograd off: the backward passes are written by hand.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def rnn_step_forward(x: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                     b_hh: Tensor) -> tuple[Tensor, tuple]:
    """One time step: h_next = tanh(x w_ih^T + b_ih + h_prev w_hh^T + b_hh).

    x: (N, I); h_prev: (N, H); w_ih: (H, I); w_hh: (H, H); b_ih, b_hh: (H,).
    Returns (h_next, cache), h_next: (N, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.rnn_step_forward")
    return h_next, cache


def rnn_step_backward(dh_next: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of one step.

    dh_next: (N, H), the gradient of the loss with respect to h_next.
    Returns (dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh) shaped like x, h_prev, w_ih, w_hh, b_ih, b_hh.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.rnn_step_backward")
    return dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh


def rnn_forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                b_hh: Tensor) -> tuple[Tensor, list]:
    """The RNN over a whole sequence, one :func:`rnn_step_forward` per step.

    x: (T, N, I); h0: (N, H). Returns (h, cache), h: (T, N, H), the hidden state after every step
    (``nn.RNN``'s output); cache: one step cache per time step.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.rnn_forward")
    return h, cache


def rnn_backward(dh: Tensor, cache: list) -> tuple[Tensor, ...]:
    """Backpropagation through time over the whole sequence, one :func:`rnn_step_backward` per step.

    dh: (T, N, H), the loss's gradient with respect to every hidden state (each h_t also feeds
    h_{t+1}, so the gradient reaching step t is dh[t] plus what flows back from step t + 1).
    Returns (dx, dh0, dw_ih, dw_hh, db_ih, db_hh): (T, N, I), (N, H) and the weights' shapes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.rnn_backward")
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


def rnn_backward_truncated(dh: Tensor, cache: list, window: int) -> tuple[Tensor, ...]:
    """Truncated BPTT: the sequence is cut into consecutive windows of ``window`` steps starting at
    t = 0 (the last may be shorter), and no gradient crosses from one window into the one before it,
    as when training detaches the hidden state before every step t that is a multiple of ``window``.

    dh: (T, N, H); window >= 1. Returns (dx, dh0, dw_ih, dw_hh, db_ih, db_hh) as :func:`rnn_backward`;
    dh0 is what reaches h0 from the first window. With window >= T this is :func:`rnn_backward`.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.rnn_backward_truncated")
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


def softmax_loss(scores: Tensor, y: Tensor, weight: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted softmax cross-entropy: loss = sum_k weight[k] * -log softmax(scores[k])[y[k]].

    scores: (K, C); y: (K,) int64 labels; weight: (K,). Returns (loss, dscores): a scalar and (K, C).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.softmax_loss")
    return loss, dscores


def many_to_one_loss(h: Tensor, w: Tensor, b: Tensor, y: Tensor) -> tuple[Tensor, ...]:
    """A many-to-one head: the last hidden state through an affine layer (``nn.Linear``'s layout),
    then softmax cross-entropy averaged over the batch.

    h: (T, N, H) hidden states; w: (C, H); b: (C,); y: (N,) int64 labels in [0, C).
    loss = mean_n CE(h[T-1] w^T + b, y). Returns (loss, dh, dw, db): a scalar, (T, N, H) (zero but
    at the last step), (C, H), (C,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.many_to_one_loss")
    return loss, dh, dw, db


def many_to_many_loss(h: Tensor, w: Tensor, b: Tensor, y: Tensor, mask: Tensor | None = None) -> tuple[Tensor, ...]:
    """A many-to-many head: every hidden state through the same affine layer, softmax cross-entropy
    at every step, summed over time and steps kept by ``mask``, averaged over the batch.

    h: (T, N, H); w: (C, H); b: (C,); y: (T, N) int64; mask: (T, N) bool or None (every step counts).
    loss = sum_{t,n} mask[t, n] * CE(h[t, n] w^T + b, y[t, n]) / N.
    Returns (loss, dh, dw, db): a scalar, (T, N, H), (C, H), (C,).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.many_to_many_loss")
    return loss, dh, dw, db
