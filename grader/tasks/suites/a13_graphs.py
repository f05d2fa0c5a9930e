"""What a13 (graph neural networks) checks: inputs for each task, and how each task is run.

Graphs are random, neither empty nor complete (a softmax over every node instead of the
neighbourhood changes the result), and the node count N differs from every feature size, so a
wrong axis cannot pass. The renormalised adjacency is checked on weighted graphs and on graphs
with an isolated node (A + I keeps its degree at 1). The layers' propagation matrices, edge lists
and attention masks are directed (not symmetric) after case 0, so a missing transpose in a backward
shows; edge lists come in a shuffled order, so a gradient per edge must keep the caller's order.
GAT's case ``LARGE_CASE`` has attention scores near 1e3 (its softmax must be stabilised), and
max readouts have distinct values (no ties). Every task also checks that its function leaves its
inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import LARGE_CASE, distinct_dims, distinct_values, randint, randn, scalar, uniform, with_dout
from grader.tasks.model import Suite, layer_pairs

SUITE = Suite("a13_graphs")
F64 = torch.float64


def random_graph(g: torch.Generator, n: int, p: float, directed: bool = False) -> torch.Tensor:
    """A 0/1 adjacency (N, N) with zero diagonal, each edge present with probability ``p``, with at least
    one edge and one missing edge; symmetric unless ``directed``."""
    while True:
        adj = (torch.rand(n, n, generator=g) < p).to(F64)
        if not directed:
            adj = torch.triu(adj, 1)
            adj = adj + adj.T
        adj.fill_diagonal_(0.0)
        off = n * (n - 1)
        if 0 < adj.sum() < off:
            return adj


def renormalised(adj: torch.Tensor) -> torch.Tensor:
    """D~^-1/2 (A + I) D~^-1/2, for inputs like a real GCN's (the suite may not import the reference)."""
    a = adj + torch.eye(adj.shape[0], dtype=adj.dtype)
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


def nodes_and_features(g: torch.Generator, case: int, count: int) -> list[int]:
    """N nodes (4 in case 0) and ``count`` feature sizes, all different."""
    sizes = distinct_dims(g, count, 2, 7)
    n = 4 if case == 0 else randint(g, 5, 9)
    while n in sizes:
        n += 1
    return [n] + sizes


# The renormalised adjacency.

def adjacency_inputs(g: torch.Generator, case: int) -> dict:
    n = 4 if case == 0 else randint(g, 5, 9)
    adj = random_graph(g, n, [0.5, 0.4, 0.6][case % 3])
    if case % 2 == 1:  # weighted edges
        weights = uniform(g, n, n, low=0.3, high=2.5)
        adj = adj * torch.triu(weights, 1) + (adj * torch.triu(weights, 1)).T
    if case >= 2:  # an isolated node: A + I still gives it degree 1
        i = randint(g, 0, n - 1)
        adj[i, :] = 0.0
        adj[:, i] = 0.0
    return {"adj": adj}


SUITE.call("normalized_adjacency", "gcn", adjacency_inputs, outputs=("a_hat",))


# GCN layers, dense and sparse.

def propagation(g: torch.Generator, case: int, n: int) -> torch.Tensor:
    """A_hat of a random graph in case 0; afterwards a directed pattern with self-loops and random weights."""
    if case == 0:
        return renormalised(random_graph(g, n, 0.5))
    pattern = random_graph(g, n, 0.45, directed=True) + torch.eye(n, dtype=F64)
    return pattern * uniform(g, n, n, low=-1.0, high=1.5)


def gcn_inputs(g: torch.Generator, case: int) -> dict:
    n, f, f_out = nodes_and_features(g, case, 2)
    return {"x": randn(g, n, f), "a_hat": propagation(g, case, n), "w": randn(g, f, f_out), "b": randn(g, f_out)}


def gcn_out_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["w"].shape[1]


def sparse_inputs(g: torch.Generator, case: int) -> dict:
    """The dense inputs' nonzeros as a COO edge list in a shuffled order (a zero weight is never drawn)."""
    kw = gcn_inputs(g, case)
    a_hat = kw.pop("a_hat")
    indices = a_hat.nonzero().T  # (2, E) sorted by row
    order = torch.randperm(indices.shape[1], generator=g)
    indices = indices[:, order].contiguous()
    return {"x": kw["x"], "indices": indices, "values": a_hat[indices[0], indices[1]], "w": kw["w"], "b": kw["b"]}


GCN_GRADS = dict(grads=("dx", "dw", "db"), wrt=("x", "w", "b"))
SUITE.call("gcn_forward", "gcn", gcn_inputs)
SUITE.backward("gcn_backward", "gcn_forward", "gcn", with_dout(gcn_inputs, gcn_out_shape), **GCN_GRADS)
SUITE.call("gcn_sparse_forward", "gcn", sparse_inputs)
SUITE.backward("gcn_sparse_backward", "gcn_sparse_forward", "gcn", with_dout(sparse_inputs, gcn_out_shape),
               grads=("dx", "dw", "db", "dvalues"), wrt=("x", "w", "b", "values"))


# Graph attention.

def gat_inputs(g: torch.Generator, case: int) -> dict:
    n, f, k = nodes_and_features(g, case, 2)
    heads = 1 if case == 0 else randint(g, 2, 3)
    adj = random_graph(g, n, 0.4, directed=case > 0)
    if case == 1:  # weighted edges and self-loops on the diagonal: only adj != 0 counts
        adj = adj * uniform(g, n, n, low=0.5, high=2.0) + torch.eye(n, dtype=F64)
    scale = 1.0 / f ** 0.5
    a_scale = 150.0 if case == LARGE_CASE else 1.0  # scores near 1e3: exp overflows unless stabilised
    return {"x": randn(g, n, f), "adj": adj, "w": randn(g, heads, f, k, scale=scale),
            "a_src": randn(g, heads, k, scale=a_scale), "a_dst": randn(g, heads, k, scale=a_scale),
            "concat": case % 2 == 0}


def gat_out_shape(kw: dict) -> tuple[int, ...]:
    heads, _, k = kw["w"].shape
    return kw["x"].shape[0], heads * k if kw["concat"] else k


SUITE.call("gat_forward", "gat", gat_inputs)
SUITE.backward("gat_backward", "gat_forward", "gat", with_dout(gat_inputs, gat_out_shape),
               grads=("dx", "dw", "da_src", "da_dst"), wrt=("x", "w", "a_src", "a_dst"))


# GraphSAGE.

def edge_list(adj: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """The (i, j) pairs of adj's nonzeros, (2, E) int64, in a shuffled order."""
    indices = adj.nonzero().T
    return indices[:, torch.randperm(indices.shape[1], generator=g)].contiguous()


def sage_inputs(g: torch.Generator, case: int) -> dict:
    n, f, f_out = nodes_and_features(g, case, 2)
    adj = random_graph(g, n, 0.45, directed=case > 0)
    if case >= 2:  # a node with no neighbours aggregates zeros (it may still be someone's neighbour)
        adj[randint(g, 0, n - 1), :] = 0.0
    if case == 3:
        adj = adj + torch.eye(n, dtype=F64)  # self-loops: a node is its own neighbour
    return {"x": randn(g, n, f), "edge_index": edge_list(adj, g), "w_self": randn(g, f, f_out),
            "w_neigh": randn(g, f, f_out), "b": randn(g, f_out)}


def sage_out_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["w_self"].shape[1]


SUITE.call("sage_mean_forward", "sage", sage_inputs)
SUITE.backward("sage_mean_backward", "sage_mean_forward", "sage", with_dout(sage_inputs, sage_out_shape),
               grads=("dx", "dw_self", "dw_neigh", "db"), wrt=("x", "w_self", "w_neigh", "b"))


# Readout.

MODES = ("mean", "sum", "max")


def readout_inputs(g: torch.Generator, case: int) -> dict:
    graphs = 1 if case == 0 else randint(g, 2, 4)
    sizes = [randint(g, 1, 4) if case else 5 for _ in range(graphs)]
    batch = torch.repeat_interleave(torch.arange(graphs), torch.tensor(sizes))  # (N,) sorted, as batched
    if case >= 3:  # nodes of different graphs interleaved
        batch = batch[torch.randperm(len(batch), generator=g)]
    n, f = len(batch), randint(g, 2, 5)
    while f in (n, graphs):
        f += 1
    x = distinct_values(g, n, f, gap=0.05, jitter=0.02) if case % 3 == 2 else randn(g, n, f)
    return {"x": x, "batch": batch.contiguous(), "num_graphs": graphs, "mode": MODES[case % 3]}


def readout_out_shape(kw: dict) -> tuple[int, ...]:
    return kw["num_graphs"], kw["x"].shape[1]


SUITE.call("readout_forward", "readout", readout_inputs)
SUITE.backward("readout_backward", "readout_forward", "readout", with_dout(readout_inputs, readout_out_shape))


# The two-layer GCN.

def gcn2_inputs(g: torch.Generator, case: int) -> dict:
    n, f, hidden = nodes_and_features(g, case, 2)
    classes = next(c for c in (randint(g, 2, 4), 2, 3, 4) if c not in (n, f, hidden))  # 2..4 classes
    adj = random_graph(g, n, 0.4)
    x = torch.eye(n, dtype=F64) if case == 1 else randn(g, n, f)  # case 1: identity features, as the karate club
    f = x.shape[1]
    params = [[randn(g, f, hidden, scale=0.8), randn(g, hidden, scale=0.3)],
              [randn(g, hidden, classes, scale=0.8), randn(g, classes, scale=0.3)]]
    labelled = torch.randperm(n, generator=g)[:randint(g, 1, n - 1)]  # some nodes only, in any order
    return {"x": x, "a_hat": renormalised(adj), "params": params, "y": torch.randint(0, classes, (n,), generator=g),
            "labelled": labelled, "reg": 0.0 if case == 0 else scalar(g, 1e-3, 0.2)}


def gcn2_scores(m, x, a_hat, params, **_):
    scores, _ = m.model.gcn2_forward(x, a_hat, [tuple(p) for p in params])
    return scores


def gcn2_forward_run(m, x, a_hat, params):
    return {"scores": gcn2_scores(m, x, a_hat, params)}


def gcn2_forward_inputs(g: torch.Generator, case: int) -> dict:
    kw = gcn2_inputs(g, case)
    return {"x": kw["x"], "a_hat": kw["a_hat"], "params": kw["params"]}


def gcn2_loss_value(m, x, a_hat, params, y, labelled, reg):
    loss, _ = m.model.gcn2_loss(x, a_hat, [tuple(p) for p in params], y, labelled, reg)
    return loss


def gcn2_loss_run(m, x, a_hat, params, y, labelled, reg):
    loss, grads = m.model.gcn2_loss(x, a_hat, [tuple(p) for p in params], y, labelled, reg)
    return {"loss": loss, **layer_pairs("gcn2_loss", grads, 2)}


GCN2_WRT = {f"d{p}{i}": f"params.{i - 1}.{j}" for i in (1, 2) for j, p in enumerate("Wb")}
SUITE.composite("gcn2_forward", "model", gcn2_forward_inputs, gcn2_forward_run, calls=("gcn_forward",))
SUITE.composite("gcn2_loss", "model", gcn2_inputs, gcn2_loss_run, wrt=GCN2_WRT, forward=gcn2_loss_value,
                calls=("gcn2_forward", "gcn_forward", "gcn_backward"))
