"""Alternative a11 attention, correct but written differently from the reference: a loop over the queries with
torch.softmax, a backward through each query's explicit softmax Jacobian, multi-head attention one head at
a time on slices of the packed projection, and a cache of inputs instead of intermediates."""
import math

import torch


def attention_forward(q, k, v, mask=None):
    tq = q.shape[-2]
    rows = []
    for i in range(tq):  # one query at a time
        s = (q[..., i:i + 1, :] @ k.transpose(-2, -1))[..., 0, :] / math.sqrt(q.shape[-1])  # (..., Tk)
        if mask is not None:
            m = mask[..., i, :] if mask.dim() >= 2 else mask
            s = torch.where(m, s, torch.full_like(s, -math.inf)) if mask.dtype == torch.bool else s + m
        rows.append(torch.softmax(s, dim=-1))
    attn = torch.stack(rows, dim=-2)  # (..., Tq, Tk)
    return torch.einsum("...qk,...kd->...qd", attn, v), (q, k, v, attn)


def attention_backward(dout, cache):
    q, k, v, attn = cache
    dv = torch.einsum("...qk,...qd->...kd", attn, dout)
    dattn = torch.einsum("...qd,...kd->...qk", dout, v)
    dscores = torch.empty_like(attn)
    for i in range(attn.shape[-2]):
        a = attn[..., i, :]  # (..., Tk)
        jac = torch.diag_embed(a) - a[..., :, None] * a[..., None, :]  # (..., Tk, Tk) symmetric
        dscores[..., i, :] = (jac @ dattn[..., i, :, None])[..., 0]
    dscores = dscores / math.sqrt(q.shape[-1])
    return dscores @ k, dscores.transpose(-2, -1) @ q, dv


def multi_head_attention_forward(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias,
                                 num_heads, mask=None):
    e = query.shape[-1]
    d = e // num_heads
    heads, caches = [], []
    for h in range(num_heads):
        rows = [slice(part * e + h * d, part * e + (h + 1) * d) for part in range(3)]
        q = torch.nn.functional.linear(query, in_proj_weight[rows[0]], in_proj_bias[rows[0]])
        k = torch.nn.functional.linear(key, in_proj_weight[rows[1]], in_proj_bias[rows[1]])
        v = torch.nn.functional.linear(value, in_proj_weight[rows[2]], in_proj_bias[rows[2]])
        out, c = attention_forward(q, k, v, mask)
        heads.append(out)
        caches.append(c)
    concat = torch.cat(heads, dim=-1)  # (N, Tq, E)
    out = torch.nn.functional.linear(concat, out_proj_weight, out_proj_bias)
    return out, (query, key, value, in_proj_weight, out_proj_weight, concat, caches, num_heads)


def attention_weights(cache):
    return torch.stack([c[3] for c in cache[6]], dim=1)


def multi_head_attention_backward(dout, cache):
    query, key, value, in_proj_weight, out_proj_weight, concat, caches, num_heads = cache
    e = query.shape[-1]
    d = e // num_heads
    dout_proj_weight = torch.einsum("nte,ntf->ef", dout, concat)
    dout_proj_bias = dout.sum(dim=(0, 1))
    dconcat = dout @ out_proj_weight
    dquery, dkey, dvalue = torch.zeros_like(query), torch.zeros_like(key), torch.zeros_like(value)
    dw, db = torch.zeros_like(in_proj_weight), torch.zeros(3 * e, dtype=dout.dtype, device=dout.device)
    for h in range(num_heads):
        grads = attention_backward(dconcat[..., h * d:(h + 1) * d], caches[h])
        for part, (g, x, dx) in enumerate(zip(grads, (query, key, value), (dquery, dkey, dvalue))):
            rows = slice(part * e + h * d, part * e + (h + 1) * d)
            dx += g @ in_proj_weight[rows]
            dw[rows] = torch.einsum("ntd,nte->de", g, x)
            db[rows] = g.sum(dim=(0, 1))
    return dquery, dkey, dvalue, dw, db, dout_proj_weight, dout_proj_bias
