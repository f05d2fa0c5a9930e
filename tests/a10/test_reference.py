"""a10 reference against ground truth: F.scaled_dot_product_attention, nn.MultiheadAttention, torch.softmax,
autograd and float64 central differences for every backward, and the mechanisms' properties."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a10_attention import additive, combinations, luong, memory, multidim, self_attention, show_attend_tell
from reference.a10_attention import softmax as sm
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=8, deadline=None)
CLOSE = dict(rtol=1e-9, atol=1e-10)


def mask_of(seed: int, *shape: int) -> torch.Tensor:
    """A boolean mask with a True at the first position of every row, so no row is fully masked."""
    m = tensor(seed, *shape) > -0.3
    m[..., 0] = True
    return m


def get(kw: dict, path: str):
    node = kw
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
    return node


def flat(result) -> list:
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in flat(r)]
    return [result]


def leaf_copy(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().clone().requires_grad_(True)
    if isinstance(value, (list, tuple)):
        return [leaf_copy(v) for v in value]
    return value


def autograd_check(forward, backward, kw: dict, wrt: list[str], seed: int):
    """The hand-written backward against autograd through the same forward, for a random upstream gradient."""
    out, *_, cache = forward(**kw)
    dout = tensor(seed + 99, *out.shape)
    grads = flat(backward(dout, cache))
    assert len(grads) == len(wrt)
    leaves = {k: leaf_copy(v) for k, v in kw.items()}
    with torch.enable_grad():
        (forward(**leaves)[0] * dout).sum().backward()
    for path, got in zip(wrt, grads):
        expected = get(leaves, path).grad
        assert got.shape == expected.shape, path
        torch.testing.assert_close(got, expected, **CLOSE, msg=path)
    return out, dout, grads


def additive_kw(seed, n=3, t=5, ds=4, dh=6, a=3, masked=True):
    return {"s": tensor(seed, n, ds), "h": tensor(seed + 1, n, t, dh), "W": tensor(seed + 2, ds, a),
            "U": tensor(seed + 3, dh, a), "v": tensor(seed + 4, a), "mask": mask_of(seed + 5, n, t) if masked else None}


def luong_params(seed, score, dt, ds_, a=3):
    return {"dot": [], "general": [tensor(seed, dt, ds_)],
            "concat": [tensor(seed, dt + ds_, a), tensor(seed + 1, a)]}[score]


def luong_kw(seed, score, n=3, s=6, dt=4, dout_=5, masked=True):
    ds_ = dt if score == "dot" else dt + 1
    return {"ht": tensor(seed, n, dt), "hs": tensor(seed + 1, n, s, ds_), "Wc": tensor(seed + 2, ds_ + dt, dout_),
            "score": score, "params": luong_params(seed + 3, score, dt, ds_),
            "mask": mask_of(seed + 5, n, s) if masked else None}


def local_kw(seed, score, window=2.0):
    kw = luong_kw(seed, score, s=9)
    del kw["mask"]
    return {**kw, "Wp": tensor(seed + 6, 4, 3), "vp": tensor(seed + 7, 3), "window": window}


def params_paths(kw):
    return [f"params.{i}" for i in range(len(kw["params"]))]


def sat_kw(seed, n=2, l=5, d=4, h=3, a=6):
    return {"a": tensor(seed, n, l, d), "h": tensor(seed + 1, n, h), "Wa": tensor(seed + 2, d, a),
            "Wh": tensor(seed + 3, h, a), "w": tensor(seed + 4, a), "wb": tensor(seed + 5, h),
            "bb": tensor(seed + 6, 1)}


def mha_kw(seed, n=2, tq=3, tk=5, e=6, heads=3, masked=True):
    return {"xq": tensor(seed, n, tq, e), "xkv": tensor(seed + 1, n, tk, e),
            **{w: tensor(seed + i, e, e, scale=0.5) for i, w in enumerate(("Wq", "Wk", "Wv", "Wo"), 2)},
            "heads": heads, "mask": mask_of(seed + 7, tq, tk) if masked else None}


def pool_kw(seed, n=3, t=5, d=4, a=3):
    return {"h": tensor(seed, n, t, d), "W": tensor(seed + 1, d, a), "b": tensor(seed + 2, a),
            "u": tensor(seed + 3, a), "mask": mask_of(seed + 4, n, t)}


def han_kw(seed, n=2, s=3, t=4, d=5, a=3, b=2):
    return {"h": tensor(seed, n, s, t, d), "mask": mask_of(seed + 1, n, s, t), "Ww": tensor(seed + 2, d, a),
            "bw": tensor(seed + 3, a), "uw": tensor(seed + 4, a), "Ws": tensor(seed + 5, d, b),
            "bs": tensor(seed + 6, b), "us": tensor(seed + 7, b)}


def multistep_kw(seed, layers=2, n=2, tt=3, ts=4, c=5):
    return {"h": tensor(seed, n, tt, c), "g": tensor(seed + 1, n, tt, c), "z": tensor(seed + 2, n, ts, c),
            "e": tensor(seed + 3, n, ts, c),
            "params": [[tensor(seed + 4 + i, c, c, scale=0.4), tensor(seed + 10 + i, c)] for i in range(layers)]}


def disan_kw(seed, n=2, t=5, d=4):
    return {"x": tensor(seed, n, t, d), "W1": tensor(seed + 1, d, d), "b1": tensor(seed + 2, d),
            "W": tensor(seed + 3, d, d), "b": tensor(seed + 4, d), "mask": mask_of(seed + 5, n, t)}


def structured_kw(seed, n=2, t=6, d=4, da=5, r=3):
    return {"H": tensor(seed, n, t, d), "W1": tensor(seed + 1, da, d), "W2": tensor(seed + 2, r, da),
            "mask": mask_of(seed + 3, n, t)}


def memory_kw(seed, hops=3, n=2, m=5, d=4):
    return {"u": tensor(seed, n, d), "mi": tensor(seed + 1, n, m, d, scale=0.5),
            "ci": tensor(seed + 2, n, m, d, scale=0.5),
            "hops": hops, "mask": mask_of(seed + 3, n, m)}


# (forward, backward, inputs(seed), the inputs the backward's results differentiate, in order)
MECHANISMS = {
    "softmax": (sm.masked_softmax_forward, sm.masked_softmax_backward,
                lambda s: {"x": tensor(s, 3, 4, 5), "mask": mask_of(s + 1, 3, 4, 5), "dim": -1}, ["x"]),
    "softmax dim 1": (sm.masked_softmax_forward, sm.masked_softmax_backward,
                      lambda s: {"x": tensor(s, 3, 4, 5), "dim": 1}, ["x"]),
    "additive": (additive.additive_attention_forward, additive.additive_attention_backward, additive_kw,
                 ["s", "h", "W", "U", "v"]),
    **{f"luong global {sc}": (luong.luong_global_forward, luong.luong_global_backward,
                              lambda s, sc=sc: luong_kw(s, sc), ["ht", "hs", "Wc"] + params_paths(luong_kw(0, sc)))
       for sc in ("dot", "general", "concat")},
    **{f"luong local {sc}": (luong.luong_local_forward, luong.luong_local_backward,
                             lambda s, sc=sc: local_kw(s, sc),
                             ["ht", "hs", "Wc", "Wp", "vp"] + params_paths(local_kw(0, sc)))
       for sc in ("dot", "general", "concat")},
    "soft attention": (show_attend_tell.soft_attention_forward, show_attend_tell.soft_attention_backward, sat_kw,
                       ["a", "h", "Wa", "Wh", "w", "wb", "bb"]),
    "scaled dot-product": (self_attention.scaled_dot_attention_forward, self_attention.scaled_dot_attention_backward,
                           lambda s: {"q": tensor(s, 2, 3, 4, 5), "k": tensor(s + 1, 2, 3, 6, 5),
                                      "v": tensor(s + 2, 2, 3, 6, 2), "mask": mask_of(s + 3, 2, 1, 4, 6)},
                           ["q", "k", "v"]),
    "multi-head": (self_attention.multi_head_attention_forward, self_attention.multi_head_attention_backward, mha_kw,
                   ["xq", "xkv", "Wq", "Wk", "Wv", "Wo"]),
    "attention pooling": (combinations.attention_pooling_forward, combinations.attention_pooling_backward, pool_kw,
                          ["h", "W", "b", "u"]),
    "hierarchical": (combinations.hierarchical_attention_forward, combinations.hierarchical_attention_backward,
                     han_kw, ["h", "Ww", "bw", "uw", "Ws", "bs", "us"]),
    "attention over attention": (combinations.attention_over_attention_forward,
                                 combinations.attention_over_attention_backward,
                                 lambda s: {"d": tensor(s, 2, 6, 4), "q": tensor(s + 1, 2, 3, 4)}, ["d", "q"]),
    "multi-step": (combinations.multistep_attention_forward, combinations.multistep_attention_backward, multistep_kw,
                   ["h", "g", "z", "e", "params.0.0", "params.0.1", "params.1.0", "params.1.1"]),
    "multi-dimensional": (multidim.multidim_attention_forward, multidim.multidim_attention_backward, disan_kw,
                          ["x", "W1", "b1", "W", "b"]),
    "structured": (multidim.structured_attention_forward, multidim.structured_attention_backward, structured_kw,
                   ["H", "W1", "W2"]),
    "memory network": (memory.memory_network_forward, memory.memory_network_backward, memory_kw, ["u", "mi", "ci"]),
}


@pytest.mark.parametrize("name", list(MECHANISMS))
@settings(max_examples=3, deadline=None)
@given(seed=seeds)
def test_backward_matches_autograd(name, seed):
    forward, backward, make, wrt = MECHANISMS[name]
    out, *_ = forward(**make(seed))
    assert out.dtype == F64
    autograd_check(forward, backward, make(seed), wrt, seed)


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_backward_matches_finite_differences(name):
    """The first and last differentiated input, by float64 central differences."""
    forward, backward, make, wrt = MECHANISMS[name]
    kw = make(7)
    out, *_, cache = forward(**kw)
    dout = tensor(8, *out.shape)
    grads = flat(backward(dout, cache))
    for i in sorted({0, len(wrt) - 1}):
        path = wrt[i]

        def f(value, path=path):
            k = {key: [list(p) if isinstance(p, (list, tuple)) else p for p in v] if isinstance(v, list) else v
                 for key, v in kw.items()}
            parts = path.split(".")
            if len(parts) == 1:
                k[path] = value
            elif len(parts) == 2:
                k[parts[0]][int(parts[1])] = value
            else:
                k[parts[0]][int(parts[1])][int(parts[2])] = value
            return forward(**k)[0]
        torch.testing.assert_close(grads[i], numeric_grad(f, get(kw, path), dout), rtol=1e-6, atol=1e-7, msg=path)


# Forwards against torch's own modules and the papers' formulas.

@SETTINGS
@given(seed=seeds, dim=st.sampled_from([0, 1, -1]))
def test_masked_softmax_matches_torch_softmax(seed, dim):
    x, mask = tensor(seed, 4, 3, 5, scale=3.0), mask_of(seed + 1, 4, 3, 5)
    mask.select(dim, 0).fill_(True)
    p, _ = sm.masked_softmax_forward(x, mask, dim)
    torch.testing.assert_close(p, torch.softmax(x.masked_fill(~mask, -math.inf), dim), **CLOSE)
    big, _ = sm.masked_softmax_forward(x * 1e3, None, dim)
    assert torch.isfinite(big).all()


@SETTINGS
@given(seed=seeds, masked=st.booleans())
def test_scaled_dot_attention_matches_torch(seed, masked):
    q, k, v = tensor(seed, 2, 3, 4, 5), tensor(seed + 1, 2, 3, 6, 5), tensor(seed + 2, 2, 3, 6, 7)
    mask = mask_of(seed + 3, 2, 1, 4, 6) if masked else None
    out, alpha, _ = self_attention.scaled_dot_attention_forward(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **CLOSE)
    assert alpha.shape == (2, 3, 4, 6)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 3, 4, dtype=F64), **CLOSE)


@SETTINGS
@given(seed=seeds, heads=st.sampled_from([1, 2, 3, 6]), masked=st.booleans())
def test_multi_head_attention_matches_nn_multiheadattention(seed, heads, masked):
    kw = mha_kw(seed, heads=heads, masked=masked)
    out, alpha, _ = self_attention.multi_head_attention_forward(**kw)
    mha = torch.nn.MultiheadAttention(6, heads, bias=False, batch_first=True, dtype=F64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([kw["Wq"].T, kw["Wk"].T, kw["Wv"].T]))
        mha.out_proj.weight.copy_(kw["Wo"].T)
    mask = None if kw["mask"] is None else ~kw["mask"]  # its boolean mask: True = may NOT attend
    ref, ref_alpha = mha(kw["xq"], kw["xkv"], kw["xkv"], attn_mask=mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref.detach(), **CLOSE)
    torch.testing.assert_close(alpha, ref_alpha.detach(), **CLOSE)


def test_additive_attention_follows_bahdanau_formula():
    kw = additive_kw(3)
    c, alpha, _ = additive.additive_attention_forward(**kw)
    for n in range(3):
        e = torch.stack([kw["v"] @ torch.tanh(kw["s"][n] @ kw["W"] + kw["h"][n, j] @ kw["U"]) for j in range(5)])
        a = torch.softmax(e.masked_fill(~kw["mask"][n], -math.inf), 0)
        torch.testing.assert_close(alpha[n], a, **CLOSE)
        torch.testing.assert_close(c[n], a @ kw["h"][n], **CLOSE)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_luong_scores_and_attentional_state_follow_the_paper(score):
    kw = luong_kw(4, score, masked=False)
    h_tilde, alpha, _ = luong.luong_global_forward(**kw)
    ht, hs, Wc, params = kw["ht"], kw["hs"], kw["Wc"], kw["params"]
    for n in range(3):
        if score == "dot":
            e = hs[n] @ ht[n]
        elif score == "general":
            e = hs[n] @ (params[0].T @ ht[n])  # h_t^T W_a h_s with W_a (Dt, Ds)
        else:
            e = torch.stack([params[1] @ torch.tanh(torch.cat([ht[n], hs[n, s]]) @ params[0]) for s in range(6)])
        a = torch.softmax(e, 0)
        torch.testing.assert_close(alpha[n], a, **CLOSE)
        torch.testing.assert_close(h_tilde[n], torch.tanh(torch.cat([a @ hs[n], ht[n]]) @ Wc), **CLOSE)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_local_p_with_an_unbounded_window_is_global_attention(score):
    """window D = inf: every position is inside and sigma = D / 2 = inf removes the Gaussian decay."""
    kw = local_kw(5, score, window=math.inf)
    h_local, a_local, cache = luong.luong_local_forward(**kw)
    glob = {k: v for k, v in kw.items() if k not in ("Wp", "vp", "window")}
    h_global, a_global, gcache = luong.luong_global_forward(**glob)
    torch.testing.assert_close(h_local, h_global, **CLOSE)
    torch.testing.assert_close(a_local, a_global, **CLOSE)
    dout = tensor(6, *h_local.shape)
    local_grads, global_grads = luong.luong_local_backward(dout, cache), luong.luong_global_backward(dout, gcache)
    for got, expected in zip(flat(local_grads[:3]) + flat(local_grads[5]), flat(global_grads)):
        torch.testing.assert_close(got, expected, **CLOSE)
    assert float(local_grads[3].abs().max()) == 0.0 == float(local_grads[4].abs().max())  # p_t plays no part


def test_local_p_window_is_centred_on_the_predicted_position():
    kw = local_kw(9, "general", window=2.0)
    _, a, _ = luong.luong_local_forward(**kw)
    p = 9 * torch.sigmoid(torch.tanh(kw["ht"] @ kw["Wp"]) @ kw["vp"])
    pos = torch.arange(9, dtype=F64)
    inside = (pos[None] - p[:, None]).abs() <= 2.0
    assert (a[~inside] == 0).all() and (a[inside] > 0).all()
    assert (a.sum(1) < 1).all()  # the Gaussian scales the window's softmax down


def test_soft_attention_gate_scales_the_context():
    kw = sat_kw(1)
    z, alpha, _ = show_attend_tell.soft_attention_forward(**kw)
    beta = torch.sigmoid(kw["h"] @ kw["wb"] + kw["bb"])
    torch.testing.assert_close(z, beta[:, None] * (alpha[:, :, None] * kw["a"]).sum(1), **CLOSE)


def test_doubly_stochastic_penalty_matches_autograd():
    alphas = torch.softmax(tensor(2, 3, 4, 5), -1)
    loss, grad = show_attend_tell.doubly_stochastic_penalty(alphas, 0.7)
    x = alphas.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = 0.7 * ((1 - x.sum(1)) ** 2).sum()
        ref.backward()
    torch.testing.assert_close(loss, ref.detach(), **CLOSE)
    torch.testing.assert_close(grad, x.grad, **CLOSE)


def test_hard_attention_samples_by_inversion_with_the_given_noise():
    alpha = torch.softmax(tensor(3, 1, 6), -1).expand(20000, 6)
    a = tensor(4, 1, 6, 3).expand(20000, 6, 3)
    noise = torch.rand(20000, generator=torch.Generator().manual_seed(0), dtype=F64)
    z, loc = show_attend_tell.hard_attention_sample(alpha, a, noise)
    assert loc.dtype == torch.int64
    assert torch.equal(loc, torch.searchsorted(alpha[0].cumsum(0), noise, right=True))
    torch.testing.assert_close(z, a[0, loc], **CLOSE)
    freq = torch.bincount(loc, minlength=6).to(F64) / 20000
    assert float((freq - alpha[0]).abs().max()) < 0.015


@pytest.mark.parametrize("baseline", [0.0, 0.8])
def test_reinforce_estimator_enumerated_is_the_exact_gradient(baseline):
    """sum_s alpha_s * estimate(s) = d/de sum_s alpha_s R_s, whatever the baseline."""
    n, l = 3, 5
    e, rewards = tensor(11, n, l), tensor(12, n, l)  # the reward each location would earn
    b = torch.tensor([baseline], dtype=F64)
    alpha = torch.softmax(e, -1)
    expected_estimate = torch.zeros(n, l, dtype=F64)
    for s in range(l):
        loc = torch.full((n,), s)
        de, new_b = show_attend_tell.reinforce_step(e, loc, rewards[:, s], b, 0.9)
        expected_estimate += alpha[:, s:s + 1] * de
        torch.testing.assert_close(new_b, 0.9 * b + 0.1 * rewards[:, s].mean(), **CLOSE)
    x = e.clone().requires_grad_(True)
    with torch.enable_grad():
        (torch.softmax(x, -1) * rewards).sum(1).mean().backward()
    torch.testing.assert_close(expected_estimate, x.grad, **CLOSE)


def test_hierarchical_attention_is_two_poolings():
    kw = han_kw(2)
    v, word_alpha, sent_alpha, _ = combinations.hierarchical_attention_forward(**kw)
    for n in range(2):
        sents = []
        for s in range(3):
            sv, a, _ = combinations.attention_pooling_forward(kw["h"][n, s][None], kw["Ww"], kw["bw"], kw["uw"],
                                                             kw["mask"][n, s][None])
            torch.testing.assert_close(word_alpha[n, s], a[0], **CLOSE)
            sents.append(sv[0])
        doc, a, _ = combinations.attention_pooling_forward(torch.stack(sents)[None], kw["Ws"], kw["bs"], kw["us"])
        torch.testing.assert_close(v[n], doc[0], **CLOSE)
        torch.testing.assert_close(sent_alpha[n], a[0], **CLOSE)


def test_attention_over_attention_follows_cui_et_al():
    d, q = tensor(1, 2, 6, 4), tensor(2, 2, 3, 4)
    s, _ = combinations.attention_over_attention_forward(d, q)
    m = torch.einsum("nih,njh->nij", d, q)
    alpha, beta = torch.softmax(m, 1), torch.softmax(m, 2)
    torch.testing.assert_close(s, torch.einsum("nij,nj->ni", alpha, beta.mean(1)), **CLOSE)
    torch.testing.assert_close(s.sum(1), torch.ones(2, dtype=F64), **CLOSE)  # a distribution over the document


def test_multistep_attention_has_one_attention_per_layer():
    kw = multistep_kw(3, layers=3)
    out, attn, _ = combinations.multistep_attention_forward(**kw)
    h = kw["h"]
    for layer, (Wd, bd) in enumerate(kw["params"]):
        a = torch.softmax((h @ Wd + bd + kw["g"]) @ kw["z"].transpose(1, 2), -1)
        torch.testing.assert_close(attn[layer], a, **CLOSE)
        h = h + a @ (kw["z"] + kw["e"])
    torch.testing.assert_close(out, h, **CLOSE)


def test_equal_feature_scores_reduce_multidimensional_to_vector_attention():
    kw = disan_kw(4)
    kw["W"] = tensor(5, 4, 1).expand(4, 4).contiguous()  # every feature's score is the same
    kw["b"] = torch.full((4,), 0.3, dtype=F64)
    s, P, _ = multidim.multidim_attention_forward(**kw)
    act = F.elu(kw["x"] @ kw["W1"] + kw["b1"])
    score = (act @ kw["W"][:, 0] + 0.3).masked_fill(~kw["mask"], -math.inf)  # (N, T), one score per position
    alpha = torch.softmax(score, 1)
    torch.testing.assert_close(P, alpha[:, :, None].expand(-1, -1, 4), **CLOSE)
    torch.testing.assert_close(s, (alpha[:, :, None] * kw["x"]).sum(1), **CLOSE)


def test_multidimensional_attention_matches_elu_formula():
    kw = disan_kw(6)
    s, P, _ = multidim.multidim_attention_forward(**kw)
    f = F.elu(kw["x"] @ kw["W1"] + kw["b1"]) @ kw["W"] + kw["b"]
    ref = torch.softmax(f.masked_fill(~kw["mask"][:, :, None], -math.inf), 1)
    torch.testing.assert_close(P, ref, **CLOSE)


def test_structured_attention_and_its_penalty():
    kw = structured_kw(2)
    M, A, _ = multidim.structured_attention_forward(**kw)
    scores = kw["W2"] @ torch.tanh(kw["W1"] @ kw["H"].transpose(1, 2))
    ref_A = torch.softmax(scores.masked_fill(~kw["mask"][:, None, :], -math.inf), 2)
    torch.testing.assert_close(A, ref_A, **CLOSE)
    torch.testing.assert_close(M, ref_A @ kw["H"], **CLOSE)
    x = A.clone().requires_grad_(True)
    with torch.enable_grad():
        ref = 0.3 * torch.linalg.matrix_norm(x @ x.transpose(1, 2) - torch.eye(3, dtype=F64)).pow(2).sum()
        ref.backward()
    loss, dA = multidim.structured_penalty(A, 0.3)
    torch.testing.assert_close(loss, ref.detach(), **CLOSE)
    torch.testing.assert_close(dA, x.grad, **CLOSE)
    rows = torch.eye(3, 6, dtype=F64)[None]  # one-hot rows on distinct positions: A A^T = I, no penalty
    assert float(multidim.structured_penalty(rows, 1.0)[0]) == 0.0


def test_memory_network_hops_add_what_they_read():
    kw = memory_kw(3, hops=2)
    u, p, _ = memory.memory_network_forward(**kw)
    q = kw["u"]
    for hop in range(2):
        a = torch.softmax(torch.einsum("nmd,nd->nm", kw["mi"], q).masked_fill(~kw["mask"], -math.inf), 1)
        torch.testing.assert_close(p[:, hop], a, **CLOSE)
        q = q + torch.einsum("nm,nmd->nd", a, kw["ci"])
    torch.testing.assert_close(u, q, **CLOSE)
