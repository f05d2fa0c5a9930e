"""a01 reference against ground truth: torch ops and autograd, lstsq, eigh, logic tables, invariants."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a01_neurons import experiments, generic, hopfield, rules, units
from tests.helpers import numeric_grad
from tests.strategies import batch, dim, seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=15, deadline=None)


def bipolar(seed: int, *shape: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(*shape, generator=g) < 0.5, 1.0, -1.0).to(F64)


@SETTINGS
@given(seed=seeds, n=batch, d=dim)
def test_ltu_is_heaviside_of_the_net_input(seed, n, d):
    x, w, theta = tensor(seed, n, d), tensor(seed + 1, d), tensor(seed + 2, 1)[0]
    y = units.ltu_forward(x, w, theta)
    assert y.shape == (n,) and y.dtype == F64
    torch.testing.assert_close(y, torch.heaviside(x @ w - theta, torch.tensor(1.0, dtype=F64)), rtol=0, atol=0)


def test_ltu_fires_exactly_at_the_threshold():
    x = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=F64)
    y = units.ltu_forward(x, torch.tensor([1.0, 1.0], dtype=F64), torch.tensor(2.0, dtype=F64))
    assert y.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("name,table", list(experiments.PUBLISHED_GATES.items()))
def test_gate_truth_tables(name, table):
    w, theta = units.gate_weights(name)
    assert w.shape == (units.ARITY[name],) and theta.dim() == 0
    x, y = units.truth_table(w, theta)
    logic = {"AND": lambda a: a[:, 0] * a[:, 1], "OR": lambda a: torch.maximum(a[:, 0], a[:, 1]),
             "NOT": lambda a: 1 - a[:, 0], "NAND": lambda a: 1 - a[:, 0] * a[:, 1]}[name]
    assert y.tolist() == logic(x).tolist() == [float(v) for v in table]


@SETTINGS
@given(seed=seeds)
def test_decision_boundary_is_where_the_unit_switches(seed):
    w, theta = tensor(seed, 2), tensor(seed + 1, 1)[0]
    w[1] = w[1].sign() * (w[1].abs() + 0.1)
    x1 = tensor(seed + 2, 9)
    x2 = units.decision_boundary(w, theta, x1)
    points = torch.stack([x1, x2], 1)
    torch.testing.assert_close(points @ w, theta.expand(9), rtol=1e-9, atol=1e-9)
    normal = w / w.norm() * 1e-6  # just either side of the line
    assert units.ltu_forward(points + normal, w, theta).tolist() == [1.0] * 9
    assert units.ltu_forward(points - normal, w, theta).tolist() == [0.0] * 9


def test_perceptron_epoch_leaves_a_separating_unit_alone_and_inputs_unchanged():
    x, t = experiments.separable_data(n=50)
    w, theta = torch.tensor([1.0, 2.0], dtype=F64), torch.tensor(0.3, dtype=F64)
    w_in, theta_in = w.clone(), theta.clone()
    w2, theta2, mistakes = rules.perceptron_epoch(x, t, w, theta, 0.7)
    assert int(mistakes) == 0 and mistakes.dtype == torch.int64
    assert torch.equal(w2, w_in) and torch.equal(theta2, theta_in)
    assert torch.equal(w, w_in) and torch.equal(theta, theta_in)


def test_perceptron_update_on_one_mistake():
    x = torch.tensor([[2.0, -1.0]], dtype=F64)
    w, theta = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor(1.0, dtype=F64)
    # net 0.5 < theta: says 0, target 1, so w += lr x and theta -= lr
    w2, theta2, mistakes = rules.perceptron_epoch(x, torch.tensor([1.0], dtype=F64), w, theta, 0.25)
    assert w2.tolist() == [1.0, 0.25] and float(theta2) == 0.75 and int(mistakes) == 1
    # now it fires, target 0: w -= lr x, theta += lr
    w3, theta3, _ = rules.perceptron_epoch(x, torch.tensor([0.0], dtype=F64), w2, theta2, 0.25)
    assert w3.tolist() == [0.5, 0.5] and float(theta3) == 1.0


@settings(max_examples=15, deadline=None)
@given(seed=seeds, margin=st.sampled_from([0.05, 0.1, 0.2]))
def test_perceptron_converges_within_novikoffs_bound(seed, margin):
    x, t = experiments.separable_data(n=80, margin=margin, seed=seed)
    w, theta, history = rules.train_perceptron(x, t, torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64),
                                               max_epochs=500)
    assert history[-1] == 0
    assert sum(history) <= experiments.novikoff_bound(x, t, torch.tensor([1.0, 2.0], dtype=F64), 0.3)
    assert torch.equal(units.ltu_forward(x, w, theta), t)


def test_perceptron_never_converges_on_xor():
    rows, _ = experiments.perceptron_rows()
    xor = rows[-1]
    assert xor["ok"] and "cycle" in xor["ours"]
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
    _, _, history = rules.train_perceptron(x, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=F64),
                                           torch.zeros(2, dtype=F64), torch.tensor(0.0, dtype=F64), max_epochs=200)
    assert len(history) == 200 and min(history) > 0


def squared_error_step(forward, x, t, w, b, lr):
    """One gradient-descent step on sum((t - forward(x, w, b))^2) / (2N), by autograd."""
    w, b = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    with torch.enable_grad():
        loss = ((t - forward(x, w, b)) ** 2).sum() / (2 * x.shape[0])
        dw, db = torch.autograd.grad(loss, (w, b))
    return w.detach() - lr * dw, b.detach() - lr * db


@pytest.mark.parametrize("rule,forward", [(rules.lms_step, lambda x, w, b: x @ w + b),
                                          (rules.sigmoid_delta_step, lambda x, w, b: torch.sigmoid(x @ w + b))],
                         ids=["lms", "sigmoid_delta"])
@SETTINGS
@given(seed=seeds, n=batch, d=dim, lr=st.sampled_from([0.01, 0.3, 1.0]))
def test_delta_rules_are_gradient_descent_on_the_squared_error(rule, forward, seed, n, d, lr):
    x, t, w, b = tensor(seed, n, d), tensor(seed + 1, n), tensor(seed + 2, d), tensor(seed + 3, 1)[0]
    got_w, got_b = rule(x, t, w, b, lr)
    want_w, want_b = squared_error_step(forward, x, t, w, b, lr)
    assert got_w.shape == (d,) and got_b.shape == ()
    torch.testing.assert_close(got_w, want_w, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_b, want_b, rtol=1e-12, atol=1e-12)


def test_sigmoid_delta_rule_against_finite_differences():
    x, t, w, b = tensor(1, 5, 3), torch.rand(5, dtype=F64), tensor(2, 3), tensor(3, 1)[0]
    lr = 0.5

    def loss(v):
        return ((t - torch.sigmoid(x @ v[:3] + v[3])) ** 2).sum() / 10

    grad = numeric_grad(loss, torch.cat([w, b[None]]))
    new_w, new_b = rules.sigmoid_delta_step(x, t, w, b, lr)
    torch.testing.assert_close(torch.cat([new_w, new_b[None]]), torch.cat([w, b[None]]) - lr * grad,
                               rtol=1e-7, atol=1e-9)


def test_lms_converges_to_least_squares():
    rows = experiments.lms_rows(steps=2000)
    assert rows[0]["ok"] and rows[0]["ours"] < 1e-8
    assert rows[1]["ok"]


@SETTINGS
@given(seed=seeds, n=batch, d=dim)
def test_hebb_is_gradient_ascent_on_the_output_power(seed, n, d):
    x, w = tensor(seed, n, d), tensor(seed + 1, d)
    w_req = w.clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(((x @ w_req) ** 2).sum() / (2 * n), w_req)
    torch.testing.assert_close(rules.hebb_step(x, w, 0.3), w + 0.3 * grad, rtol=1e-12, atol=1e-12)


def principal_directions(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    evals, evecs = torch.linalg.eigh(x.T @ x / len(x))
    return evals.flip(0), evecs.flip(1)


def test_oja_and_sanger_fixed_points_are_unit_eigenvectors():
    x = experiments.pca_data(n=200)
    _, pcs = principal_directions(x)
    for k in range(4):
        torch.testing.assert_close(rules.oja_step(x, pcs[:, k], 0.1), pcs[:, k], rtol=0, atol=1e-12)
    torch.testing.assert_close(rules.sanger_step(x, pcs[:, :3], 0.1), pcs[:, :3], rtol=0, atol=1e-12)
    # Off the unit sphere or off an eigenvector, the rules move the weights.
    assert not torch.allclose(rules.oja_step(x, 2 * pcs[:, 0], 0.1), 2 * pcs[:, 0])
    # A rotated basis of the top-2 subspace is still fixed under the symmetric subspace rule,
    # but not under Sanger's ordered (upper triangular) one.
    c = 0.5 ** 0.5
    rotated = pcs[:, :2] @ torch.tensor([[c, -c], [c, c]], dtype=F64)
    subspace = rotated + 0.1 * (x.T @ (x @ rotated) - rotated @ ((x @ rotated).T @ (x @ rotated))) / len(x)
    torch.testing.assert_close(subspace, rotated, rtol=0, atol=1e-12)
    assert not torch.allclose(rules.sanger_step(x, rotated, 0.1), rotated)


@SETTINGS
@given(seed=seeds, n=batch, d=dim)
def test_sanger_with_one_component_is_oja(seed, n, d):
    x, w = tensor(seed, n, d), tensor(seed + 1, d)
    torch.testing.assert_close(rules.sanger_step(x, w[:, None], 0.2)[:, 0], rules.oja_step(x, w, 0.2),
                               rtol=1e-12, atol=1e-12)


def test_sanger_first_column_ignores_the_others():
    x, w = tensor(5, 6, 4), tensor(6, 4, 3)
    other = w.clone()
    other[:, 1:] = tensor(7, 4, 2)
    torch.testing.assert_close(rules.sanger_step(x, w, 0.1)[:, 0], rules.sanger_step(x, other, 0.1)[:, 0])


def test_hebb_grows_oja_and_sanger_find_the_principal_components():
    rows, norms = experiments.hebbian_rows(steps=300)
    assert all(r["ok"] for r in rows)
    assert all(b > a for a, b in zip(norms["hebb"], norms["hebb"][1:]))
    assert abs(norms["oja"][-1] - 1.0) < 1e-6


@SETTINGS
@given(seed=seeds, p=st.integers(1, 5), u=st.integers(2, 12))
def test_hopfield_weights_are_the_hebbian_outer_products(seed, p, u):
    patterns = bipolar(seed, p, u)
    w = hopfield.hopfield_weights(patterns)
    expected = torch.einsum("pi,pj->ij", patterns, patterns) / u
    expected -= torch.diag(torch.diagonal(expected))
    torch.testing.assert_close(w, expected, rtol=0, atol=1e-15)
    assert torch.equal(w, w.T) and torch.all(torch.diagonal(w) == 0)


@SETTINGS
@given(seed=seeds, n=batch, u=st.integers(2, 10), integer=st.booleans())
def test_hopfield_energy_never_increases(seed, n, u, integer):
    if integer:  # Hebbian integer weights: zero local fields happen
        p = bipolar(seed + 9, 2, u)
        w = p.T @ p
        w.fill_diagonal_(0.0)
    else:
        w = tensor(seed, u, u)
        w = (w + w.T) / 2
        w.fill_diagonal_(0.0)
    s = bipolar(seed + 1, n, u)
    order = torch.randint(0, u, (3 * u,), generator=torch.Generator().manual_seed(seed))
    energies = [hopfield.energy(w, s)]
    for j in order:
        s_new = hopfield.hopfield_update(w, s, j[None])
        h = s @ w[j]
        want = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, s[:, j])).to(F64)
        assert torch.equal(s_new[:, j], want)
        assert torch.equal(torch.cat([s_new[:, :j], s_new[:, j + 1:]], 1), torch.cat([s[:, :j], s[:, j + 1:]], 1))
        s = s_new
        energies.append(hopfield.energy(w, s))
    e = torch.stack(energies)
    assert torch.all(e[1:] <= e[:-1] + 1e-12)


def test_hopfield_update_sweeps_in_order_and_keeps_ties():
    w = torch.tensor([[0.0, 1.0, -1.0], [1.0, 0.0, 1.0], [-1.0, 1.0, 0.0]], dtype=F64)
    s = torch.tensor([[1.0, -1.0, 1.0]], dtype=F64)
    # unit 0: h = -1 - 1 = -2 -> -1; then unit 1: h = -1 + 1 = 0 -> keeps -1; unit 2: h = 1 - 1 = 0 -> keeps 1
    out = hopfield.hopfield_update(w, s, torch.tensor([0, 1, 2]))
    assert out.tolist() == [[-1.0, -1.0, 1.0]]
    assert s.tolist() == [[1.0, -1.0, 1.0]]  # input untouched
    # a different order gives a different result: the update is asynchronous
    assert hopfield.hopfield_update(w, s, torch.tensor([1, 0])).tolist() == [[1.0, 1.0, 1.0]]


@SETTINGS
@given(seed=seeds, n=batch, d=dim)
def test_generic_network_as_perceptron_matches_the_ltu_and_its_rule(seed, n, d):
    x, w, theta = tensor(seed, n, d), tensor(seed + 1, d), tensor(seed + 2, 1)[0]
    net = generic.perceptron_network(w, theta)
    assert torch.equal(net.run(x)[:, 0], units.ltu_forward(x, w, theta))
    t = (tensor(seed + 3, n) > 0).to(F64)
    net.learn(x, t, 0.5)
    w2, theta2, _ = rules.perceptron_epoch(x, t, w, theta, 0.5)
    torch.testing.assert_close(net.w[d, :d], w2, rtol=0, atol=1e-12)
    torch.testing.assert_close(net.theta[d], theta2, rtol=0, atol=1e-12)
    assert torch.all(net.w[:d] == 0) and torch.all(net.theta[:d] == 0)  # only the output unit learns


@SETTINGS
@given(seed=seeds, n=batch, u=st.sampled_from([4, 8, 16]), p=st.integers(1, 4))
def test_generic_network_as_hopfield_matches_the_dedicated_net(seed, n, u, p):
    patterns = bipolar(seed, p, u)
    order = torch.randperm(u, generator=torch.Generator().manual_seed(seed))
    net = generic.hopfield_network(u, order)
    net.learn(patterns)
    w = hopfield.hopfield_weights(patterns)
    assert torch.equal(net.w, w)
    s = bipolar(seed + 1, n, u)
    assert torch.equal(net.update(s), hopfield.hopfield_update(w, s, order))


@SETTINGS
@given(seed=seeds, n=batch, u=st.integers(1, 6), transfer=st.sampled_from(["weighted_sum", "distance"]),
       activation=st.sampled_from(["step", "identity", "sigmoid"]))
def test_generic_step_synchronous_is_one_layer(seed, n, u, transfer, activation):
    w, theta, s = tensor(seed, u, u), tensor(seed + 1, u), tensor(seed + 2, n, u)
    net = s @ w.T - theta if transfer == "weighted_sum" else -torch.cdist(s, w) - theta
    want = {"step": torch.heaviside(net, torch.tensor(1.0, dtype=F64)), "identity": net,
            "sigmoid": torch.sigmoid(net)}[activation]
    torch.testing.assert_close(generic.generic_step(w, theta, s, transfer, activation), want,
                               rtol=1e-12, atol=1e-12)


def test_generic_step_asynchronous_uses_the_latest_states():
    w = torch.tensor([[0.0, 0.0], [2.0, 0.0]], dtype=F64)
    theta = torch.zeros(2, dtype=F64)
    s = torch.tensor([[1.0, 5.0]], dtype=F64)
    # unit 0 becomes 0 (no input); unit 1 then sees the new 0, not the old 1
    out = generic.generic_step(w, theta, s, "weighted_sum", "identity", torch.tensor([0, 1]))
    assert out.tolist() == [[0.0, 0.0]] and s.tolist() == [[1.0, 5.0]]
    sync = generic.generic_step(w, theta, s, "weighted_sum", "identity")
    assert sync.tolist() == [[0.0, 2.0]]
    only_one = generic.generic_step(w, theta, s, "weighted_sum", "identity", torch.tensor([1]))
    assert only_one.tolist() == [[1.0, 2.0]]  # unit 0 is clamped


def test_iris_setosa_is_separated_and_the_generic_rows_hold():
    rows, data = experiments.iris_rows()
    assert rows[0]["ok"] and rows[0]["ours"] == 1.0
    assert all(r["ok"] for r in experiments.generic_rows())
    assert all(r["ok"] for r in experiments.gates())


def test_plots_are_written(tmp_path):
    _, separable = experiments.perceptron_rows()
    _, flowers = experiments.iris_rows()
    experiments._plot(tmp_path, separable, flowers, {"hebb": [1.0, 2.0, 4.0], "oja": [1.0, 1.0, 1.0]})
    for name in ("a01_decision_boundary.png", "a01_hebb_oja_norm.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_every_a01_experiment_reproduces(tmp_path):
    rows = experiments.run(tmp_path)
    assert [r["quantity"] for r in rows if not r["ok"]] == []
    assert (tmp_path / "a01_decision_boundary.png").exists()
