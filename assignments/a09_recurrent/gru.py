"""The GRU step, forward and backward, in torch's ``nn.GRU`` layout (for contrast with the LSTM).

Weights: ``w_ih`` (3H, I), ``w_hh`` (3H, H), ``b_ih`` and ``b_hh`` (3H,), rows in the order r (reset),
z (update), n (new). The reset gate multiplies the recurrent term after its matrix multiply:

    r = sigmoid(x w_ir^T + b_ir + h w_hr^T + b_hr)
    z = sigmoid(x w_iz^T + b_iz + h w_hz^T + b_hz)
    n = tanh(x w_in^T + b_in + r * (h w_hn^T + b_hn))
    h_next = (1 - z) * n + z * h
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def gru_step_forward(x: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                     b_hh: Tensor) -> tuple[Tensor, tuple]:
    """One GRU step.

    x: (N, I); h_prev: (N, H); w_ih: (3H, I); w_hh: (3H, H); b_ih, b_hh: (3H,).
    Returns (h_next, cache), h_next: (N, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.gru_step_forward")
    return h_next, cache


def gru_step_backward(dh_next: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of one GRU step.

    dh_next: (N, H). Returns (dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh), shaped like their inputs;
    the two biases' gradients differ in the n rows, where b_hn sits inside r * (...).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a09.gru_step_backward")
    return dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh
