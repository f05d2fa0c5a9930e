"""Alternative a13 GCN, correct but written differently from the reference: diagonal matrices for D~^-1/2,
(A_hat X) W instead of A_hat (X W), a backward through the dense A_hat's transpose by matmul order, and a
sparse layer that builds the COO matrix with index_select/index_add instead of torch.sparse.mm, with edge
gradients taken one edge at a time. The grader must give them full marks."""
import torch


def normalized_adjacency(adj):
    n = adj.shape[0]
    a = adj.clone()
    a.diagonal().add_(1.0)
    inv_sqrt = torch.diag(a.sum(0) ** -0.5)  # the adjacency is symmetric: column sums are degrees too
    return inv_sqrt @ a @ inv_sqrt


def gcn_forward(x, a_hat, w, b):
    return (a_hat @ x) @ w + b, (x, a_hat, w)


def gcn_backward(dout, cache):
    x, a_hat, w = cache
    dax = dout @ w.T  # gradient of (A_hat X)
    return (dax.T @ a_hat).T, (a_hat @ x).T @ dout, dout.sum(0)


def gcn_sparse_forward(x, indices, values, w, b):
    row, col = indices
    xw = x @ w
    out = torch.zeros(x.shape[0], w.shape[1], dtype=x.dtype, device=x.device)
    out = out.index_add(0, row, values[:, None] * xw.index_select(0, col))
    return out + b, (x, indices, values, w)


def gcn_sparse_backward(dout, cache):
    x, indices, values, w = cache
    row, col = indices
    xw = x @ w
    dxw = torch.zeros_like(xw).index_add(0, col, values[:, None] * dout.index_select(0, row))
    dvalues = torch.stack([dout[i] @ xw[j] for i, j in indices.T.tolist()]) if values.numel() else values.clone()
    return dxw @ w.T, x.T @ dxw, dout.sum(0), dvalues
