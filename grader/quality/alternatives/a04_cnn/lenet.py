"""Alternative a04 LeNet-5: built on the naive convolution, the cache a dict, the backward a loop
over the layer list in reverse, and the SGD step written with torch.sub."""
import torch

_LAYERS = (("conv", "C1"), ("relu", None), ("pool", None), ("conv", "C3"), ("relu", None), ("pool", None),
           ("flatten", None), ("affine", "C5"), ("relu", None), ("affine", "F6"), ("relu", None), ("affine", "out"))


def lenet_forward(x, params):
    h, caches = x, []
    for kind, name in _LAYERS:
        if kind == "conv":
            h, c = conv.conv_forward_naive(h, params[name + "_w"], params[name + "_b"], 1, 0)
        elif kind == "relu":
            h, c = layers.relu_forward(h)
        elif kind == "pool":
            h, c = pool.max_pool_forward(h, 2, 2, 2)
        elif kind == "flatten":
            h, c = pool.flatten_forward(h)
        else:
            h, c = layers.affine_forward(h, params[name + "_w"], params[name + "_b"])
        caches.append(c)
    return h, {"layers": caches}


def lenet_backward(dscores, cache):
    d, grads = dscores, {}
    for (kind, name), c in zip(reversed(_LAYERS), reversed(cache["layers"])):
        if kind == "conv":
            d, grads[name + "_w"], grads[name + "_b"] = conv.conv_backward_naive(d, c)
        elif kind == "relu":
            d = layers.relu_backward(d, c)
        elif kind == "pool":
            d = pool.max_pool_backward(d, c)
        elif kind == "flatten":
            d = pool.flatten_backward(d, c)
        else:
            d, grads[name + "_w"], grads[name + "_b"] = layers.affine_backward(d, c)
    return grads


def lenet_train_step(x, y, params, lr):
    scores, cache = lenet_forward(x, params)
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    grads = lenet_backward(dscores, cache)
    return loss, {k: torch.sub(v, grads[k], alpha=lr) for k, v in params.items()}
