"""Alternative a11 layers of the transformer, correct but written differently from the reference: each
sublayer a (forward, backward) pair in a list, run forwards then backwards in a loop, the residual
streams added in another order."""
from .attention import multi_head_attention_backward, multi_head_attention_forward
from .layers import feed_forward_backward, feed_forward_forward, layer_norm_backward, layer_norm_forward

_ATT = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")


def _sublayers(p, num_heads, masks, memory, eps):
    """The layer's sublayers: (kind, name, forward(h) -> (out, cache), backward(d, cache) -> (dh, dmem, grads))."""
    def attention(prefix, mask, kv):
        def fwd(h):
            src = h if kv is None else kv
            return multi_head_attention_forward(h, src, src, *[p[f"{prefix}_{k}"] for k in _ATT], num_heads, mask)

        def bwd(d, c):
            dq, dk, dv, *g = multi_head_attention_backward(d, c)
            grads = {f"{prefix}_{k}": v for k, v in zip(_ATT, g)}
            return (dq + dk + dv, None, grads) if kv is None else (dq, dk + dv, grads)
        return fwd, bwd

    def ffn():
        keys = ("linear1_weight", "linear1_bias", "linear2_weight", "linear2_bias")

        def bwd(d, c):
            dx, *g = feed_forward_backward(d, c)
            return dx, None, dict(zip(keys, g))
        return (lambda h: feed_forward_forward(h, *[p[k] for k in keys])), bwd

    subs = [attention("self_attn", masks[0], None)]
    if memory is not None:
        subs.append(attention("multihead_attn", masks[1], memory))
    subs.append(ffn())
    return subs


def _run(x, p, subs, norm_first, eps):
    caches = []
    for i, (fwd, _) in enumerate(subs, start=1):
        w, b = p[f"norm{i}_weight"], p[f"norm{i}_bias"]
        if norm_first:
            h, ln = layer_norm_forward(x, w, b, eps)
            y, c = fwd(h)
            x = y + x
        else:
            y, c = fwd(x)
            x, ln = layer_norm_forward(y + x, w, b, eps)
        caches.append((c, ln))
    return x, caches


def _back(dout, subs, caches, norm_first):
    grads, dmemory = {}, None
    d = dout
    for i in range(len(subs), 0, -1):
        c, ln = caches[i - 1]
        bwd = subs[i - 1][1]
        if norm_first:
            dh, dmem, g = bwd(d, c)
            dx, grads[f"norm{i}_weight"], grads[f"norm{i}_bias"] = layer_norm_backward(dh, ln)
            d = dx + d
        else:
            dz, grads[f"norm{i}_weight"], grads[f"norm{i}_bias"] = layer_norm_backward(d, ln)
            dh, dmem, g = bwd(dz, c)
            d = dh + dz
        grads.update(g)
        if dmem is not None:
            dmemory = dmem
    return d, dmemory, grads


def encoder_layer_forward(x, params, num_heads, mask=None, norm_first=False, eps=1e-5):
    subs = _sublayers(params, num_heads, (mask,), None, eps)
    out, caches = _run(x, params, subs, norm_first, eps)
    return out, (subs, caches, norm_first)


def encoder_layer_backward(dout, cache):
    subs, caches, norm_first = cache
    dx, _, grads = _back(dout, subs, caches, norm_first)
    return dx, grads


def decoder_layer_forward(x, memory, params, num_heads, tgt_mask=None, memory_mask=None, norm_first=False, eps=1e-5):
    subs = _sublayers(params, num_heads, (tgt_mask, memory_mask), memory, eps)
    out, caches = _run(x, params, subs, norm_first, eps)
    return out, (subs, caches, norm_first)


def decoder_layer_backward(dout, cache):
    subs, caches, norm_first = cache
    return _back(dout, subs, caches, norm_first)
