"""Alternative a09 RNN functions, correct but written differently from the reference: einsum and addmm,
the tanh derivative from the pre-activation, BPTT accumulating per-step gradients in lists, truncated BPTT
window by window from the first, losses by explicit log-softmax and per-step loops. Full marks expected."""
import torch


def rnn_step_forward(x, h_prev, w_ih, w_hh, b_ih, b_hh):
    a = torch.addmm(b_ih + b_hh, x, w_ih.t()) + torch.einsum("nk,hk->nh", h_prev, w_hh)
    return torch.tanh(a), (x, h_prev, w_ih, w_hh, a)


def rnn_step_backward(dh_next, cache):
    x, h_prev, w_ih, w_hh, a = cache
    da = dh_next / torch.cosh(a) ** 2
    db = torch.einsum("nh->h", da)
    return (torch.einsum("nh,hi->ni", da, w_ih), torch.einsum("nh,hk->nk", da, w_hh),
            torch.einsum("nh,ni->hi", da, x), torch.einsum("nh,nk->hk", da, h_prev), db, db + 0.0)


def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    h = torch.empty(x.shape[0], x.shape[1], w_hh.shape[0], dtype=x.dtype, device=x.device)
    caches, state = [], h0
    for t in range(x.shape[0]):
        state, c = rnn_step_forward(x[t], state, w_ih, w_hh, b_ih, b_hh)
        h[t] = state
        caches.append(c)
    return h, caches


def rnn_backward(dh, cache):
    steps = len(cache)
    dxs, dwi, dwh, dbs = [None] * steps, [], [], []
    carry = 0.0
    for t in range(steps - 1, -1, -1):
        dx, carry, a, b, c, _ = rnn_step_backward(dh[t] + carry, cache[t])
        dxs[t] = dx
        dwi.append(a)
        dwh.append(b)
        dbs.append(c)
    db = torch.stack(dbs).sum(0)
    return torch.stack(dxs), carry, torch.stack(dwi).sum(0), torch.stack(dwh).sum(0), db, db.clone()


def rnn_backward_truncated(dh, cache, window):
    steps = len(cache)
    x0, h0, w_ih, w_hh, _ = cache[0]
    dx = torch.zeros(steps, *x0.shape, dtype=x0.dtype, device=x0.device)
    dwi, dwh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
    db = torch.zeros(w_hh.shape[0], dtype=x0.dtype, device=x0.device)
    dh0 = torch.zeros_like(h0)
    for start in range(0, steps, window):  # each window on its own; nothing crosses its first step
        carry = torch.zeros_like(h0)
        for t in range(min(start + window, steps) - 1, start - 1, -1):
            dx[t], carry, a, b, c, _ = rnn_step_backward(dh[t] + carry, cache[t])
            dwi, dwh, db = dwi + a, dwh + b, db + c
        if start == 0:
            dh0 = carry
    return dx, dh0, dwi, dwh, db, db.clone()


def softmax_loss(scores, y, weight):
    z = scores - scores.max(dim=1, keepdim=True).values
    logp = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))
    onehot = torch.zeros_like(scores)
    onehot[torch.arange(len(y), device=y.device), y] = 1.0
    loss = -(weight[:, None] * onehot * logp).sum()
    return loss, weight[:, None] * (torch.exp(logp) - onehot)


def many_to_one_loss(h, w, b, y):
    n = h.shape[1]
    scores = torch.einsum("nh,ch->nc", h[h.shape[0] - 1], w) + b
    loss, ds = softmax_loss(scores, y, torch.full((n,), 1.0 / n, dtype=h.dtype, device=h.device))
    dh = torch.cat([torch.zeros_like(h[:-1]), (ds @ w)[None]])
    return loss, dh, ds.t() @ h[-1], ds.sum(0)


def many_to_many_loss(h, w, b, y, mask=None):
    n = h.shape[1]
    loss, dh, dw, db = 0.0, torch.zeros_like(h), torch.zeros_like(w), torch.zeros_like(b)
    for t in range(h.shape[0]):
        weight = torch.ones(n, dtype=h.dtype, device=h.device) / n
        if mask is not None:
            weight = torch.where(mask[t], weight, torch.zeros_like(weight))
        lt, ds = softmax_loss(h[t] @ w.t() + b, y[t], weight)
        loss = loss + lt
        dh[t] = ds @ w
        dw += ds.t() @ h[t]
        db += ds.sum(0)
    return loss, dh, dw, db
