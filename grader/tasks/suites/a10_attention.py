"""What a10 (the attention family) checks: inputs for each task, and how each task is run.

Every attention's forward returns its output, its weights and a cache; both the output and the
weights are graded, and the backward (run on the student's own forward's cache) is graded on every
input's gradient. Sizes are distinct so a softmax or a product over the wrong axis cannot pass; case 0
has a batch of one; masks keep at least one position in every row and are left out in case 1; the
softmax's case ``LARGE_CASE`` holds scores near 1e3; d_k is at least 2, so a missing 1/sqrt(d_k) shows;
hard attention's noise stays clear of the cumulative probabilities' steps.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from grader.tasks.inputs import (batch_size, distinct_dims, large_magnitude, randint, randn, scalar, uniform,
                                 with_dout)
from grader.tasks.model import Suite, name_outputs, layer_pairs

SUITE = Suite("a10_attention")
F64 = torch.float64
SOFTMAX = ("masked_softmax_forward",)
SOFTMAX_BACK = ("masked_softmax_forward", "masked_softmax_backward")


def mask(g: torch.Generator, case: int, *shape: int) -> torch.Tensor | None:
    """A boolean mask (True: may attend) with about a third of the positions off and one position of
    every row (last axis) on; None in case 1."""
    if case == 1:
        return None
    m = uniform(g, *shape, low=0.0, high=1.0) > 0.35
    keep = torch.randint(0, shape[-1], shape[:-1], generator=g)
    m.scatter_(-1, keep.unsqueeze(-1), True)
    return m


def attention_pair(name: str, module: str, inputs: Callable, outputs: tuple[str, ...], grads: tuple[str, ...],
                   wrt: tuple[str, ...] | dict, dout_shape: Callable[[dict], tuple[int, ...]],
                   calls: tuple[str, ...] = SOFTMAX, back_calls: tuple[str, ...] = SOFTMAX_BACK,
                   convert: Callable[[Any, dict], dict] | None = None) -> None:
    """``{name}_forward`` (its ``outputs``, a cache last) and ``{name}_backward(dout, cache)`` (``grads``, the
    gradients of the inputs ``wrt``); ``convert(result, inputs)`` names a backward's nested results."""
    forward, backward = f"{name}_forward", f"{name}_backward"
    SUITE.call(forward, module, inputs, outputs, calls=calls)

    def fwd(m, **kw):
        kw.pop("dout")
        return getattr(getattr(m, module), forward)(**kw)[0]

    def run(m, **kw):
        dout = kw.pop("dout")
        *_, cache = getattr(getattr(m, module), forward)(**kw)
        result = getattr(getattr(m, module), backward)(dout, cache)
        return convert(result, kw) if convert else name_outputs(backward, result, grads)

    SUITE.composite(backward, module, with_dout(inputs, dout_shape), run,
                    wrt=wrt if isinstance(wrt, dict) else dict(zip(grads, wrt)), forward=fwd, upstream="dout",
                    calls=(forward,) + tuple(c for c in back_calls if c != forward))


# The masked softmax.

def softmax_inputs(g: torch.Generator, case: int) -> dict:
    a, b, c = distinct_dims(g, 3, 2, 5)
    a = 1 if case == 0 else a
    dim = [-1, -1, -1, 1, 0, 2][case % 6]
    x = randn(g, a, b, c, scale=2.0)
    m = mask(g, case, a, b, c)
    if m is not None:  # one position on along the softmax's axis, wherever it is
        m = m.movedim(dim, -1)
        m[..., 0] = True
        m = m.movedim(-1, dim).contiguous()
    return {"x": x, "mask": m, "dim": dim}


SUITE.call("masked_softmax_forward", "softmax", large_magnitude(softmax_inputs), ("p",))
SUITE.backward("masked_softmax_backward", "masked_softmax_forward", "softmax", with_dout(softmax_inputs))


# Additive (Bahdanau) attention.

def additive_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    t, ds, dh, a = distinct_dims(g, 4, 2, 6)
    return {"s": randn(g, n, ds), "h": randn(g, n, t, dh), "W": randn(g, ds, a, scale=0.7),
            "U": randn(g, dh, a, scale=0.7), "v": randn(g, a, scale=1.5), "mask": mask(g, case, n, t)}


attention_pair("additive_attention", "additive", additive_inputs, ("c", "alpha"), ("ds", "dh", "dW", "dU", "dv"),
               ("s", "h", "W", "U", "v"), lambda kw: (kw["h"].shape[0], kw["h"].shape[2]))


# Luong: scores, global attention with the attentional state, local-p attention.

SCORES = ("dot", "general", "concat", "general", "concat", "dot")


def luong_params(g: torch.Generator, score: str, dt: int, ds: int, a: int) -> list:
    return {"dot": [], "general": [randn(g, dt, ds, scale=0.7)],
            "concat": [randn(g, dt + ds, a, scale=0.7), randn(g, a, scale=1.5)]}[score]


def score_inputs(g: torch.Generator, case: int) -> dict:
    score = SCORES[case % 6]
    n = batch_size(g, case, 4)
    s, dt, ds, a = distinct_dims(g, 4, 2, 6)
    ds = dt if score == "dot" else ds
    return {"ht": randn(g, n, dt), "hs": randn(g, n, s, ds), "score": score,
            "params": luong_params(g, score, dt, ds, a)}


def luong_inputs(g: torch.Generator, case: int) -> dict:
    kw = score_inputs(g, case)
    n, s, ds = kw["hs"].shape
    dt = kw["ht"].shape[1]
    dout = randint(g, 2, 6)
    return {"ht": kw["ht"], "hs": kw["hs"], "Wc": randn(g, ds + dt, dout, scale=0.6), "score": kw["score"],
            "params": kw["params"], "mask": mask(g, case, n, s)}


def local_inputs(g: torch.Generator, case: int) -> dict:
    kw = luong_inputs(g, case)
    del kw["mask"]
    n, _, ds = kw["hs"].shape
    s = randint(g, 7, 11)  # longer sources, so the window leaves some positions out
    kw["hs"] = randn(g, n, s, ds)
    p = randint(g, 2, 4)
    kw.update(Wp=randn(g, kw["ht"].shape[1], p), vp=randn(g, p, scale=1.5), window=[2.0, 1.0, 3.0, 2.0][case % 4])
    return kw


def params_grads(names: tuple[str, ...]):
    def convert(result, kw):
        *front, dparams = result
        if not isinstance(dparams, (list, tuple)) or len(dparams) != len(kw["params"]):
            raise TypeError(f"the score's parameter gradients must be a list of {len(kw['params'])} tensors")
        out = dict(zip(names, front))
        out.update(zip(("dWa", "dva"), dparams))
        return out
    return convert


SCORE_WRT = {"dWa": "params.0", "dva": "params.1"}
SUITE.call("luong_score_forward", "luong", score_inputs, ("e",))
SUITE.composite("luong_score_backward", "luong", with_dout(score_inputs, lambda kw: tuple(kw["hs"].shape[:2])),
                lambda m, dout, **kw: params_grads(("dht", "dhs"))(
                    m.luong.luong_score_backward(dout, m.luong.luong_score_forward(**kw)[1]), kw),
                wrt={"dht": "ht", "dhs": "hs", **SCORE_WRT},
                forward=lambda m, dout, **kw: m.luong.luong_score_forward(**kw)[0], upstream="dout",
                calls=("luong_score_forward",))
LUONG_CALLS = ("luong_score_forward", "masked_softmax_forward")
LUONG_BACK = LUONG_CALLS + ("luong_score_backward", "masked_softmax_backward")
attention_pair("luong_global", "luong", luong_inputs, ("h_tilde", "alpha"), ("dht", "dhs", "dWc"),
               {"dht": "ht", "dhs": "hs", "dWc": "Wc", **SCORE_WRT}, lambda kw: (kw["ht"].shape[0], kw["Wc"].shape[1]),
               LUONG_CALLS, LUONG_BACK, params_grads(("dht", "dhs", "dWc")))
attention_pair("luong_local", "luong", local_inputs, ("h_tilde", "a"), ("dht", "dhs", "dWc", "dWp", "dvp"),
               {"dht": "ht", "dhs": "hs", "dWc": "Wc", "dWp": "Wp", "dvp": "vp", **SCORE_WRT},
               lambda kw: (kw["ht"].shape[0], kw["Wc"].shape[1]), LUONG_CALLS, LUONG_BACK,
               params_grads(("dht", "dhs", "dWc", "dWp", "dvp")))


# Show, Attend and Tell: soft attention, the doubly stochastic penalty, hard attention and REINFORCE.

def soft_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    l, d, h, a = distinct_dims(g, 4, 2, 6)
    return {"a": randn(g, n, l, d), "h": randn(g, n, h), "Wa": randn(g, d, a, scale=0.6),
            "Wh": randn(g, h, a, scale=0.6), "w": randn(g, a, scale=1.5), "wb": randn(g, h), "bb": randn(g, 1)}


attention_pair("soft_attention", "show_attend_tell", soft_inputs, ("z", "alpha"),
               ("da", "dh", "dWa", "dWh", "dw", "dwb", "dbb"), ("a", "h", "Wa", "Wh", "w", "wb", "bb"),
               lambda kw: (kw["a"].shape[0], kw["a"].shape[2]))


def probabilities(g: torch.Generator, n: int, l: int) -> torch.Tensor:
    return torch.softmax(randn(g, n, l, scale=1.5), dim=-1)


def penalty_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    c, l = distinct_dims(g, 2, 2, 6)
    return {"alphas": probabilities(g, n * c, l).reshape(n, c, l), "lam": scalar(g, 0.2, 2.0)}


def hard_inputs(g: torch.Generator, case: int) -> dict:
    n = [1, 2][case] if case < 2 else randint(g, 6, 12)
    l, d = distinct_dims(g, 2, 3, 7)
    alpha = probabilities(g, n, l)
    cdf = torch.cat([torch.zeros(n, 1, dtype=F64), alpha.cumsum(1)], dim=1)  # (N, L + 1)
    pick = torch.randint(0, l, (n,), generator=g)  # noise in the middle of a location's interval
    if case < 2:
        pick[:] = l - 1  # the last location, beyond the batch's size: an index clamped by N instead of L shows
    lo, hi = cdf.gather(1, pick[:, None])[:, 0], cdf.gather(1, pick[:, None] + 1)[:, 0]
    noise = lo + (hi - lo) * uniform(g, n, low=0.1, high=0.9)
    return {"alpha": alpha, "a": randn(g, n, l, d), "noise": noise}


def reinforce_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 6)
    l = randint(g, 2, 6) + (1 if n > 1 else 0)
    return {"e": randn(g, n, l, scale=1.5), "loc": torch.randint(0, l, (n,), generator=g),
            "reward": randn(g, n) + 1.0, "baseline": randn(g, 1), "momentum": scalar(g, 0.5, 0.95)}


SUITE.loss("doubly_stochastic_penalty", "show_attend_tell", penalty_inputs, wrt="alphas")
SUITE.call("hard_attention_sample", "show_attend_tell", hard_inputs, ("z", "loc"))
SUITE.call("reinforce_step", "show_attend_tell", reinforce_inputs, ("de", "baseline"), calls=SOFTMAX)


# Scaled dot-product and multi-head attention.

def sdpa_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 3)
    tq, tk, dk, dv = distinct_dims(g, 4, 2, 6)
    batch = (n,) if case % 2 == 0 else (n, randint(g, 2, 3))  # extra leading dims: heads
    m = mask(g, case, *batch, tq, tk)
    if m is not None and case == 3:
        m = m[..., :1, :, :].contiguous()  # broadcast along the heads
    return {"q": randn(g, *batch, tq, dk), "k": randn(g, *batch, tk, dk), "v": randn(g, *batch, tk, dv), "mask": m}


def mha_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 3)
    heads, dk = [(2, 3), (3, 2), (2, 2), (4, 2), (1, 5), (3, 3)][case % 6]
    e = heads * dk
    tq, tk = distinct_dims(g, 2, 2, 5)
    tk = tq if case == 2 else tk  # self-attention shapes
    xq = randn(g, n, tq, e)
    xkv = xq.clone() if case == 2 else randn(g, n, tk, e)
    w = {k: randn(g, e, e, scale=e ** -0.5 * 1.5) for k in ("Wq", "Wk", "Wv", "Wo")}
    m = mask(g, case, tq, tk) if case % 3 else mask(g, case, n, tq, tk)
    if case == 2 and m is not None:  # causal
        m = torch.ones(tq, tq, dtype=torch.bool).tril()
    return {"xq": xq, "xkv": xkv, **w, "heads": heads, "mask": m}


attention_pair("scaled_dot_attention", "self_attention", sdpa_inputs, ("out", "alpha"), ("dq", "dk", "dv"),
               ("q", "k", "v"), lambda kw: tuple(kw["q"].shape[:-1]) + (kw["v"].shape[-1],))
attention_pair("multi_head_attention", "self_attention", mha_inputs, ("out", "alpha"),
               ("dxq", "dxkv", "dWq", "dWk", "dWv", "dWo"), ("xq", "xkv", "Wq", "Wk", "Wv", "Wo"),
               lambda kw: tuple(kw["xq"].shape), ("scaled_dot_attention_forward",) + SOFTMAX,
               ("scaled_dot_attention_forward", "scaled_dot_attention_backward") + SOFTMAX_BACK)


# Hierarchical attention, attention over attention, multi-step attention.

def pooling_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    t, d, a = distinct_dims(g, 3, 2, 6)
    return {"h": randn(g, n, t, d), "W": randn(g, d, a, scale=0.7), "b": randn(g, a, scale=0.5),
            "u": randn(g, a, scale=1.5), "mask": mask(g, case, n, t)}


def han_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 3)
    s, t, d, a, b = distinct_dims(g, 5, 2, 5)
    m = mask(g, 0, n, s, t)  # documents always have padded words
    return {"h": randn(g, n, s, t, d), "mask": m, "Ww": randn(g, d, a, scale=0.7), "bw": randn(g, a, scale=0.5),
            "uw": randn(g, a, scale=1.5), "Ws": randn(g, d, b, scale=0.7), "bs": randn(g, b, scale=0.5),
            "us": randn(g, b, scale=1.5)}


def aoa_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    ld, lq, h = distinct_dims(g, 3, 2, 6)
    return {"d": randn(g, n, ld, h, scale=0.8), "q": randn(g, n, lq, h, scale=0.8)}


def multistep_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 3)
    tt, ts, c = distinct_dims(g, 3, 2, 5)
    layers = [1, 2, 3, 2][case % 4]
    return {"h": randn(g, n, tt, c, scale=0.7), "g": randn(g, n, tt, c, scale=0.7), "z": randn(g, n, ts, c, scale=0.7),
            "e": randn(g, n, ts, c, scale=0.7),
            "params": [[randn(g, c, c, scale=0.5), randn(g, c, scale=0.3)] for _ in range(layers)]}


attention_pair("attention_pooling", "combinations", pooling_inputs, ("s", "alpha"), ("dh", "dW", "db", "du"),
               ("h", "W", "b", "u"), lambda kw: (kw["h"].shape[0], kw["h"].shape[2]))
attention_pair("hierarchical_attention", "combinations", han_inputs, ("v", "word_alpha", "sent_alpha"),
               ("dh", "dWw", "dbw", "duw", "dWs", "dbs", "dus"), ("h", "Ww", "bw", "uw", "Ws", "bs", "us"),
               lambda kw: (kw["h"].shape[0], kw["h"].shape[3]), ("attention_pooling_forward",) + SOFTMAX,
               ("attention_pooling_forward", "attention_pooling_backward") + SOFTMAX_BACK)
attention_pair("attention_over_attention", "combinations", aoa_inputs, ("s",), ("dd", "dq"), ("d", "q"),
               lambda kw: tuple(kw["d"].shape[:2]))

MULTISTEP_WRT = {"dh": "h", "dg": "g", "dz": "z", "de": "e",
                 **{f"d{p}{i}": f"params.{i - 1}.{j}" for i in range(1, 4) for j, p in enumerate(("Wd", "bd"))}}


def multistep_grads(result, kw):
    if not isinstance(result, (tuple, list)) or len(result) != 5:
        raise TypeError("multistep_attention_backward must return (dh, dg, dz, de, dparams)")
    *front, dparams = result
    out = dict(zip(("dh", "dg", "dz", "de"), front))
    out.update(layer_pairs("multistep_attention_backward", dparams, len(kw["params"]), ("dWd", "dbd")))
    return out


attention_pair("multistep_attention", "combinations", multistep_inputs, ("out", "attn"), (), MULTISTEP_WRT,
               lambda kw: tuple(kw["h"].shape), convert=multistep_grads)


# Multi-dimensional attention and the structured self-attentive embedding.

def disan_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    t, d = distinct_dims(g, 2, 2, 6)
    return {"x": randn(g, n, t, d), "W1": randn(g, d, d, scale=0.8), "b1": randn(g, d, scale=0.5),
            "W": randn(g, d, d, scale=0.8), "b": randn(g, d, scale=0.5), "mask": mask(g, case, n, t)}


def structured_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    t, d, da, r = distinct_dims(g, 4, 2, 6)
    return {"H": randn(g, n, t, d), "W1": randn(g, da, d, scale=0.7), "W2": randn(g, r, da, scale=1.2),
            "mask": mask(g, case, n, t)}


def structured_penalty_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    r, t = distinct_dims(g, 2, 2, 6)
    return {"A": probabilities(g, n * r, t).reshape(n, r, t), "coef": scalar(g, 0.1, 1.5)}


attention_pair("multidim_attention", "multidim", disan_inputs, ("s", "P"), ("dx", "dW1", "db1", "dW", "db"),
               ("x", "W1", "b1", "W", "b"), lambda kw: (kw["x"].shape[0], kw["x"].shape[2]))
attention_pair("structured_attention", "multidim", structured_inputs, ("M", "A"), ("dH", "dW1", "dW2"),
               ("H", "W1", "W2"), lambda kw: (kw["H"].shape[0], kw["W2"].shape[0], kw["H"].shape[2]))
SUITE.loss("structured_penalty", "multidim", structured_penalty_inputs, wrt="A")


# Memory networks.

def memory_inputs(g: torch.Generator, case: int) -> dict:
    n = batch_size(g, case, 4)
    slots, d = distinct_dims(g, 2, 2, 6)
    return {"u": randn(g, n, d), "mi": randn(g, n, slots, d, scale=0.6), "ci": randn(g, n, slots, d, scale=0.6),
            "hops": [1, 3, 2, 3, 2, 1][case % 6], "mask": mask(g, case, n, slots)}


attention_pair("memory_network", "memory", memory_inputs, ("u", "p"), ("du", "dmi", "dci"), ("u", "mi", "ci"),
               lambda kw: tuple(kw["u"].shape))
