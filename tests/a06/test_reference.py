"""a06 reference against ground truth: enumeration of a tiny RBM, autograd of free energies, scikit-learn's
BernoulliRBM, torch.softmax, loops, and the Hopfield invariants (energy never rises, stored patterns rest)."""
from __future__ import annotations


import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a01_neurons.hopfield import hopfield_update
from reference.a06_energy_models import cf_rbm, experiments, hopfield, rbm
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=15, deadline=None)
EXACT = dict(rtol=1e-12, atol=1e-13)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def bipolar(seed: int, *shape: int) -> torch.Tensor:
    return experiments.bipolar(gen(seed), *shape)


def symmetric(seed: int, u: int) -> torch.Tensor:
    w = tensor(seed, u, u)
    w = (w + w.T) / 2
    w.fill_diagonal_(0.0)
    return w


# Hopfield networks.

@SETTINGS
@given(seed=seeds, p=st.integers(1, 6), u=st.integers(2, 12))
def test_store_is_the_hebbian_sum_of_outer_products_without_self_connections(seed, p, u):
    xi = bipolar(seed, p, u)
    w = hopfield.hopfield_store(xi)
    expected = sum(torch.outer(x, x) for x in xi) / u
    expected.fill_diagonal_(0.0)
    torch.testing.assert_close(w, expected, **EXACT)
    assert torch.equal(w, w.T) and torch.equal(torch.diagonal(w), torch.zeros(u, dtype=F64))


def test_energy_is_the_quadratic_form_written_out():
    u, w, theta, s = 5, symmetric(1, 5), tensor(2, 5), bipolar(3, 4, 5)
    e = hopfield.hopfield_energy(w, s, theta)
    for n in range(4):
        expected = -0.5 * sum(float(w[i, j] * s[n, i] * s[n, j]) for i in range(u) for j in range(u)) \
            + sum(float(theta[i] * s[n, i]) for i in range(u))
        assert abs(float(e[n]) - expected) < 1e-12


@SETTINGS
@given(seed=seeds, u=st.integers(2, 10), n=st.integers(1, 5), hebbian=st.booleans())
def test_energy_never_increases_under_asynchronous_updates(seed, u, n, hebbian):
    """Each single-unit update lowers E or leaves it, with or without thresholds; zero fields keep the state."""
    w = hopfield.hopfield_store(bipolar(seed, 2, u)) * u if hebbian else symmetric(seed, u)
    theta = torch.zeros(u, dtype=F64) if hebbian else tensor(seed + 1, u, scale=0.5)
    s = bipolar(seed + 2, n, u)
    for j in torch.randint(0, u, (3 * u,), generator=gen(seed)).tolist():
        new = hopfield.hopfield_async(w, s, theta, torch.tensor([j]))
        assert bool((hopfield.hopfield_energy(w, new, theta) <= hopfield.hopfield_energy(w, s, theta) + 1e-12).all())
        s = new


def test_asynchronous_update_without_thresholds_is_a01s_update():
    for seed in range(4):
        w, s = symmetric(seed, 7), bipolar(seed, 3, 7)
        order = torch.randint(0, 7, (12,), generator=gen(seed))
        assert torch.equal(hopfield.hopfield_async(w, s, torch.zeros(7, dtype=F64), order), hopfield_update(w, s, order))


def test_synchronous_update_uses_the_old_state_for_every_unit():
    w, theta, s = symmetric(5, 6), tensor(6, 6, scale=0.5), bipolar(7, 3, 6)
    out = hopfield.hopfield_sync(w, s, theta)
    for n in range(3):
        for j in range(6):
            h = float(w[j] @ s[n] - theta[j])
            assert float(out[n, j]) == (float(s[n, j]) if h == 0 else (1.0 if h > 0 else -1.0))
    cycle, settles = experiments.synchronous_two_cycle()
    assert cycle and settles


def test_stored_patterns_are_fixed_points_at_low_load():
    xi = bipolar(0, 5, 100)
    s, sweeps = hopfield.hopfield_recall(hopfield.hopfield_store(xi), xi, torch.zeros(100, dtype=F64),
                                         torch.randperm(100, generator=gen(1)), 10)
    assert torch.equal(s, xi) and torch.equal(sweeps, torch.zeros(5, dtype=torch.int64))


def test_recall_ends_at_a_fixed_point_and_counts_the_sweeps_that_changed_each_state():
    u = 30
    w, theta = symmetric(3, u), tensor(4, u, scale=0.3)
    s0, order = bipolar(5, 6, u), torch.randperm(u, generator=gen(6))
    s, sweeps = hopfield.hopfield_recall(w, s0, theta, order, 100)
    assert torch.equal(hopfield.hopfield_async(w, s, theta, order), s)
    for n in range(6):
        state, count = s0[n:n + 1], 0
        while not torch.equal(hopfield.hopfield_async(w, state, theta, order), state):
            state, count = hopfield.hopfield_async(w, state, theta, order), count + 1
        assert torch.equal(state[0], s[n]) and count == int(sweeps[n])
    capped, capped_sweeps = hopfield.hopfield_recall(w, s0, theta, order, 1)
    assert torch.equal(capped, hopfield.hopfield_async(w, s0, theta, order))
    assert int(capped_sweeps.max()) == 1


def test_flip_changes_exactly_the_requested_fraction():
    s = bipolar(1, 4, 50)
    assert torch.equal((hopfield.flip(s, 0.1, gen(2)) != s).sum(1), torch.full((4,), 5))


# The binary RBM, by enumeration.

def enumerated(w, a, b):
    v, h = experiments.states(w.shape[0]), experiments.states(w.shape[1])
    return v, h, -experiments.energy(v, h, w, a, b)  # (V, Hs) log of unnormalised p(v, h)


def test_free_energy_is_minus_log_sum_over_hidden_states():
    w, a, b = experiments.tiny_rbm(gen(0))
    v, _, logp = enumerated(w, a, b)
    torch.testing.assert_close(rbm.rbm_free_energy(v, w, a, b), -torch.logsumexp(logp, dim=1), **EXACT)
    big = rbm.rbm_free_energy(v, 400 * w, a, 400 * b)  # net inputs in the thousands: no overflow
    torch.testing.assert_close(big, -(v @ a) - torch.nn.functional.softplus(v @ (400 * w) + 400 * b).sum(1), **EXACT)


def test_conditionals_are_the_enumerated_marginals():
    w, a, b = experiments.tiny_rbm(gen(1))
    v, h, logp = enumerated(w, a, b)
    p_h = torch.softmax(logp, dim=1)  # (V, Hs) p(h | v)
    torch.testing.assert_close(rbm.rbm_p_h_given_v(v, w, b), p_h @ h, **EXACT)
    p_v = torch.softmax(logp, dim=0)  # p(v | h) column by column
    torch.testing.assert_close(rbm.rbm_p_v_given_h(h, w, a), p_v.T @ v, **EXACT)


def test_conditionals_and_free_energy_match_sklearn_bernoulli_rbm():
    from sklearn.neural_network import BernoulliRBM

    w, a, b = tensor(0, 6, 4), tensor(1, 6), tensor(2, 4)
    v, h = torch.rand(9, 6, generator=gen(3), dtype=F64), torch.rand(9, 4, generator=gen(4), dtype=F64)
    skl = BernoulliRBM(n_components=4)
    skl.components_, skl.intercept_visible_, skl.intercept_hidden_ = w.T.numpy(), a.numpy(), b.numpy()
    torch.testing.assert_close(rbm.rbm_p_h_given_v(v, w, b), torch.from_numpy(skl.transform(v.numpy())), **EXACT)
    torch.testing.assert_close(rbm.rbm_free_energy(v, w, a, b), torch.from_numpy(skl._free_energy(v.numpy())), **EXACT)
    for sample, p, shape in ((skl._sample_visibles, rbm.rbm_p_v_given_h(h, w, a), (9, 6)),
                             (skl._sample_hiddens, rbm.rbm_p_h_given_v(v, w, b), (9, 4))):
        theirs = sample((h if shape[1] == 6 else v).numpy(), np.random.RandomState(5))
        noise = torch.from_numpy(np.random.RandomState(5).uniform(size=shape))
        assert torch.equal(rbm.rbm_sample(p, noise), torch.from_numpy(theirs).to(F64))


def test_sample_is_on_exactly_where_noise_is_below_p():
    p = torch.rand(2000, 3, generator=gen(0), dtype=F64)
    noise = torch.rand(2000, 3, generator=gen(1), dtype=F64)
    s = rbm.rbm_sample(p, noise)
    assert s.dtype == F64 and torch.equal(s, (noise < p).to(F64))
    freq = rbm.rbm_sample(torch.full((20000,), 0.3, dtype=F64), torch.rand(20000, generator=gen(2), dtype=F64)).mean()
    assert abs(float(freq) - 0.3) < 0.015


def test_exact_gradient_is_autograd_of_the_enumerated_log_likelihood():
    w, a, b = experiments.tiny_rbm(gen(2))
    pdata = torch.rand(16, generator=gen(3), dtype=F64)
    pdata = pdata / pdata.sum()
    params = [p.clone().requires_grad_(True) for p in (w, a, b)]
    with torch.enable_grad():
        _, _, logp = enumerated(*params)
        loglik = pdata @ (torch.logsumexp(logp, dim=1) - torch.logsumexp(logp.reshape(-1), dim=0))
        grads = torch.autograd.grad(loglik, params)
    for ours, theirs in zip(experiments.exact_gradient(pdata, w, a, b), grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_expected_cd_k_approaches_the_exact_gradient_and_cd_1_matches_it_on_average():
    rows = experiments.rbm_enumeration_rows(gen(4))
    assert all(r["ok"] for r in rows), rows
    w, a, b = experiments.tiny_rbm(gen(5))
    t = experiments.gibbs_transition(w, a, b)
    torch.testing.assert_close(t.sum(1), torch.ones(16, dtype=F64), **EXACT)  # a stochastic matrix


def free_energy_gap(v0, vk, w, a, b):
    """mean F(vk) - mean F(v0): its gradient, chain states held fixed, is the CD statistics' difference."""
    return rbm.rbm_free_energy(vk, w, a, b).mean() - rbm.rbm_free_energy(v0, w, a, b).mean()


@SETTINGS
@given(seed=seeds, n=st.integers(1, 5), d=st.integers(1, 5), h=st.integers(1, 5), k=st.integers(1, 3))
def test_cd_k_is_the_gradient_of_the_free_energy_gap_at_the_chain_end(seed, n, d, h, k):
    w, a, b = tensor(seed, d, h), tensor(seed + 1, d), tensor(seed + 2, h)
    v0 = torch.rand(n, d, generator=gen(seed), dtype=F64)
    g = gen(seed + 3)
    noise_h, noise_v = torch.rand(k, n, h, generator=g, dtype=F64), torch.rand(k, n, d, generator=g, dtype=F64)
    dw, da, db, vk = rbm.rbm_cd_k(v0, w, a, b, noise_h, noise_v)
    params = [p.clone().requires_grad_(True) for p in (w, a, b)]
    with torch.enable_grad():
        grads = torch.autograd.grad(free_energy_gap(v0, vk, *params), params)
    for ours, theirs in zip((dw, da, db), grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    # the chain, replayed step by step
    v = v0
    for t in range(k):
        hs = rbm.rbm_sample(rbm.rbm_p_h_given_v(v, w, b), noise_h[t])
        v = rbm.rbm_sample(rbm.rbm_p_v_given_h(hs, w, a), noise_v[t])
    assert torch.equal(v, vk)


def test_pcd_from_the_data_is_cd_k_and_averages_over_its_own_chains():
    w, a, b = tensor(0, 5, 3), tensor(1, 5), tensor(2, 3)
    v0 = (torch.rand(4, 5, generator=gen(3)) < 0.5).to(F64)
    noise_h, noise_v = torch.rand(2, 4, 3, generator=gen(4), dtype=F64), torch.rand(2, 4, 5, generator=gen(5), dtype=F64)
    for ours, cd in zip(rbm.rbm_pcd(v0, v0, w, a, b, noise_h, noise_v), rbm.rbm_cd_k(v0, w, a, b, noise_h, noise_v)):
        torch.testing.assert_close(ours, cd, **EXACT)
    chains = (torch.rand(7, 5, generator=gen(6)) < 0.5).to(F64)  # 7 chains for 4 examples
    nh, nv = torch.rand(1, 7, 3, generator=gen(7), dtype=F64), torch.rand(1, 7, 5, generator=gen(8), dtype=F64)
    dw, da, db, c = rbm.rbm_pcd(v0, chains, w, a, b, nh, nv)
    params = [p.clone().requires_grad_(True) for p in (w, a, b)]
    with torch.enable_grad():
        grads = torch.autograd.grad(free_energy_gap(v0, c, *params), params)
    for ours, theirs in zip((dw, da, db), grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


# The collaborative-filtering RBM.

def cf_case(seed: int, n: int = 4, m: int = 6, k: int = 3, f: int = 5):
    g = gen(seed)
    v = torch.nn.functional.one_hot(torch.randint(0, k, (n, m), generator=g), k).to(F64)  # junk where unrated
    mask = torch.rand(n, m, generator=g) < 0.6
    mask[:, 0] = True
    return v, mask, tensor(seed, m, k, f), tensor(seed + 1, m, k, scale=0.5), tensor(seed + 2, f, scale=0.5)


def cf_free_energy(v, mask, w, a, b):
    """F(V) = -sum over rated items of V.a - sum_j softplus(b_j + sum V_ik W_ikj), per user: (N,)."""
    rated = v * mask[:, :, None]
    x = torch.einsum("nmk,mkf->nf", rated, w) + b
    return -(rated * a).sum((1, 2)) - torch.nn.functional.softplus(x).sum(1)


def test_cf_hidden_units_see_only_the_rated_items_as_a_binary_rbm_would():
    v, mask, w, a, b = cf_case(0)
    p = cf_rbm.cf_p_h_given_v(v, mask, w, b)
    for n in range(v.shape[0]):
        rated = mask[n].nonzero()[:, 0]
        expected = rbm.rbm_p_h_given_v(v[n, rated].reshape(1, -1), w[rated].reshape(-1, w.shape[2]), b)
        torch.testing.assert_close(p[n:n + 1], expected, **EXACT)


def test_cf_visible_units_are_a_softmax_over_ratings():
    h = torch.rand(3, 5, generator=gen(1), dtype=F64)
    _, _, w, a, _ = cf_case(1)
    x = torch.einsum("nf,mkf->nmk", h, w) + a
    torch.testing.assert_close(cf_rbm.cf_p_v_given_h(h, w, a), torch.softmax(x, dim=2), **EXACT)
    big = cf_rbm.cf_p_v_given_h(h, 500 * w, 500 * a)
    torch.testing.assert_close(big, torch.softmax(500 * x, dim=2), **EXACT)


def test_cf_sample_inverts_the_cumulative_distribution():
    p = torch.softmax(tensor(2, 3, 4, 5), dim=2)
    noise = torch.rand(3, 4, generator=gen(3), dtype=F64)
    s = cf_rbm.cf_sample(p, noise)
    expected = torch.searchsorted(p.cumsum(2), noise[:, :, None], right=True)[:, :, 0].clamp(max=4)
    assert torch.equal(s, torch.nn.functional.one_hot(expected, 5).to(F64))
    many = cf_rbm.cf_sample(p[:1, :1].expand(20000, 1, 5), torch.rand(20000, 1, generator=gen(4), dtype=F64))
    torch.testing.assert_close(many.mean(0)[0], p[0, 0], rtol=0, atol=0.015)


def test_cf_cd1_is_the_gradient_of_the_free_energy_gap_and_ignores_unrated_items():
    v, mask, w, a, b = cf_case(5)
    noise_h, noise_v = torch.rand(4, 5, generator=gen(6), dtype=F64), torch.rand(4, 6, generator=gen(7), dtype=F64)
    dw, da, db, v1 = cf_rbm.cf_cd1(v, mask, w, a, b, noise_h, noise_v)
    params = [p.clone().requires_grad_(True) for p in (w, a, b)]
    with torch.enable_grad():
        gap = cf_free_energy(v1, mask, *params).mean() - cf_free_energy(v, mask, *params).mean()
        grads = torch.autograd.grad(gap, params)
    for ours, theirs in zip((dw, da, db), grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    other = torch.where(mask[:, :, None], v, v.roll(1, dims=2))  # different junk where unrated
    for ours, again in zip((dw, da, db, v1), cf_rbm.cf_cd1(other, mask, w, a, b, noise_h, noise_v)):
        torch.testing.assert_close(ours, again, **EXACT)


def test_cf_predict_is_the_expected_rating():
    v, mask, w, a, b = cf_case(8)
    p = cf_rbm.cf_p_v_given_h(cf_rbm.cf_p_h_given_v(v, mask, w, b), w, a)
    expected = sum((k + 1) * p[:, :, k] for k in range(3))
    torch.testing.assert_close(cf_rbm.cf_predict(v, mask, w, a, b), expected, **EXACT)
    assert torch.equal(cf_rbm.one_hot_ratings(torch.tensor([[0, 2]]), 3),
                       torch.tensor([[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=F64))
