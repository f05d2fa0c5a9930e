"""a09 reference against ground truth: nn.RNN, nn.LSTM, nn.GRU with its weights copied in, autograd,
float64 central differences, and the invariants of the notes (dc_T/dc_0 = prod f_t; a left-branching tree
is an RNN)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.a09_recurrent import gru, lstm, rnn, tree
from tests.helpers import numeric_grad
from tests.strategies import seeds, tensor

F64 = torch.float64
SETTINGS = settings(max_examples=8, deadline=None)
small = st.integers(min_value=1, max_value=5)


def weights(seed: int, gates: int, i: int, h: int, scale: float = 0.5) -> list[torch.Tensor]:
    """w_ih (gates*H, I), w_hh (gates*H, H), b_ih, b_hh (gates*H,)."""
    return [tensor(seed, gates * h, i, scale=scale), tensor(seed + 1, gates * h, h, scale=scale),
            tensor(seed + 2, gates * h, scale=scale), tensor(seed + 3, gates * h, scale=scale)]


def torch_module(cls, params: list[torch.Tensor], **kw):
    """``cls`` (nn.RNN, nn.LSTMCell, ...) in float64 with ``params`` (w_ih, w_hh, b_ih, b_hh) copied in."""
    i, h = params[0].shape[1], params[1].shape[1]
    module = cls(i, h, **kw).to(F64)
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0") if hasattr(module, "weight_ih_l0") \
        else ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    with torch.no_grad():
        for name, p in zip(names, params):
            getattr(module, name).copy_(p)
    return module, names


def autograd(fn, inputs: list[torch.Tensor], weighting: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradients of sum_k (outputs_k * weighting_k) with respect to ``inputs``."""
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    with torch.enable_grad():
        outs = fn(*leaves)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        sum((o * w).sum() for o, w in zip(outs, weighting)).backward()
    return [t.grad if t.grad is not None else torch.zeros_like(t) for t in leaves]


def close(got, expected) -> None:
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


# The vanilla RNN.

def module_rnn(params, x, h0):
    """nn.RNN's output with ``params`` as its weights (autograd reaches them)."""
    module, names = torch_module(torch.nn.RNN, params)
    return torch.func.functional_call(module, dict(zip(names, params)), (x, h0[None]))[0]


def functional_rnn(x, h0, w_ih, w_hh, b_ih, b_hh, window=None):
    """nn.RNN's cell applied step by step, the state detached every ``window`` steps (autograd's truncated BPTT)."""
    h, hs = h0, []
    for t in range(x.shape[0]):
        if window and t % window == 0 and t > 0:
            h = h.detach()
        h = torch.rnn_tanh_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
        hs.append(h)
    return torch.stack(hs)


@SETTINGS
@given(seed=seeds, t=small, n=small, i=small, h=small)
def test_rnn_forward_and_bptt_match_nn_rnn_and_autograd(seed, t, n, i, h):
    params = weights(seed, 1, i, h)
    x, h0, dh = tensor(seed + 5, t, n, i), tensor(seed + 6, n, h), tensor(seed + 7, t, n, h)
    out, cache = rnn.rnn_forward(x, h0, *params)
    module, _ = torch_module(torch.nn.RNN, params)
    with torch.no_grad():
        expected, h_n = module(x, h0[None])
    close([out], [expected])
    got = rnn.rnn_backward(dh, cache)
    close(got, autograd(lambda *a: module_rnn(a[2:], a[0], a[1]), [x, h0, *params], [dh]))


@SETTINGS
@given(seed=seeds, t=st.integers(1, 7), window=st.integers(1, 8))
def test_truncated_bptt_matches_autograd_with_the_state_detached_every_window(seed, t, window):
    n, i, h = 2, 3, 4
    params = weights(seed, 1, i, h)
    x, h0, dh = tensor(seed + 5, t, n, i), tensor(seed + 6, n, h), tensor(seed + 7, t, n, h)
    _, cache = rnn.rnn_forward(x, h0, *params)
    got = rnn.rnn_backward_truncated(dh, cache, window)
    close(got, autograd(lambda *a: functional_rnn(*a, window=window), [x, h0, *params], [dh]))
    if window >= t:
        close(got, rnn.rnn_backward(dh, cache))


def test_rnn_step_matches_finite_differences():
    params = weights(3, 1, 3, 4)
    x, h0, dout = tensor(1, 2, 3), tensor(2, 2, 4), tensor(4, 2, 4)
    out, cache = rnn.rnn_step_forward(x, h0, *params)
    close([out], [torch.rnn_tanh_cell(x, h0, *params)])
    grads = rnn.rnn_step_backward(dout, cache)
    inputs = [x, h0, *params]
    for k, got in enumerate(grads):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            return rnn.rnn_step_forward(*args)[0]
        torch.testing.assert_close(got, numeric_grad(f, inputs[k], dout), rtol=1e-6, atol=1e-8)


@SETTINGS
@given(seed=seeds, t=small, n=small, c=st.integers(2, 6), shift=st.sampled_from([0.0, 1e3]))
def test_heads_match_cross_entropy_and_autograd(seed, t, n, c, shift):
    h, w, b = tensor(seed, t, n, 4, scale=2.0), tensor(seed + 1, c, 4), tensor(seed + 2, c) + shift
    g = torch.Generator().manual_seed(seed)
    y1, y2 = torch.randint(0, c, (n,), generator=g), torch.randint(0, c, (t, n), generator=g)
    mask = torch.rand(t, n, generator=g) < 0.6

    def one(h, w, b):
        return F.cross_entropy(h[-1] @ w.T + b, y1)

    def many(h, w, b, mask=None):
        ce = F.cross_entropy((h @ w.T + b).reshape(t * n, c), y2.reshape(-1), reduction="none")
        return (ce * (1.0 if mask is None else mask.reshape(-1).to(F64))).sum() / n

    loss, *grads = rnn.many_to_one_loss(h, w, b, y1)
    torch.testing.assert_close(loss, one(h, w, b))
    close(grads, autograd(one, [h, w, b], [torch.tensor(1.0, dtype=F64)]))
    for m in (None, mask):
        loss, *grads = rnn.many_to_many_loss(h, w, b, y2, m)
        assert torch.isfinite(loss)
        torch.testing.assert_close(loss, many(h, w, b, m))
        close(grads, autograd(lambda *a: many(*a, mask=m), [h, w, b], [torch.tensor(1.0, dtype=F64)]))


# The LSTM and the GRU.

@SETTINGS
@given(seed=seeds, n=small, i=small, h=small)
def test_lstm_and_gru_steps_match_torch_cells_and_autograd(seed, n, i, h):
    x, h0, c0 = tensor(seed + 5, n, i), tensor(seed + 6, n, h), tensor(seed + 7, n, h)
    dh, dc = tensor(seed + 8, n, h), tensor(seed + 9, n, h)
    params = weights(seed, 4, i, h, scale=1.0)
    cell, _ = torch_module(torch.nn.LSTMCell, params)
    h1, c1, cache = lstm.lstm_step_forward(x, h0, c0, *params)
    with torch.no_grad():
        close([h1, c1], list(cell(x, (h0, c0))))
    close(lstm.lstm_step_backward(dh, dc, cache),
          autograd(lambda x, h, c, *p: torch.lstm_cell(x, (h, c), *p), [x, h0, c0, *params], [dh, dc]))

    params = weights(seed + 20, 3, i, h, scale=1.0)
    cell, _ = torch_module(torch.nn.GRUCell, params)
    h1, cache = gru.gru_step_forward(x, h0, *params)
    with torch.no_grad():
        close([h1], [cell(x, h0)])
    close(gru.gru_step_backward(dh, cache), autograd(torch.gru_cell, [x, h0, *params], [dh]))


@SETTINGS
@given(seed=seeds, t=small, n=small, i=small, h=small)
def test_lstm_sequence_matches_nn_lstm_and_autograd(seed, t, n, i, h):
    params = weights(seed, 4, i, h)
    x, h0, c0, dh = tensor(seed + 5, t, n, i), tensor(seed + 6, n, h), tensor(seed + 7, n, h), tensor(seed + 8, t, n, h)
    out, cache = lstm.lstm_forward(x, h0, c0, *params)
    module, names = torch_module(torch.nn.LSTM, params)
    with torch.no_grad():
        close([out], [module(x, (h0[None], c0[None]))[0]])

    def sequence(x, h0, c0, *p):
        return torch.func.functional_call(module, dict(zip(names, p)), (x, (h0[None], c0[None])))[0]
    close(lstm.lstm_backward(dh, cache), autograd(sequence, [x, h0, c0, *params], [dh]))


def test_lstm_step_backward_matches_finite_differences():
    params = weights(11, 4, 3, 2, scale=1.0)
    x, h0, c0, dh, dc = tensor(1, 2, 3), tensor(2, 2, 2), tensor(3, 2, 2), tensor(4, 2, 2), tensor(5, 2, 2)
    _, _, cache = lstm.lstm_step_forward(x, h0, c0, *params)
    inputs = [x, h0, c0, *params]
    for k, got in enumerate(lstm.lstm_step_backward(dh, dc, cache)):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            h1, c1, _ = lstm.lstm_step_forward(*args)
            return torch.stack([h1, c1])
        torch.testing.assert_close(got, numeric_grad(f, inputs[k], torch.stack([dh, dc])), rtol=1e-6, atol=1e-8)


def test_cell_gradient_is_the_product_of_forget_gates_along_the_cell_path():
    """With w_hh = 0 the gates do not depend on the state, so dh_T/dc_0 = o_T (1 - tanh^2 c_T) prod_t f_t."""
    t, n, i, h = 6, 3, 2, 4
    w_ih, _, b_ih, b_hh = weights(5, 4, i, h, scale=1.0)
    w_hh = torch.zeros(4 * h, h, dtype=F64)
    x, h0, c0 = tensor(1, t, n, i), tensor(2, n, h), tensor(3, n, h)
    out, cache = lstm.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    dh = torch.zeros(t, n, h, dtype=F64)
    dh[-1] = 1.0
    _, dh0, dc0, *_ = lstm.lstm_backward(dh, cache)
    forget = torch.stack([step[6] for step in cache])  # (T, N, H)
    o_t, tanh_c = cache[-1][8], cache[-1][9]
    torch.testing.assert_close(dc0, o_t * (1 - tanh_c ** 2) * forget.prod(dim=0))
    assert torch.count_nonzero(dh0) == 0


# Recursive networks.

def left_branching(leaves: int) -> torch.Tensor:
    """((0, 1), (L, 2), (L + 1, 3), ...): each internal node joins the previous one with the next leaf."""
    rows = [[0, 1]] + [[leaves + k - 1, k + 1] for k in range(1, leaves - 1)]
    return torch.tensor(rows, dtype=torch.int64).reshape(-1, 2)


def recursive_tree(leaves, children, w, b):
    """The composition by plain recursion from each root, in autograd-friendly torch ops."""
    n_leaves = leaves.shape[0]
    memo = {}

    def node(j):
        if j < n_leaves:
            return leaves[j]
        if j not in memo:
            left, right = children[j - n_leaves].tolist()
            memo[j] = torch.tanh(w @ torch.cat([node(left), node(right)]) + b)
        return memo[j]
    return torch.stack([node(j) for j in range(n_leaves + children.shape[0])])


@SETTINGS
@given(seed=seeds, trees=st.integers(1, 3), d=st.integers(1, 4))
def test_tree_forward_and_backward_match_recursion_and_autograd(seed, trees, d):
    g = torch.Generator().manual_seed(seed)
    n_leaves, children = random_forest(g, trees, 6)
    leaves, w, b = tensor(seed, n_leaves, d), tensor(seed + 1, d, 2 * d), tensor(seed + 2, d)
    dnodes = tensor(seed + 3, n_leaves + children.shape[0], d)
    nodes, cache = tree.tree_forward(leaves, children, w, b)
    close([nodes], [recursive_tree(leaves, children, w, b)])
    close(tree.tree_backward(dnodes, cache), autograd(lambda *a: recursive_tree(a[0], children, *a[1:]),
                                                      [leaves, w, b], [dnodes]))


def test_tree_backward_matches_finite_differences():
    g = torch.Generator().manual_seed(4)
    n_leaves, children = random_forest(g, 2, 5)
    leaves, w, b = tensor(1, n_leaves, 3), tensor(2, 3, 6), tensor(3, 3)
    dnodes = tensor(4, n_leaves + children.shape[0], 3)
    _, cache = tree.tree_forward(leaves, children, w, b)
    inputs = [leaves, w, b]
    for k, got in enumerate(tree.tree_backward(dnodes, cache)):
        def f(v, k=k):
            args = list(inputs)
            args[k] = v
            return tree.tree_forward(args[0], children, args[1], args[2])[0]
        torch.testing.assert_close(got, numeric_grad(f, inputs[k], dnodes), rtol=1e-6, atol=1e-8)


def test_a_left_branching_tree_is_an_rnn_over_the_paired_inputs():
    """p_1 = tanh(w [x_0; x_1] + b), p_k = tanh(w [p_{k-1}; x_k] + b): nn.RNN from h0 = x_0 over x_1 .. x_{L-1}
    with w_hh the left half of w, w_ih the right half, b_ih = b and b_hh = 0."""
    n_leaves, d = 6, 3
    leaves, w, b = tensor(1, n_leaves, d), tensor(2, d, 2 * d), tensor(3, d)
    nodes, _ = tree.tree_forward(leaves, left_branching(n_leaves), w, b)
    module, _ = torch_module(torch.nn.RNN, [w[:, d:], w[:, :d], b, torch.zeros(d, dtype=F64)])
    with torch.no_grad():
        out, _ = module(leaves[1:, None, :], leaves[:1, None, :])  # (L-1, 1, D)
    close([nodes[n_leaves:]], [out[:, 0]])


def test_tree_node_loss_matches_cross_entropy_and_autograd():
    nodes, w, b = tensor(1, 9, 4, scale=2.0), tensor(2, 3, 4), tensor(3, 3) + 1e3
    labels = torch.tensor([0, 2, 1, 1, 0, 2, 2, 1, 0])
    loss, *grads = tree.tree_node_loss(nodes, w, b, labels)

    def ce(nodes, w, b):
        return F.cross_entropy(nodes @ w.T + b, labels)
    torch.testing.assert_close(loss, ce(nodes, w, b))
    close(grads, autograd(ce, [nodes, w, b], [torch.tensor(1.0, dtype=F64)]))


def random_forest(g: torch.Generator, trees: int, max_leaves: int) -> tuple[int, torch.Tensor]:
    """Random binary trees (1 .. max_leaves leaves each) in post-order, from the suite's generator."""
    from grader.tasks.suites.a09_recurrent import random_forest as make
    return make(g, [int(torch.randint(1, max_leaves + 1, (1,), generator=g)) for _ in range(trees)])
