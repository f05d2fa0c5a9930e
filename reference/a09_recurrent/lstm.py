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
    ### BEGIN SOLUTION
    a = x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh  # (N, 4H)
    ai, af, ag, ao = a.chunk(4, dim=1)  # (N, H) each, in the order i, f, g, o
    i, f, g, o = torch.sigmoid(ai), torch.sigmoid(af), torch.tanh(ag), torch.sigmoid(ao)
    c_next = f * c_prev + i * g  # (N, H)
    tanh_c = torch.tanh(c_next)
    h_next = o * tanh_c  # (N, H)
    cache = (x, h_prev, c_prev, w_ih, w_hh, i, f, g, o, tanh_c)
    ### END SOLUTION
    return h_next, c_next, cache


def lstm_step_backward(dh_next: Tensor, dc_next: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of one step.

    dh_next, dc_next: (N, H), the loss's gradients with respect to h_next and c_next (c_next reaches
    the loss through h_next and through the next step's cell).
    Returns (dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh), shaped like their inputs.
    """
    ### BEGIN SOLUTION
    x, h_prev, c_prev, w_ih, w_hh, i, f, g, o, tanh_c = cache
    dc = dc_next + dh_next * o * (1.0 - tanh_c * tanh_c)  # (N, H): both ways c_next reaches the loss
    do = dh_next * tanh_c
    di, df, dg = dc * g, dc * c_prev, dc * i
    da = torch.cat([di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g * g), do * o * (1.0 - o)], dim=1)  # (N, 4H)
    dx = da @ w_ih  # (N, I)
    dh_prev = da @ w_hh  # (N, H)
    dc_prev = dc * f  # (N, H)
    dw_ih = da.T @ x  # (4H, I)
    dw_hh = da.T @ h_prev  # (4H, H)
    db_ih = da.sum(dim=0)  # (4H,)
    db_hh = db_ih.clone()
    ### END SOLUTION
    return dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh


def lstm_forward(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                 b_hh: Tensor) -> tuple[Tensor, list]:
    """The LSTM over a sequence, one :func:`lstm_step_forward` per step.

    x: (T, N, I); h0, c0: (N, H). Returns (h, cache), h: (T, N, H), the hidden state after every step
    (``nn.LSTM``'s output); cache: one step cache per time step.
    """
    ### BEGIN SOLUTION
    hs, cache, h, c = [], [], h0, c0
    for t in range(x.shape[0]):
        h, c, step = lstm_step_forward(x[t], h, c, w_ih, w_hh, b_ih, b_hh)  # (N, H) each
        hs.append(h)
        cache.append(step)
    h = torch.stack(hs)  # (T, N, H)
    ### END SOLUTION
    return h, cache


def lstm_backward(dh: Tensor, cache: list) -> tuple[Tensor, ...]:
    """Backpropagation through time for the LSTM, one :func:`lstm_step_backward` per step.

    dh: (T, N, H), the loss's gradient with respect to every hidden state.
    Returns (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh): (T, N, I), (N, H), (N, H) and the weights' shapes.
    """
    ### BEGIN SOLUTION
    x0, h0, c0, w_ih, w_hh = cache[0][:5]
    dx = x0.new_zeros(len(cache), *x0.shape)  # (T, N, I)
    dw_ih, dw_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
    db_ih = w_ih.new_zeros(w_ih.shape[0])  # (4H,)
    dh_prev, dc_prev = torch.zeros_like(h0), torch.zeros_like(c0)  # (N, H): from step t + 1
    for t in reversed(range(len(cache))):
        dx[t], dh_prev, dc_prev, dwi, dwh, dbi, _ = lstm_step_backward(dh[t] + dh_prev, dc_prev, cache[t])
        dw_ih, dw_hh, db_ih = dw_ih + dwi, dw_hh + dwh, db_ih + dbi
    dh0, dc0, db_hh = dh_prev, dc_prev, db_ih.clone()
    ### END SOLUTION
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh
