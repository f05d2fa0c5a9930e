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
    ### BEGIN SOLUTION
    ax = x @ w_ih.T + b_ih  # (N, 3H)
    ah = h_prev @ w_hh.T + b_hh  # (N, 3H)
    xr, xz, xn = ax.chunk(3, dim=1)
    hr, hz, hn = ah.chunk(3, dim=1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)  # (N, H) each
    n = torch.tanh(xn + r * hn)
    h_next = (1.0 - z) * n + z * h_prev  # (N, H)
    cache = (x, h_prev, w_ih, w_hh, r, z, n, hn)
    ### END SOLUTION
    return h_next, cache


def gru_step_backward(dh_next: Tensor, cache: tuple) -> tuple[Tensor, ...]:
    """Backward pass of one GRU step.

    dh_next: (N, H). Returns (dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh), shaped like their inputs;
    the two biases' gradients differ in the n rows, where b_hn sits inside r * (...).
    """
    ### BEGIN SOLUTION
    x, h_prev, w_ih, w_hh, r, z, n, hn = cache
    dn = dh_next * (1.0 - z)
    dz = dh_next * (h_prev - n)
    dan = dn * (1.0 - n * n)  # (N, H): gradient of n's pre-activation
    dr = dan * hn
    dar, daz = dr * r * (1.0 - r), dz * z * (1.0 - z)
    dax = torch.cat([dar, daz, dan], dim=1)  # (N, 3H): x's side
    dah = torch.cat([dar, daz, dan * r], dim=1)  # (N, 3H): h's side, the n rows scaled by r
    dx = dax @ w_ih  # (N, I)
    dh_prev = dah @ w_hh + dh_next * z  # (N, H)
    dw_ih = dax.T @ x  # (3H, I)
    dw_hh = dah.T @ h_prev  # (3H, H)
    db_ih, db_hh = dax.sum(dim=0), dah.sum(dim=0)  # (3H,)
    ### END SOLUTION
    return dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh
