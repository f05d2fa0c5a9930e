"""Alternative a13 GraphSAGE, correct but written differently from the reference: a dense row-normalised
adjacency built from the edge list, and a loop over the edges for the neighbours' gradient. The grader
must give them full marks."""
import torch


def _mean_matrix(edge_index, n, like):
    m = torch.zeros(n, n, dtype=like.dtype, device=like.device)
    m[edge_index[0], edge_index[1]] = 1.0
    deg = m.sum(1, keepdim=True)
    return torch.where(deg > 0, m / torch.where(deg > 0, deg, 1.0), 0.0)


def sage_mean_forward(x, edge_index, w_self, w_neigh, b):
    mean = _mean_matrix(edge_index, x.shape[0], x) @ x
    return x @ w_self + mean @ w_neigh + b, (x, edge_index, w_self, w_neigh)


def sage_mean_backward(dout, cache):
    x, edge_index, w_self, w_neigh = cache
    n = x.shape[0]
    deg = [0] * n
    for i in edge_index[0].tolist():
        deg[i] += 1
    dmean = dout @ w_neigh.T
    dx = dout @ w_self.T
    for i, j in edge_index.T.tolist():
        dx[j] += dmean[i] / deg[i]
    mean = _mean_matrix(edge_index, n, x) @ x
    return dx, x.T @ dout, mean.T @ dout, dout.sum(0)
