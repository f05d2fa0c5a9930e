"""CapsNet (Sabour, Frosst and Hinton 2017): conv1 -> PrimaryCaps -> DigitCaps (dynamic routing) -> margin loss,
plus the masked reconstruction decoder. Built from capsules.py and losses.py; nothing here is graded.

A configuration names the sizes; ``MNIST`` is the paper's. Parameters are a dict of tensors:
conv1_w (F1, C, K1, K1), conv1_b (F1,), primary_w (T * D8, F1, K2, K2), primary_b (T * D8,),
digit_W (I, J, D, D8) and decoder [(W1, b1), ...]. The routing logits are not parameters.
"""
from __future__ import annotations

import torch

from . import capsules, losses

Tensor = torch.Tensor

# The paper's network: 28 x 28 images, conv1 256 9 x 9 kernels (stride 1, ReLU), PrimaryCaps 32 types of
# 8-D capsules from 9 x 9 kernels with stride 2, DigitCaps 10 capsules of 16-D, decoder 512 -> 1024 -> 784.
MNIST = {"image": (1, 28, 28), "conv1": (256, 9), "primary": (32, 8, 9, 2), "digits": (10, 16),
         "decoder": (512, 1024)}


def shapes(config: dict) -> dict:
    """Every activation's shape for one image: conv1 (F1, H1, W1), primary (I, D8), digits (J, D), image P."""
    c, h, w = config["image"]
    f1, k1 = config["conv1"]
    types, d8, k2, s2 = config["primary"]
    h1, w1 = h - k1 + 1, w - k1 + 1
    h2, w2 = (h1 - k2) // s2 + 1, (w1 - k2) // s2 + 1
    return {"conv1": (f1, h1, w1), "primary": (types * h2 * w2, d8), "digits": config["digits"], "pixels": c * h * w}


def init(config: dict, generator: torch.Generator, dtype=torch.float64) -> dict:
    """Weights N(0, 1/fan_in), DigitCaps' at half that scale (routing starts unsaturated), zero biases."""
    c, _, _ = config["image"]
    f1, k1 = config["conv1"]
    types, d8, k2, _ = config["primary"]
    j, d = config["digits"]
    i = shapes(config)["primary"][0]

    def normal(*shape, fan_in):
        return torch.randn(*shape, generator=generator, dtype=dtype) / fan_in ** 0.5

    sizes = [j * d, *config["decoder"], shapes(config)["pixels"]]
    return {"conv1_w": normal(f1, c, k1, k1, fan_in=c * k1 * k1), "conv1_b": torch.zeros(f1, dtype=dtype),
            "primary_w": normal(types * d8, f1, k2, k2, fan_in=f1 * k2 * k2),
            "primary_b": torch.zeros(types * d8, dtype=dtype),
            "digit_W": normal(i, j, d, d8, fan_in=d8) * 0.5,
            "decoder": [(normal(a, b, fan_in=a), torch.zeros(b, dtype=dtype)) for a, b in zip(sizes[:-1], sizes[1:])]}


def parameter_counts(params: dict) -> dict:
    """Number of parameters per layer, counted from the tensors themselves."""
    counts = {"conv1": params["conv1_w"].numel() + params["conv1_b"].numel(),
              "primary": params["primary_w"].numel() + params["primary_b"].numel(),
              "digits": params["digit_W"].numel(),
              "decoder": sum(w.numel() + b.numel() for w, b in params["decoder"])}
    counts["without decoder"] = counts["conv1"] + counts["primary"] + counts["digits"]
    counts["total"] = counts["without decoder"] + counts["decoder"]
    return counts


def conv1_forward(x: Tensor, w: Tensor, b: Tensor) -> tuple[Tensor, tuple]:
    """A stride-1 convolution without padding and a ReLU: x (N, C, H, W) -> (N, F, H', W')."""
    n, _, h, wd = x.shape
    f, _, k, _ = w.shape
    cols = capsules.im2col(x, k, 1)  # (N, C*K*K, H'*W')
    out = (w.reshape(f, -1) @ cols + b[:, None]).clamp(min=0.0)  # (N, F, H'*W')
    return out.reshape(n, f, h - k + 1, wd - k + 1), (x, w, cols, out)


def conv1_backward(dout: Tensor, cache: tuple) -> tuple[Tensor, Tensor]:
    """Gradients (dw, db) of conv1_forward (the image needs none)."""
    x, w, cols, out = cache
    dz = dout.reshape(out.shape) * (out > 0)  # (N, F, H'*W')
    return torch.einsum("nfl,nkl->fk", dz, cols).reshape(w.shape), dz.sum(dim=(0, 2))


def forward(params: dict, x: Tensor, config: dict, iterations: int = 3) -> tuple[Tensor, tuple]:
    """The digit capsules v (N, J, D) of images x (N, C, H, W), and the cache for :func:`backward`."""
    _, _, _, stride = config["primary"]
    h, conv_cache = conv1_forward(x, params["conv1_w"], params["conv1_b"])  # (N, F1, H1, W1)
    u, primary_cache = capsules.primary_caps_forward(h, params["primary_w"], params["primary_b"],
                                                     config["primary"][1], stride)  # (N, I, D8)
    u_hat, pred_cache = capsules.predictions_forward(u, params["digit_W"])  # (N, I, J, D)
    v, routing_cache = capsules.routing_forward(u_hat, iterations)  # (N, J, D)
    return v, (conv_cache, primary_cache, pred_cache, routing_cache)


def predict(v: Tensor) -> Tensor:
    """The class of the longest digit capsule: (N, J, D) -> (N,)."""
    return (v * v).sum(dim=2).argmax(dim=1)


def loss_and_grads(params: dict, x: Tensor, y: Tensor, config: dict, iterations: int = 3,
                   scale: float = 0.0005) -> tuple[float, float, dict]:
    """Margin loss plus ``scale`` x reconstruction loss of a batch; returns (margin, reconstruction, grads)."""
    v, (conv_cache, primary_cache, pred_cache, routing_cache) = forward(params, x, config, iterations)
    margin, dv = losses.margin_loss(v, y)
    recon, dv_recon, ddecoder = losses.reconstruction_loss(v, y, x.reshape(len(x), -1), params["decoder"], scale)
    du_hat = capsules.routing_backward(dv + dv_recon, routing_cache)
    du, dW = capsules.predictions_backward(du_hat, pred_cache)
    dh, dpw, dpb = capsules.primary_caps_backward(du, primary_cache)
    dcw, dcb = conv1_backward(dh, conv_cache)
    grads = {"conv1_w": dcw, "conv1_b": dcb, "primary_w": dpw, "primary_b": dpb, "digit_W": dW,
             "decoder": ddecoder}
    return float(margin), float(recon), grads


def adam(params: dict, grads: dict, state: dict, lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> dict:
    """One Adam step (Kingma and Ba) over a tree of parameters; ``state`` holds the moments and the step count."""
    flat_p, flat_g = _flatten(params), _flatten(grads)
    if not state:
        state.update(t=0, m=[torch.zeros_like(p) for p in flat_p], v=[torch.zeros_like(p) for p in flat_p])
    state["t"] += 1
    b1, b2 = betas
    new = []
    for k, (p, g) in enumerate(zip(flat_p, flat_g)):
        state["m"][k] = b1 * state["m"][k] + (1 - b1) * g
        state["v"][k] = b2 * state["v"][k] + (1 - b2) * g * g
        m_hat = state["m"][k] / (1 - b1 ** state["t"])
        v_hat = state["v"][k] / (1 - b2 ** state["t"])
        new.append(p - lr * m_hat / (v_hat.sqrt() + eps))
    return _unflatten(params, new)


def _flatten(tree: dict) -> list[Tensor]:
    out = []
    for key in sorted(tree):
        out += [t for pair in tree[key] for t in pair] if key == "decoder" else [tree[key]]
    return out


def _unflatten(like: dict, flat: list[Tensor]) -> dict:
    out, k = {}, 0
    for key in sorted(like):
        if key == "decoder":
            out[key] = [(flat[k + 2 * l], flat[k + 2 * l + 1]) for l in range(len(like[key]))]
            k += 2 * len(like[key])
        else:
            out[key], k = flat[k], k + 1
    return out
