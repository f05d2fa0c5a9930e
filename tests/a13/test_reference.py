"""a13 reference against ground truth: networkx's normalised Laplacian, autograd in float64, finite differences,
loops over each neighbourhood, permutation equivariance, the spectrum of A_hat, dense = sparse."""
from __future__ import annotations

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a13_graphs import gat, gcn, model, readout, sage
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=8, deadline=None)
EXACT = dict(rtol=1e-10, atol=1e-11)


def graph(seed: int, n: int, p: float = 0.4, directed: bool = False) -> torch.Tensor:
    """A 0/1 adjacency (N, N), zero diagonal."""
    g = torch.Generator().manual_seed(seed)
    adj = (torch.rand(n, n, generator=g) < p).to(F64)
    if not directed:
        adj = torch.triu(adj, 1)
        adj = adj + adj.T
    return adj.fill_diagonal_(0.0)


def grads(fn, inputs: list[torch.Tensor], dout: torch.Tensor) -> list[torch.Tensor]:
    """Autograd's gradients of sum(fn(*inputs) * dout) with respect to each input."""
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    with torch.enable_grad():
        (fn(*leaves) * dout).sum().backward()
    return [t.grad for t in leaves]


# The renormalised adjacency.

@SETTINGS
@given(seed=seeds, n=st.integers(2, 9), weighted=st.booleans())
def test_normalized_adjacency_is_networkx_identity_minus_normalized_laplacian_of_a_plus_i(seed, n, weighted):
    adj = graph(seed, n)
    if weighted:
        w = tensor(seed + 1, n, n).abs() + 0.1
        adj = adj * (w + w.T)
    a_hat = gcn.normalized_adjacency(adj)
    with_loops = nx.from_numpy_array((adj + torch.eye(n, dtype=F64)).numpy())
    laplacian = torch.tensor(nx.normalized_laplacian_matrix(with_loops, nodelist=range(n)).toarray(), dtype=F64)
    torch.testing.assert_close(a_hat, torch.eye(n, dtype=F64) - laplacian, **EXACT)
    eig = torch.linalg.eigvalsh(a_hat)  # symmetric: real spectrum, in (-1, 1]
    assert float(eig.min()) > -1 and float(eig.max()) <= 1 + 1e-12
    assert abs(float(eig.max()) - 1) < 1e-12  # D~^1/2 1 is an eigenvector for 1 on every component


def test_isolated_node_keeps_its_own_features_and_the_formula_matches_matrix_powers():
    adj = graph(3, 6, 0.6)
    adj[2], adj[:, 2] = 0.0, 0.0
    a_hat = gcn.normalized_adjacency(adj)
    assert a_hat[2, 2] == 1.0 and a_hat[2].sum() == 1.0 and torch.isfinite(a_hat).all()
    a = adj + torch.eye(6, dtype=F64)
    d = torch.diag(a.sum(1) ** -0.5)
    torch.testing.assert_close(a_hat, d @ a @ d, **EXACT)


def test_normalized_adjacency_is_permutation_equivariant():
    adj, perm = graph(5, 8), torch.randperm(8, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(gcn.normalized_adjacency(adj[perm][:, perm]), gcn.normalized_adjacency(adj)[perm][:, perm],
                               **EXACT)


# GCN layers.

def gcn_case(seed: int, n: int = 7, f: int = 4, f_out: int = 3, directed: bool = True):
    a = graph(seed, n, 0.5, directed) + torch.eye(n, dtype=F64)
    a = a * tensor(seed + 1, n, n)  # any propagation matrix, not symmetric
    return tensor(seed + 2, n, f), a, tensor(seed + 3, f, f_out), tensor(seed + 4, f_out), tensor(seed + 5, n, f_out)


@SETTINGS
@given(seed=seeds)
def test_gcn_layer_matches_autograd(seed):
    x, a, w, b, dout = gcn_case(seed)
    out, cache = gcn.gcn_forward(x, a, w, b)
    torch.testing.assert_close(out, a @ x @ w + b, **EXACT)
    for got, want in zip(gcn.gcn_backward(dout, cache), grads(lambda x, w, b: a @ x @ w + b, [x, w, b], dout)):
        torch.testing.assert_close(got, want, **EXACT)


def test_gcn_backward_matches_finite_differences():
    x, a, w, b, dout = gcn_case(1)
    _, cache = gcn.gcn_forward(x, a, w, b)
    dx, dw, _ = gcn.gcn_backward(dout, cache)
    torch.testing.assert_close(dx, numeric_grad(lambda v: gcn.gcn_forward(v, a, w, b)[0], x, dout), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dw, numeric_grad(lambda v: gcn.gcn_forward(x, a, v, b)[0], w, dout), rtol=1e-6, atol=1e-7)


@SETTINGS
@given(seed=seeds)
def test_sparse_gcn_equals_dense_and_its_edge_gradients_are_autograds(seed):
    x, a, w, b, dout = gcn_case(seed)
    indices = a.nonzero().T
    indices = indices[:, torch.randperm(indices.shape[1], generator=torch.Generator().manual_seed(seed))]
    values = a[indices[0], indices[1]]
    out, cache = gcn.gcn_sparse_forward(x, indices, values, w, b)
    dense, dense_cache = gcn.gcn_forward(x, a, w, b)
    torch.testing.assert_close(out, dense, **EXACT)
    dx, dw, db, dvalues = gcn.gcn_sparse_backward(dout, cache)
    for got, want in zip((dx, dw, db), gcn.gcn_backward(dout, dense_cache)):
        torch.testing.assert_close(got, want, **EXACT)
    (da,) = grads(lambda a: a @ x @ w + b, [a], dout)
    torch.testing.assert_close(dvalues, da[indices[0], indices[1]], **EXACT)  # in the caller's edge order


def test_gcn_layer_is_permutation_equivariant():
    x, a, w, b, _ = gcn_case(2)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(2))
    out, _ = gcn.gcn_forward(x, a, w, b)
    out_p, _ = gcn.gcn_forward(x[perm], a[perm][:, perm], w, b)
    torch.testing.assert_close(out_p, out[perm], **EXACT)


# GAT.

def gat_loops(x, adj, w, a_src, a_dst, concat=True, slope=0.2):
    """The paper's layer node by node: a^T [W h_i || W h_j] over j in N(i) and i, softmax, weighted sum."""
    heads, n = w.shape[0], x.shape[0]
    outs = []
    for h in range(heads):
        z = x @ w[h]
        rows = []
        for i in range(n):
            nbrs = [j for j in range(n) if adj[i, j] != 0 or j == i]
            e = torch.stack([F.leaky_relu(torch.cat([z[i], z[j]]) @ torch.cat([a_dst[h], a_src[h]]), slope)
                             for j in nbrs])
            rows.append(torch.softmax(e, 0) @ z[nbrs])
        outs.append(torch.stack(rows))
    return torch.cat(outs, 1) if concat else torch.stack(outs).mean(0)


def gat_case(seed: int, n: int = 6, f: int = 4, k: int = 3, heads: int = 2, scale: float = 1.0):
    adj = graph(seed, n, 0.4, directed=True)
    return (tensor(seed + 1, n, f), adj, tensor(seed + 2, heads, f, k, scale=0.5), tensor(seed + 3, heads, k, scale=scale),
            tensor(seed + 4, heads, k, scale=scale))


@pytest.mark.parametrize("concat", [True, False])
@settings(max_examples=4, deadline=None)
@given(seed=seeds)
def test_gat_matches_the_paper_node_by_node_and_autograd(concat, seed):
    x, adj, w, a_src, a_dst = gat_case(seed)
    out, cache = gat.gat_forward(x, adj, w, a_src, a_dst, concat)
    torch.testing.assert_close(out, gat_loops(x, adj, w, a_src, a_dst, concat), **EXACT)
    dout = tensor(seed + 5, *out.shape)
    want = grads(lambda *p: gat_loops(p[0], adj, *p[1:], concat), [x, w, a_src, a_dst], dout)
    for got, exp in zip(gat.gat_backward(dout, cache), want):
        torch.testing.assert_close(got, exp, rtol=1e-9, atol=1e-10)


def test_gat_backward_matches_finite_differences():
    x, adj, w, a_src, a_dst = gat_case(7)
    out, cache = gat.gat_forward(x, adj, w, a_src, a_dst)
    dout = tensor(8, *out.shape)
    dx, dw, da_src, _ = gat.gat_backward(dout, cache)
    tol = dict(rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dx, numeric_grad(lambda v: gat.gat_forward(v, adj, w, a_src, a_dst)[0], x, dout), **tol)
    torch.testing.assert_close(dw, numeric_grad(lambda v: gat.gat_forward(x, adj, v, a_src, a_dst)[0], w, dout), **tol)
    torch.testing.assert_close(da_src, numeric_grad(lambda v: gat.gat_forward(x, adj, w, v, a_dst)[0], a_src, dout),
                               **tol)


def test_gat_attends_only_to_neighbours_is_equivariant_and_survives_large_scores():
    x, adj, w, a_src, a_dst = gat_case(9)
    _, cache = gat.gat_forward(x, adj, w, a_src, a_dst)
    alpha = cache[6]  # (H, N, N)
    allowed = (adj != 0) | torch.eye(6, dtype=torch.bool)
    assert (alpha[:, ~allowed] == 0).all() and (alpha[:, allowed] > 0).all()
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 6, dtype=F64), **EXACT)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(9))
    out, _ = gat.gat_forward(x, adj, w, a_src, a_dst)
    out_p, _ = gat.gat_forward(x[perm], adj[perm][:, perm], w, a_src, a_dst)
    torch.testing.assert_close(out_p, out[perm], **EXACT)
    big = gat_case(9, scale=300.0)
    out, _ = gat.gat_forward(*big)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, gat_loops(*big), **EXACT)  # torch.softmax is stabilised too


# GraphSAGE.

def sage_case(seed: int, n: int = 7, f: int = 4, f_out: int = 3):
    adj = graph(seed, n, 0.4, directed=True)
    adj[seed % n] = 0.0  # a node without neighbours
    edge_index = adj.nonzero().T
    edge_index = edge_index[:, torch.randperm(edge_index.shape[1], generator=torch.Generator().manual_seed(seed))]
    return adj, (tensor(seed + 1, n, f), edge_index, tensor(seed + 2, f, f_out), tensor(seed + 3, f, f_out),
                 tensor(seed + 4, f_out))


def sage_dense(adj, x, w_self, w_neigh, b):
    deg = adj.sum(1, keepdim=True)
    return x @ w_self + torch.where(deg > 0, adj @ x / deg.clamp(min=1), 0.0) @ w_neigh + b


@SETTINGS
@given(seed=seeds)
def test_sage_mean_matches_the_dense_mean_and_autograd(seed):
    adj, (x, edge_index, w_self, w_neigh, b) = sage_case(seed)
    out, cache = sage.sage_mean_forward(x, edge_index, w_self, w_neigh, b)
    torch.testing.assert_close(out, sage_dense(adj, x, w_self, w_neigh, b), **EXACT)
    dout = tensor(seed + 5, *out.shape)
    want = grads(lambda x, ws, wn, b: sage_dense(adj, x, ws, wn, b), [x, w_self, w_neigh, b], dout)
    for got, exp in zip(sage.sage_mean_backward(dout, cache), want):
        torch.testing.assert_close(got, exp, **EXACT)
    isolated = seed % 7
    torch.testing.assert_close(out[isolated], x[isolated] @ w_self + b, **EXACT)


def test_sage_backward_matches_finite_differences():
    _, (x, edge_index, w_self, w_neigh, b) = sage_case(4)
    out, cache = sage.sage_mean_forward(x, edge_index, w_self, w_neigh, b)
    dout = tensor(5, *out.shape)
    dx, _, dw_neigh, _ = sage.sage_mean_backward(dout, cache)
    tol = dict(rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(dx, numeric_grad(lambda v: sage.sage_mean_forward(v, edge_index, w_self, w_neigh, b)[0],
                                                x, dout), **tol)
    torch.testing.assert_close(dw_neigh, numeric_grad(
        lambda v: sage.sage_mean_forward(x, edge_index, w_self, v, b)[0], w_neigh, dout), **tol)


# Readout.

@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_readout_matches_each_graph_pooled_alone_and_autograd(mode):
    g = torch.Generator().manual_seed(1)
    batch = torch.tensor([0, 2, 1, 0, 2, 2, 1, 0, 0])
    x = torch.randn(9, 3, generator=g, dtype=F64)
    pool = {"sum": lambda v: v.sum(0), "mean": lambda v: v.mean(0), "max": lambda v: v.amax(0)}[mode]

    def by_graph(v):
        return torch.stack([pool(v[batch == k]) for k in range(3)])

    out, cache = readout.readout_forward(x, batch, 3, mode)
    torch.testing.assert_close(out, by_graph(x), **EXACT)
    dout = torch.randn(3, 3, generator=g, dtype=F64)
    torch.testing.assert_close(readout.readout_backward(dout, cache), grads(by_graph, [x], dout)[0], **EXACT)
    perm = torch.randperm(9, generator=g)  # renumbering the nodes changes nothing
    torch.testing.assert_close(readout.readout_forward(x[perm], batch[perm], 3, mode)[0], out, **EXACT)


# The two-layer GCN.

def gcn2_case(seed: int, n: int = 8, f: int = 5, hidden: int = 4, classes: int = 3):
    a_hat = gcn.normalized_adjacency(graph(seed, n))
    params = [(tensor(seed + 1, f, hidden), tensor(seed + 2, hidden)), (tensor(seed + 3, hidden, classes),
                                                                         tensor(seed + 4, classes))]
    y = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed))
    return tensor(seed + 5, n, f), a_hat, params, y, torch.tensor([5, 0, 3])


def gcn2_autograd(x, a_hat, params, y, labelled, reg):
    leaves = [[t.clone().requires_grad_(True) for t in p] for p in params]
    with torch.enable_grad():
        (w1, b1), (w2, b2) = leaves
        scores = a_hat @ torch.relu(a_hat @ x @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(scores[labelled], y[labelled]) + reg / 2 * (w1 ** 2).sum()
        loss.backward()
    return scores.detach(), loss.detach(), [(w.grad, b.grad) for w, b in leaves]


@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_gcn2_matches_cross_entropy_and_autograd(reg):
    x, a_hat, params, y, labelled = gcn2_case(3)
    scores_ref, loss_ref, grads_ref = gcn2_autograd(x, a_hat, params, y, labelled, reg)
    scores, _ = model.gcn2_forward(x, a_hat, params)
    torch.testing.assert_close(scores, scores_ref, **EXACT)
    loss, got = model.gcn2_loss(x, a_hat, params, y, labelled, reg)
    torch.testing.assert_close(loss, loss_ref, **EXACT)
    for pair, pair_ref in zip(got, grads_ref):
        for g, r in zip(pair, pair_ref):
            torch.testing.assert_close(g, r, **EXACT)


def test_gcn2_loss_gradient_matches_finite_differences():
    x, a_hat, params, y, labelled = gcn2_case(6)
    (w1, b1), (w2, b2) = params
    _, [(dw1, _), (dw2, _)] = model.gcn2_loss(x, a_hat, params, y, labelled, 0.1)
    tol = dict(rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(dw1, numeric_grad(
        lambda v: model.gcn2_loss(x, a_hat, [(v, b1), (w2, b2)], y, labelled, 0.1)[0], w1), **tol)
    torch.testing.assert_close(dw2, numeric_grad(
        lambda v: model.gcn2_loss(x, a_hat, [(w1, b1), (v, b2)], y, labelled, 0.1)[0], w2), **tol)
