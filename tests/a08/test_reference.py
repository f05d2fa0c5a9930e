"""a08 reference against ground truth: torch.cdist, scikit-learn's KMeans, scipy's RBFInterpolator, invariants."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a08_unsupervised import competitive, experiments, inhibitory, rbf, som
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=20, deadline=None)
sizes = st.integers(min_value=1, max_value=9)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# Competitive learning.

@SETTINGS
@given(seed=seeds, n=sizes, k=sizes, d=sizes)
def test_winner_is_the_nearest_prototype(seed, n, k, d):
    x, w = tensor(seed, n, d), tensor(seed + 1, k, d)
    c = competitive.winner(x, w)
    assert c.dtype == torch.int64 and c.shape == (n,)
    assert torch.equal(c, torch.cdist(x, w).argmin(dim=1))


@SETTINGS
@given(seed=seeds, k=st.integers(2, 6), d=sizes, lr=st.floats(0.01, 1.0))
def test_competitive_update_moves_only_the_winner(seed, k, d, lr):
    x, w = tensor(seed, d), tensor(seed + 1, k, d)
    before = w.clone()
    new = competitive.competitive_update(x, w, lr)
    c = int(torch.cdist(x[None], w).argmin())
    assert torch.equal(w, before)
    expected = before.clone()
    expected[c] = (1 - lr) * before[c] + lr * x
    torch.testing.assert_close(new, expected, rtol=1e-12, atol=1e-12)


def test_running_mean_identity_with_lr_one_over_count():
    """lr = 1/count: every prototype is exactly the mean of the points it has won, over epochs."""
    x, _ = experiments.iris()
    assert experiments.running_mean_identity(x[::3], 4, 2, gen(1)) < 1e-12


def test_competitive_epoch_from_zero_counts_gives_the_means_of_the_won_points():
    x = tensor(3, 40, 2)
    w0 = tensor(4, 3, 2)
    counts = torch.zeros(3, dtype=torch.int64)
    w, counts = competitive.competitive_epoch(x, w0, counts)
    assert int(counts.sum()) == 40
    # replay, recording which unit won each point
    replay, seen = w0.clone(), torch.zeros(3, dtype=torch.int64)
    members: list[list[int]] = [[], [], []]
    for n in range(40):
        replay, new_seen = competitive.competitive_epoch(x[n:n + 1], replay, seen)
        members[int((new_seen - seen).argmax())].append(n)
        seen = new_seen
    torch.testing.assert_close(replay, w, rtol=0, atol=0)
    for j in range(3):
        if members[j]:
            torch.testing.assert_close(w[j], x[members[j]].mean(0), rtol=1e-12, atol=1e-12)
        else:
            assert torch.equal(w[j], w0[j])


def test_competitive_epoch_with_a_fixed_rate_is_repeated_updates():
    x, w0 = tensor(5, 12, 3), tensor(6, 4, 3)
    w, counts = competitive.competitive_epoch(x, w0, torch.zeros(4, dtype=torch.int64), lr=0.2)
    step = w0
    for n in range(12):
        step = competitive.competitive_update(x[n], step, 0.2)
    torch.testing.assert_close(w, step, rtol=0, atol=0)
    assert int(counts.sum()) == 12


def test_quantization_error_within_ten_percent_of_kmeans_inertia():
    x, _ = experiments.iris()
    ours, kmeans = experiments.competitive_vs_kmeans(x, 3, 5, gen(0))
    assert kmeans <= ours * (1 + 1e-9) and ours <= 1.10 * kmeans


def test_leaky_learning_without_leak_is_competitive_learning():
    x, w = tensor(7, 3), tensor(8, 5, 3)
    torch.testing.assert_close(competitive.leaky_competitive_update(x, w, 0.3, 0.0),
                               competitive.competitive_update(x, w, 0.3), rtol=1e-15, atol=0)
    moved = competitive.leaky_competitive_update(x, w, 0.3, 0.01)
    c = int(competitive.winner(x[None], w)[0])
    losers = [j for j in range(5) if j != c]
    torch.testing.assert_close(moved[losers], w[losers] + 0.01 * (x - w[losers]))


def test_leaky_learning_revives_a_dead_unit():
    plain, leaky = experiments.dead_units(epochs=8)
    assert plain == 1 and leaky == 0


# Inhibitory feedback networks.

@SETTINGS
@given(seed=seeds, n=sizes, m=st.integers(2, 8), frac=st.floats(0.05, 0.99))
def test_maxnet_step_is_lateral_inhibition(seed, n, m, frac):
    y = torch.rand(n, m, generator=gen(seed), dtype=F64)
    eps = frac / m
    out = inhibitory.maxnet_step(y, eps)
    expected = torch.stack([torch.stack([torch.relu(y[i, j] - eps * (y[i].sum() - y[i, j])) for j in range(m)])
                            for i in range(n)])
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(seed=seeds, n=sizes, m=st.integers(2, 10), frac=st.floats(0.1, 0.99))
def test_maxnet_leaves_the_argmax_alone(seed, n, m, frac):
    y0 = torch.rand(n, m, generator=gen(seed), dtype=F64)
    y, steps = inhibitory.maxnet(y0, frac / m)
    assert steps.dtype == torch.int64 and steps.shape == (n,)
    assert torch.equal((y > 0).sum(1), torch.ones(n, dtype=torch.int64))
    assert torch.equal(y.argmax(1), y0.argmax(1))
    # steps is the first time only one unit is left
    for i in range(n):
        row = y0[i:i + 1]
        for _ in range(int(steps[i]) - 1):
            row = inhibitory.maxnet_step(row, frac / m)
        assert int(steps[i]) == 0 or int((row > 0).sum()) > 1


def test_hamming_net_scores_are_agreements_and_pick_the_nearest_prototype():
    g = gen(11)
    protos = torch.where(torch.rand(5, 24, generator=g) < 0.5, -1.0, 1.0).to(F64)
    x = torch.where(torch.rand(60, 24, generator=g) < 0.5, -1.0, 1.0).to(F64)
    scores, c = inhibitory.hamming_net(x, protos, 0.1)
    mismatches = (x[:, None, :] != protos[None, :, :]).sum(2).to(F64)  # (60, 5) Hamming distances
    torch.testing.assert_close(scores, 24 - mismatches, rtol=0, atol=0)
    unique = (mismatches == mismatches.min(1, keepdim=True).values).sum(1) == 1
    assert unique.sum() > 30
    assert torch.equal(c[unique], mismatches.argmin(1)[unique])


@SETTINGS
@given(seed=seeds, n=sizes, m=st.integers(1, 8), A=st.floats(0.1, 3.0), B=st.floats(0.1, 3.0))
def test_shunting_euler_reaches_the_closed_form_steady_state(seed, n, m, A, B):
    inputs = 2.0 * torch.rand(n, m, generator=gen(seed), dtype=F64)
    eq = inhibitory.shunting_equilibrium(inputs, A, B)
    dt = 1.0 / (A + float(inputs.sum(1).max()) + 1.0)  # stable Euler step
    x = torch.zeros_like(inputs)
    for _ in range(int(40 / (dt * A)) + 1):
        x = inhibitory.shunting_step(x, inputs, A, B, dt)
    torch.testing.assert_close(x, eq, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(inhibitory.shunting_step(eq, inputs, A, B, dt), eq, rtol=1e-12, atol=1e-14)
    assert float(eq.sum(1).max()) < B  # total activity is bounded (normalisation)


def test_shunting_step_matches_the_differential_equation():
    x, inputs = torch.rand(3, 4, generator=gen(1), dtype=F64), torch.rand(3, 4, generator=gen(2), dtype=F64)
    A, B, dt = 0.7, 1.5, 0.05
    out = inhibitory.shunting_step(x, inputs, A, B, dt)
    for i in range(3):
        for j in range(4):
            others = sum(float(inputs[i, k]) for k in range(4) if k != j)
            dx = -A * x[i, j] + (B - x[i, j]) * inputs[i, j] - x[i, j] * others
            assert math.isclose(float(out[i, j]), float(x[i, j] + dt * dx), rel_tol=1e-12)


# Kohonen's self-organizing map.

@SETTINGS
@given(seed=seeds, rows=st.integers(1, 4), cols=st.integers(1, 4), n=sizes, sigma=st.floats(0.3, 4.0))
def test_gaussian_neighbourhood_of_map_distance(seed, rows, cols, n, sigma):
    grid = som.grid_positions(rows, cols)
    c = torch.randint(0, rows * cols, (n,), generator=gen(seed))
    h = som.gaussian_neighbourhood(grid, c, sigma)
    expected = torch.exp(-torch.cdist(grid[c], grid) ** 2 / (2 * sigma ** 2))
    torch.testing.assert_close(h, expected, rtol=1e-12, atol=1e-14)
    assert torch.equal(h[torch.arange(n), c], torch.ones(n, dtype=F64))


def test_som_update_with_sigma_to_zero_is_competitive_learning():
    grid = som.grid_positions(3, 4)
    for seed in range(5):
        x, w = tensor(seed, 3), tensor(seed + 10, 12, 3)
        assert torch.equal(som.som_update(x, w, grid, 0.4, 1e-3), competitive.competitive_update(x, w, 0.4))
    assert experiments.som_sigma_zero(gen(0), steps=100) == 0.0


def test_som_update_with_a_wide_neighbourhood_moves_every_unit():
    grid = som.grid_positions(2, 2)
    x, w = tensor(1, 2), tensor(2, 4, 2)
    torch.testing.assert_close(som.som_update(x, w, grid, 0.5, 1e6), w + 0.5 * (x - w), rtol=1e-12, atol=1e-12)


def test_som_train_follows_its_schedule():
    grid = som.grid_positions(2, 3)
    x, w0 = tensor(3, 7, 2), tensor(4, 6, 2)
    order = torch.tensor([3, 0, 6, 6, 1])
    w = w0
    for t, n in enumerate(order.tolist()):
        w = som.som_update(x[n], w, grid, som.decay(0.5, 0.05, t, 5), som.decay(2.0, 0.5, t, 5))
    torch.testing.assert_close(som.som_train(x, w0, grid, order, (0.5, 0.05), (2.0, 0.5)), w, rtol=0, atol=0)
    assert som.decay(0.5, 0.05, 0, 5) == 0.5 and math.isclose(som.decay(0.5, 0.05, 4, 5), 0.05)


def test_one_dimensional_chain_orders_itself():
    chain, ordered = experiments.som_chain(gen(2), units=10, steps=1500)
    assert ordered
    assert 0.0 <= float(chain.min()) and float(chain.max()) <= 1.0


def test_quantization_error_is_the_mean_distance_to_the_best_matching_unit():
    x, w = tensor(1, 20, 3), tensor(2, 6, 3)
    torch.testing.assert_close(som.quantization_error(x, w), torch.cdist(x, w).min(1).values.mean())
    assert float(som.quantization_error(w, w)) == 0.0


def brute_topographic_error(x, w, grid) -> float:
    bad = 0
    for xn in x:
        d = ((w - xn) ** 2).sum(1).tolist()
        first, second = sorted(range(len(d)), key=d.__getitem__)[:2]
        bad += math.dist(grid[first].tolist(), grid[second].tolist()) >= 1.5
    return bad / len(x)


@pytest.mark.parametrize("rows,cols", [(1, 8), (3, 3), (4, 5)])
def test_topographic_error_against_a_brute_force_count(rows, cols):
    grid = som.grid_positions(rows, cols)
    for seed in range(4):
        x, w = tensor(seed, 30, 2), tensor(seed + 5, rows * cols, 2)
        assert math.isclose(float(som.topographic_error(x, w, grid)), brute_topographic_error(x, w, grid))
    # a chain whose prototypes are ordered along a line has no topographic error
    line = torch.linspace(0, 1, 8, dtype=F64)[:, None]
    assert float(som.topographic_error(torch.rand(50, 1, generator=gen(0), dtype=F64), line,
                                       som.grid_positions(1, 8))) == 0.0


def test_iris_map_topographic_error():
    w, qe, te = experiments.som_iris(gen(0), steps=3000)
    assert te < 0.1 and 0 < qe < 1.0
    assert som.u_matrix(w, 10, 10).shape == (10, 10)


# RBF networks.

@SETTINGS
@given(seed=seeds, n=sizes, k=sizes, d=sizes)
def test_rbf_features_are_gaussians_of_the_distance(seed, n, k, d):
    x, c = tensor(seed, n, d), tensor(seed + 1, k, d)
    widths = 0.5 + torch.rand(k, generator=gen(seed), dtype=F64)
    phi = rbf.rbf_features(x, c, widths)
    torch.testing.assert_close(phi, torch.exp(-torch.cdist(x, c) ** 2 / (2 * widths ** 2)), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("iters", [1, 3, 100])
def test_kmeans_matches_scikit_learn_lloyd_from_the_same_start(iters):
    from sklearn.cluster import KMeans

    x = experiments.blobs(30, [[0, 0], [3, 0], [0, 3]], 0.8, gen(1))
    init = x[[0, 1, 2, 40]].clone()
    centres, labels = rbf.kmeans(x, init, iters)
    km = KMeans(n_clusters=4, init=init.numpy(), n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd").fit(x.numpy())
    torch.testing.assert_close(centres, torch.from_numpy(km.cluster_centers_), rtol=1e-10, atol=1e-12)
    assert torch.equal(labels, torch.from_numpy(km.predict(x.numpy())).to(torch.int64))


def test_kmeans_keeps_a_centre_that_wins_nothing():
    x = tensor(1, 20, 2)
    init = torch.cat([x[:2], torch.tensor([[100.0, 100.0]], dtype=F64)])
    centres, labels = rbf.kmeans(x, init, 3)
    assert torch.equal(centres[2], init[2]) and int((labels == 2).sum()) == 0


@pytest.mark.parametrize("p", [1, 2, 3])
def test_nearest_neighbour_widths(p):
    from sklearn.neighbors import NearestNeighbors

    c = tensor(p, 7, 3)
    dist, _ = NearestNeighbors(n_neighbors=p + 1).fit(c.numpy()).kneighbors(c.numpy())
    torch.testing.assert_close(rbf.nearest_neighbour_widths(c, p), torch.from_numpy(dist[:, 1:].mean(1)))


def test_least_squares_weights_match_the_normal_equations():
    phi, y = torch.rand(30, 6, generator=gen(1), dtype=F64), tensor(2, 30, 2)
    w = rbf.rbf_least_squares(phi, y)
    torch.testing.assert_close(w, torch.linalg.solve(phi.T @ phi, phi.T @ y), rtol=1e-9, atol=1e-10)


def test_centres_at_the_data_interpolate_exactly_and_match_scipy():
    residual, vs_scipy = experiments.rbf_interpolation(gen(0), n=25)
    assert residual < 1e-8 and vs_scipy < 1e-6


def test_delta_rule_step_and_convergence_to_least_squares():
    phi, y = torch.rand(12, 3, generator=gen(3), dtype=F64), tensor(4, 12, 2)
    w0 = torch.zeros(3, 2, dtype=F64)
    one = rbf.rbf_delta_epoch(phi[:1], y[:1], w0, 0.1)
    torch.testing.assert_close(one, 0.1 * phi[0][:, None] * y[0][None, :])
    two = rbf.rbf_delta_epoch(phi[:2], y[:2], w0, 0.1)
    torch.testing.assert_close(two, one + 0.1 * phi[1][:, None] * (y[1] - phi[1] @ one)[None, :])
    # consistent targets: LMS converges to the exact weights
    w_true = tensor(5, 3, 2)
    w = w0
    for _ in range(300):
        w = rbf.rbf_delta_epoch(phi, phi @ w_true, w, 0.5)
    torch.testing.assert_close(w, w_true, rtol=1e-9, atol=1e-9)


def test_xor_becomes_linearly_separable_in_rbf_space():
    linear_mse, hidden = experiments.rbf_xor()
    assert math.isclose(linear_mse, 0.25, abs_tol=1e-12)
    assert hidden == [0, 1, 1, 0]


def test_rbf_iris_accuracy():
    acc_ls, acc_delta = experiments.rbf_iris(gen(0), epochs=60)
    assert acc_ls >= 0.93 and acc_delta >= 0.93


@pytest.mark.slow
def test_full_experiments_reproduce(tmp_path):
    rows = experiments.run(tmp_path)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert (tmp_path / "a08_som.png").stat().st_size > 0
