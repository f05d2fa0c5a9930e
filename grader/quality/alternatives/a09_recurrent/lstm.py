"""Alternative a09 LSTM functions, correct but written differently from the reference: the weights sliced
gate by gate, sigmoid as (1 + tanh(a/2)) / 2, the step backward through per-gate pre-activations, BPTT
with the input weights' gradients taken once over the whole sequence. Full marks expected."""
import torch


def _sig(a):
    return 0.5 * (1.0 + torch.tanh(0.5 * a))


def lstm_step_forward(x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    hid = h_prev.shape[1]
    pre = [x @ w_ih[k * hid:(k + 1) * hid].t() + h_prev @ w_hh[k * hid:(k + 1) * hid].t()
           + b_ih[k * hid:(k + 1) * hid] + b_hh[k * hid:(k + 1) * hid] for k in range(4)]
    i, f, o = _sig(pre[0]), _sig(pre[1]), _sig(pre[3])
    g = torch.tanh(pre[2])
    c = i * g + c_prev * f
    h = torch.tanh(c) * o
    return h, c, (x, h_prev, c_prev, w_ih, w_hh, pre, c)


def lstm_step_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, w_ih, w_hh, pre, c = cache
    i, f, o, g = _sig(pre[0]), _sig(pre[1]), _sig(pre[3]), torch.tanh(pre[2])
    tc = torch.tanh(c)
    dc = dh_next * o * (1.0 - tc ** 2) + dc_next
    parts = [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2), dh_next * tc * o * (1 - o)]
    da = torch.cat(parts, dim=1)
    db = da.sum(0)
    return (da @ w_ih, da @ w_hh, f * dc, da.t() @ x, da.t() @ h_prev, db, db.clone())


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    h, c, out, caches = h0, c0, [], []
    for xt in x.unbind(0):
        h, c, cache = lstm_step_forward(xt, h, c, w_ih, w_hh, b_ih, b_hh)
        out.append(h)
        caches.append(cache)
    return torch.stack(out, 0), caches


def lstm_backward(dh, cache):
    """BPTT written out without the step backward: gate gradients of every step kept, the weight
    gradients taken once over the whole sequence."""
    steps = len(cache)
    x = torch.stack([cache[t][0] for t in range(steps)])  # (T, N, I)
    hp = torch.stack([cache[t][1] for t in range(steps)])  # (T, N, H) the state entering each step
    w_ih, w_hh = cache[0][3], cache[0][4]
    carry_h, carry_c = torch.zeros_like(cache[0][1]), torch.zeros_like(cache[0][2])
    das = [None] * steps
    for t in reversed(range(steps)):
        _, _, c_prev, _, _, pre, c = cache[t]
        i, f, o, g = _sig(pre[0]), _sig(pre[1]), _sig(pre[3]), torch.tanh(pre[2])
        tc = torch.tanh(c)
        up = dh[t] + carry_h
        dc = up * o * (1.0 - tc ** 2) + carry_c
        das[t] = torch.cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                            up * tc * o * (1 - o)], dim=1)
        carry_h, carry_c = das[t] @ w_hh, dc * f
    da = torch.stack(das)  # (T, N, 4H)
    db = da.sum((0, 1))
    return (torch.einsum("tng,gi->tni", da, w_ih), carry_h, carry_c, torch.einsum("tng,tni->gi", da, x),
            torch.einsum("tng,tnk->gk", da, hp), db, db.clone())
