"""Experiments of a13, reproduced with this package's own functions: Zachary's karate club, learned by a
two-layer GCN from one labelled member per club, and the invariants that hold for any graph.

``run(plots=None)`` returns one row per quantity: {"quantity", "published", "ours", "ok"}.
Run it on the reference (``grader reproduce a13``) or, once your functions work, on yours.
"""
from __future__ import annotations

from pathlib import Path

import torch

from grader.experiments import row

from .gat import gat_forward
from .gcn import gcn_forward, gcn_sparse_forward, normalized_adjacency
from .model import gcn2_forward, gcn2_loss, relu

F64 = torch.float64
SEEDS = 10


def karate_club() -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    """networkx's karate club: adjacency (34, 34) float64, labels (34,) (0: Mr. Hi's club, 1: the
    Officer's), and the edge list."""
    import networkx as nx

    graph = nx.karate_club_graph()
    nodes = sorted(graph.nodes)
    adj = torch.tensor(nx.to_numpy_array(graph, nodelist=nodes, weight=None), dtype=F64)
    labels = torch.tensor([0 if graph.nodes[i]["club"] == "Mr. Hi" else 1 for i in nodes])
    return adj, labels, sorted(graph.edges)


def glorot(fan_in: int, fan_out: int, g: torch.Generator) -> torch.Tensor:
    """Glorot and Bengio's uniform initialisation, as the GCN paper uses."""
    r = (6.0 / (fan_in + fan_out)) ** 0.5
    return (torch.rand(fan_in, fan_out, generator=g, dtype=F64) * 2 - 1) * r


def train_gcn(a_hat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, labelled: torch.Tensor, seed: int,
              hidden: int = 16, epochs: int = 200, lr: float = 0.2, reg: float = 5e-4) -> tuple[list, list[float]]:
    """Full-batch gradient descent on gcn2_loss (the reference's own backward): (params, losses)."""
    g = torch.Generator().manual_seed(seed)
    classes = int(y.max()) + 1
    params = [(glorot(x.shape[1], hidden, g), torch.zeros(hidden, dtype=F64)),
              (glorot(hidden, classes, g), torch.zeros(classes, dtype=F64))]
    losses = []
    for _ in range(epochs):
        loss, grads = gcn2_loss(x, a_hat, params, y, labelled, reg)
        params = [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads)]
        losses.append(float(loss))
    return params, losses


def karate(seeds: int = SEEDS) -> tuple[list[dict], dict]:
    adj, y, edges = karate_club()
    n = len(y)
    a_hat = normalized_adjacency(adj)
    x = torch.eye(n, dtype=F64)  # identity features: the graph is all the model knows
    labelled = torch.tensor([0, n - 1])  # Mr. Hi (node 0) and the Officer (node 33)
    others = torch.ones(n, dtype=torch.bool)
    others[labelled] = False
    accuracies, first = [], None
    for seed in range(seeds):
        params, losses = train_gcn(a_hat, x, y, labelled, seed)
        scores, _ = gcn2_forward(x, a_hat, params)
        accuracies.append(float((scores.argmax(1)[others] == y[others]).to(F64).mean()))
        if first is None:
            first = {"params": params, "scores": scores, "losses": losses}
    mean = sum(accuracies) / len(accuracies)
    clubs = [int((y == c).sum()) for c in (0, 1)]
    rows = [row("karate club: nodes, edges (networkx karate_club_graph)", "34, 78", f"{n}, {len(edges)}",
                (n, len(edges)) == (34, 78)),
            row("karate club: members of Mr. Hi's club, of the Officer's", "17, 17", f"{clubs[0]}, {clubs[1]}",
                clubs == [17, 17]),
            row(f"karate club, 2-layer GCN, nodes 0 and 33 labelled: mean accuracy on the other 32 ({seeds} seeds)",
                ">= 0.94", round(mean, 4), mean >= 0.94),
            row("karate club: worst seed's accuracy", "reported", round(min(accuracies), 4), True)]
    return rows, {"edges": edges, "y": y, "a_hat": a_hat, "x": x, **first}


def invariants(a_hat: torch.Tensor, g: torch.Generator) -> list[dict]:
    """On the karate club's A_hat: its spectrum, dense = sparse, and permutation equivariance."""
    n = a_hat.shape[0]
    eig = torch.linalg.eigvalsh(a_hat)
    rows = [row("A_hat eigenvalues in (-1, 1]: smallest, largest", "> -1, 1 (connected graph)",
                f"{float(eig.min()):.4f}, {float(eig.max()):.12f}",
                float(eig.min()) > -1 and abs(float(eig.max()) - 1) < 1e-12)]
    x, w, b = (torch.randn(n, 5, generator=g, dtype=F64), torch.randn(5, 3, generator=g, dtype=F64),
               torch.randn(3, generator=g, dtype=F64))
    dense, _ = gcn_forward(x, a_hat, w, b)
    indices = a_hat.nonzero().T
    sparse, _ = gcn_sparse_forward(x, indices, a_hat[indices[0], indices[1]], w, b)
    diff = float((dense - sparse).abs().max())
    rows.append(row("GCN layer: dense A_hat vs torch.sparse COO, max |difference|", "0 (< 1e-12)", diff, diff < 1e-12))
    perm = torch.randperm(n, generator=g)
    out, _ = gcn_forward(x[perm], a_hat[perm][:, perm], w, b)
    diff = float((out - dense[perm]).abs().max())
    rows.append(row("GCN layer: P A P^T, P X -> P out, max |difference|", "0 (< 1e-12)", diff, diff < 1e-12))
    heads = (torch.randn(2, 5, 4, generator=g, dtype=F64), torch.randn(2, 4, generator=g, dtype=F64),
             torch.randn(2, 4, generator=g, dtype=F64))
    adj = (a_hat > 0).to(F64)
    att, _ = gat_forward(x, adj, *heads)
    att_p, _ = gat_forward(x[perm], adj[perm][:, perm], *heads)
    diff = float((att_p - att[perm]).abs().max())
    rows.append(row("GAT layer: P A P^T, P X -> P out, max |difference|", "0 (< 1e-12)", diff, diff < 1e-12))
    return rows


def run(plots: Path | None = None) -> list[dict]:
    rows, fit = karate()
    rows += invariants(fit["a_hat"], torch.Generator().manual_seed(0))
    if plots is not None:
        import networkx as nx
        import numpy

        pos = nx.spring_layout(nx.karate_club_graph(), seed=0)
        layout = torch.tensor(numpy.array([pos[i] for i in range(len(fit["y"]))]), dtype=F64)
        (w1, b1), _ = fit["params"]
        pre, _ = gcn_forward(fit["x"], fit["a_hat"], w1, b1)
        _plot_karate(Path(plots), fit["edges"], layout, fit["y"], fit["scores"], relu(pre))
    return rows


def _plot_karate(folder: Path, edges: list[tuple[int, int]], layout: torch.Tensor, y: torch.Tensor,
                 scores: torch.Tensor, hidden: torch.Tensor) -> None:
    """Left: the graph, nodes coloured by predicted club, outlined where wrong. Middle: the hidden
    layer's embedding (N, 16) on its first two principal components. Right: each node's 2-D output
    of the trained GCN (its two class scores). Both coloured by the true club."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    pred = scores.argmax(1)
    names, colours = ("Mr. Hi's club", "Officer's club"), ("tab:blue", "tab:orange")
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    ax = axes[0]
    for i, j in edges:
        ax.plot(layout[[i, j], 0].numpy(), layout[[i, j], 1].numpy(), color="0.8", lw=0.8, zorder=1)
    for c in (0, 1):
        idx = (pred == c).nonzero().view(-1)
        ax.scatter(layout[idx, 0].numpy(), layout[idx, 1].numpy(), s=120, color=colours[c], zorder=2,
                   label=f"predicted: {names[c]}")
    wrong = (pred != y).nonzero().view(-1)
    ax.scatter(layout[wrong, 0].numpy(), layout[wrong, 1].numpy(), s=260, facecolors="none", edgecolors="red",
               linewidths=2, zorder=3, label=f"wrong ({len(wrong)})")
    ends = [0, len(y) - 1]
    ax.scatter(layout[ends, 0].numpy(), layout[ends, 1].numpy(), s=40, marker="*", color="black", zorder=4,
               label="labelled (nodes 0, 33)")
    ax.set(title="Karate club: GCN predictions", xlabel="layout x (spring layout)", ylabel="layout y")
    ax.legend(loc="lower left", fontsize=8)
    centred = hidden - hidden.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    pcs = centred @ v[:2].T  # (N, 2) the two directions of largest spread
    for ax, points, title, labels in (
            (axes[1], pcs, f"Hidden layer ({hidden.shape[1]}-D) embedding, 2 principal components",
             ("first principal component", "second principal component")),
            (axes[2], scores, "Learned 2-D embedding: the GCN's output",
             ("score of Mr. Hi's club", "score of the Officer's club"))):
        for c in (0, 1):
            idx = (y == c).nonzero().view(-1)
            ax.scatter(points[idx, 0].numpy(), points[idx, 1].numpy(), color=colours[c], label=f"true: {names[c]}")
        ax.set(title=title, xlabel=labels[0], ylabel=labels[1])
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "a13_karate.png", dpi=100)
    plt.close(fig)
