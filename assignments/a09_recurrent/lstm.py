"""The LSTM (long short-term memory) step and sequence, forward and backward, in torch's ``nn.LSTM`` layout.

Weights: ``w_ih`` (4H, I), ``w_hh`` (4H, H), ``b_ih`` and ``b_hh`` (4H,), their rows the gates in the
order i (input), f (forget), g (cell candidate), o (output); no peepholes:

    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x w_ih^T + b_ih + h_prev w_hh^T + b_hh)
    c_next = f * c_prev + i * g
    h_next = o * tanh(c_next)

Sequences are time-major (T, N, I), like ``nn.LSTM(batch_first=False)``.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def lstm_step_forward(x: Tensor, h_prev: Tensor, c_prev: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                      b_hh: Tensor) -> tuple[Tensor, Tensor, tuple]:
    """One LSTM step.

    x: (N, I); h_prev, c_prev: (N, H); w_ih: (4H, I); w_hh: (4H, H); b_ih, b_hh: (4H,).
    Returns (h_next, c_next, cache), h_next and c_next: (N, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.lstm_step_forward")
    return h_next, c_next, cache


def lstm_step_backward(dh_next: Tensor, dc_next: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of one step.

    dh_next, dc_next: (N, H), the loss's gradients with respect to h_next and c_next (c_next reaches
    the loss through h_next and through the next step's cell).
    Returns (dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh), shaped like their inputs.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.lstm_step_backward")
    return dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh


def lstm_forward(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                 b_hh: Tensor) -> tuple[Tensor, list]:
    """The LSTM over a sequence, one :func:`lstm_step_forward` per step.

    x: (T, N, I); h0, c0: (N, H). Returns (h, cache), h: (T, N, H), the hidden state after every step
    (``nn.LSTM``'s output); cache: one step cache per time step.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.lstm_forward")
    return h, cache


def lstm_backward(dh: Tensor, cache: list) -> tuple[Tensor, ...]:
    """Backpropagation through time for the LSTM, one :func:`lstm_step_backward` per step.

    dh: (T, N, H), the loss's gradient with respect to every hidden state.
    Returns (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh): (T, N, I), (N, H), (N, H) and the weights' shapes.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.lstm_backward")
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh
