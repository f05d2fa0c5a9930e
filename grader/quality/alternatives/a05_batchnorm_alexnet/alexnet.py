"""Alternative a05 AlexNet: its own cache (a tape of backward functions), ReLU and flatten written
inline, and fc layers applied with a transposed matmul. The grader must give them full marks."""
import torch


def alexnet_forward(x, params, noise, arch=ALEXNET, p=0.5, train=True):  # noqa: F821 (the reference's table)
    weights, masks = list(params), list(noise or [])
    tape, h = [], x
    for spec in arch:
        kind = spec["type"]
        if kind == "conv":
            w, b = weights.pop(0)
            h, c = layers.conv_forward(h, w, b, spec["stride"], spec["pad"], spec["groups"])  # noqa: F821
            tape.append((layers.conv_backward, c, True))  # noqa: F821
        elif kind == "fc":
            w, b = weights.pop(0)
            tape.append((_fc_backward, (h, w), True))
            h = (w.T @ h.T).T + b
        elif kind == "relu":
            positive = h > 0
            h = torch.where(positive, h, torch.zeros_like(h))
            tape.append((lambda d, m: torch.where(m, d, torch.zeros_like(d)), positive, False))
        elif kind == "lrn":
            h, c = layers.lrn_forward(h, spec["k"], spec["n"], spec["alpha"], spec["beta"])  # noqa: F821
            tape.append((layers.lrn_backward, c, False))  # noqa: F821
        elif kind == "pool":
            h, c = layers.max_pool_forward(h, spec["kernel"], spec["stride"])  # noqa: F821
            tape.append((layers.max_pool_backward, c, False))  # noqa: F821
        elif kind == "flatten":
            tape.append((lambda d, shape: d.reshape(shape), h.shape, False))
            h = h.flatten(1)
        elif kind == "dropout":
            h, c = layers.dropout_forward(h, p, masks.pop(0) if train else None, train)  # noqa: F821
            tape.append((layers.dropout_backward, c, False))  # noqa: F821
    return h, tape


def _fc_backward(dout, cache):
    h, w = cache
    return dout @ w.T, h.T @ dout, dout.sum(0)


def alexnet_backward(dout, cache):
    grads, d = [], dout
    for backward, c, has_params in cache[::-1]:
        if has_params:
            d, dw, db = backward(d, c)
            grads.insert(0, (dw, db))
        else:
            d = backward(d, c)
    return grads
