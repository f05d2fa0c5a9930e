"""What a09 (RNN and BPTT, LSTM, GRU, recursive networks) checks: inputs for each task, and how each task is run.

Sizes are distinct (N, I, H, T, and I != 4H, 3H) so a transposed weight or a wrong axis cannot pass;
case 0 has a batch of one. Weights are random and not symmetric, so w_hh and its transpose differ;
their scale keeps most units off saturation, and case 1 of the steps is saturated (large inputs).
Every recurrent task sees a nonzero initial state. Trees are random binary trees (a forest in the
later cases) in post-order, their siblings' vectors different, so swapped children cannot pass.
Softmax heads have their case ``LARGE_CASE`` with biases near 1e3. Every task also checks that its
function leaves its inputs unchanged.
"""
from __future__ import annotations

import torch

from grader.tasks.inputs import batch_size, distinct_dims, large_magnitude, randint, randn, with_dout
from grader.tasks.model import OutputShapeError, Suite

SUITE = Suite("a09_recurrent")
F64 = torch.float64


def sizes(g: torch.Generator, case: int, gates: int) -> tuple[int, int, int]:
    """(N, I, H): I, H distinct, I != gates * H (w_ih (gates*H, I) is never square)."""
    i, h = distinct_dims(g, 2, 2, 6)
    if i == gates * h:
        i += 1
    return batch_size(g, case, 5), i, h


def recurrent_weights(g: torch.Generator, gates: int, i: int, h: int, scale: float) -> dict:
    """torch's layout: w_ih (gates*H, I), w_hh (gates*H, H), b_ih, b_hh (gates*H,)."""
    return {"w_ih": randn(g, gates * h, i, scale=scale / i ** 0.5),
            "w_hh": randn(g, gates * h, h, scale=scale / h ** 0.5),
            "b_ih": randn(g, gates * h, scale=0.5), "b_hh": randn(g, gates * h, scale=0.5)}


def step_inputs(gates: int, cell: bool = False):
    """One step of an RNN (gates=1), GRU (3) or LSTM (4, ``cell``): x (N, I), h_prev (N, H) [c_prev], weights."""
    def make(g: torch.Generator, case: int) -> dict:
        n, i, h = sizes(g, case, gates)
        scale = 6.0 if case == 1 else 1.5  # case 1: saturated gates and tanh
        kw = {"x": randn(g, n, i), "h_prev": randn(g, n, h, scale=0.8)}
        if cell:
            kw["c_prev"] = randn(g, n, h, scale=1.5)
        kw.update(recurrent_weights(g, gates, i, h, scale))
        return kw
    return make


def sequence_inputs(gates: int, cell: bool = False):
    """A sequence: x (T, N, I), h0 (N, H) [c0], weights; T in 3..8 (2 in case 0), never equal to N, I or H."""
    def make(g: torch.Generator, case: int) -> dict:
        n, i, h = sizes(g, case, gates)
        t = 2 if case == 0 else randint(g, 3, 7)
        t = t + 1 if t in (n, i, h) else t
        kw = {"x": randn(g, t, n, i), "h0": randn(g, n, h, scale=0.8)}
        if cell:
            kw["c0"] = randn(g, n, h, scale=1.5)
        kw.update(recurrent_weights(g, gates, i, h, 1.5))
        return kw
    return make


def hidden_shape(kw: dict) -> tuple[int, ...]:
    """(T, N, H) of a sequence's hidden states, (N, H) of a step's."""
    h = kw["w_hh"].shape[1]
    return (*kw["x"].shape[:-1], h)


def lstm_step_dout(kw: dict) -> tuple[int, ...]:
    """(2, N, H): dout[0] is dh_next, dout[1] dc_next."""
    return (2, *hidden_shape(kw))


RNN_GRADS = dict(grads=("dx", "dh_prev", "dw_ih", "dw_hh", "db_ih", "db_hh"),
                 wrt=("x", "h_prev", "w_ih", "w_hh", "b_ih", "b_hh"))
SEQ_GRADS = dict(grads=("dx", "dh0", "dw_ih", "dw_hh", "db_ih", "db_hh"),
                 wrt=("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"))

# The vanilla RNN.

SUITE.call("rnn_step_forward", "rnn", step_inputs(1), ("h_next",))
SUITE.backward("rnn_step_backward", "rnn_step_forward", "rnn", with_dout(step_inputs(1), hidden_shape), **RNN_GRADS)
SUITE.call("rnn_forward", "rnn", sequence_inputs(1), ("h",), calls=("rnn_step_forward",))
SUITE.backward("rnn_backward", "rnn_forward", "rnn", with_dout(sequence_inputs(1), hidden_shape), **SEQ_GRADS,
               calls=("rnn_step_forward", "rnn_step_backward"))


def truncated_inputs(g: torch.Generator, case: int) -> dict:
    kw = with_dout(sequence_inputs(1), hidden_shape)(g, case)
    steps = kw["x"].shape[0]
    kw["window"] = [1, 2, 3, steps, 2, 3][case % 6]  # case 3: one window, the whole sequence
    return kw


def truncated_run(m, dout, window, **kw):
    _, cache = m.rnn.rnn_forward(**kw)
    result = m.rnn.rnn_backward_truncated(dout, cache, window)
    return _named("rnn_backward_truncated", result, SEQ_GRADS["grads"])


# Truncated BPTT is not the gradient of the forward: no own-gradient diagnosis.
SUITE.composite("rnn_backward_truncated", "rnn", truncated_inputs, truncated_run, grads=SEQ_GRADS["grads"],
                calls=("rnn_forward", "rnn_step_forward", "rnn_step_backward"))


def head_inputs(many: bool):
    """h (T, N, H) hidden states, w (C, H), b (C,), labels y (N,) or (T, N) [and a mask in odd cases]."""
    def make(g: torch.Generator, case: int) -> dict:
        n, h, c = batch_size(g, case, 5), *distinct_dims(g, 2, 2, 6)
        t = randint(g, 2, 5)
        kw = {"h": randn(g, t, n, h).tanh(), "w": randn(g, c, h, scale=2.0), "b": randn(g, c)}
        kw["y"] = torch.randint(0, c, (t, n) if many else (n,), generator=g)
        if many:
            mask = torch.rand(t, n, generator=g) < 0.6
            mask[0, 0] = True  # at least one step counts
            kw["mask"] = mask if case % 2 == 1 else None
        return kw
    return large_magnitude(make, "b", kind="shift")


def head(name: str, outputs: tuple[str, ...]):
    def run(m, **kw):
        return _named(name, getattr(m.rnn, name)(**kw), outputs)

    def loss(m, **kw):
        return getattr(m.rnn, name)(**kw)[0]
    return run, loss


for name, many in (("many_to_one_loss", False), ("many_to_many_loss", True)):
    run, loss = head(name, ("loss", "dh", "dw", "db"))
    SUITE.composite(name, "rnn", head_inputs(many), run, wrt={"dh": "h", "dw": "w", "db": "b"}, forward=loss)

# The LSTM and the GRU.

LSTM_STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dw_ih", "dw_hh", "db_ih", "db_hh")


def lstm_step_both(m, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh, dout=None):
    """(2, N, H): h_next and c_next, the function whose gradient lstm_step_backward gives."""
    h, c, _ = m.lstm.lstm_step_forward(x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    return torch.stack([h, c])


def lstm_step_backward_run(m, dout, **kw):
    _, _, cache = m.lstm.lstm_step_forward(**kw)
    return _named("lstm_step_backward", m.lstm.lstm_step_backward(dout[0], dout[1], cache), LSTM_STEP_GRADS)


SUITE.call("lstm_step_forward", "lstm", step_inputs(4, cell=True), ("h_next", "c_next"))
SUITE.composite("lstm_step_backward", "lstm", with_dout(step_inputs(4, cell=True), lstm_step_dout),
                lstm_step_backward_run, forward=lstm_step_both, upstream="dout",
                wrt=dict(zip(LSTM_STEP_GRADS, ("x", "h_prev", "c_prev", "w_ih", "w_hh", "b_ih", "b_hh"))),
                calls=("lstm_step_forward",))
SUITE.call("lstm_forward", "lstm", sequence_inputs(4, cell=True), ("h",), calls=("lstm_step_forward",))
SUITE.backward("lstm_backward", "lstm_forward", "lstm", with_dout(sequence_inputs(4, cell=True), hidden_shape),
               grads=("dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh"),
               wrt=("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"),
               calls=("lstm_step_forward", "lstm_step_backward"))
SUITE.call("gru_step_forward", "gru", step_inputs(3), ("h_next",))
SUITE.backward("gru_step_backward", "gru_step_forward", "gru", with_dout(step_inputs(3), hidden_shape), **RNN_GRADS)

# Recursive networks.


def random_forest(g: torch.Generator, leaf_counts: list[int]) -> tuple[int, torch.Tensor]:
    """Binary trees with ``leaf_counts`` leaves, each split at a random point, in post-order:
    (L, children (M, 2) int64), internal node k numbered L + k."""
    total = sum(leaf_counts)
    rows: list[list[int]] = []

    def build(lo: int, hi: int) -> int:
        if hi - lo == 1:
            return lo
        split = randint(g, lo + 1, hi - 1)
        left, right = build(lo, split), build(split, hi)
        rows.append([left, right])
        return total + len(rows) - 1

    start = 0
    for count in leaf_counts:
        build(start, start + count)
        start += count
    return total, torch.tensor(rows, dtype=torch.int64).reshape(-1, 2)


def tree_inputs(g: torch.Generator, case: int) -> dict:
    """One tree of 2..7 leaves (case 0: two leaves, one internal node), a forest of 2..3 trees in later cases."""
    trees = 1 if case < 2 else randint(g, 2, 3)
    counts = [2] if case == 0 else [randint(g, 2, 7) for _ in range(trees)]
    leaves, children = random_forest(g, counts)
    d = randint(g, 2, 5)
    return {"leaves": randn(g, leaves, d), "children": children, "w": randn(g, d, 2 * d, scale=1.2 / d ** 0.5),
            "b": randn(g, d, scale=0.3)}


def nodes_shape(kw: dict) -> tuple[int, ...]:
    return kw["leaves"].shape[0] + kw["children"].shape[0], kw["leaves"].shape[1]


def node_loss_inputs(g: torch.Generator, case: int) -> dict:
    tree = tree_inputs(g, case)
    count, d = nodes_shape(tree)
    c = randint(g, 2, 5)
    c = c + 1 if c == d else c
    return {"nodes": randn(g, count, d).tanh(), "w": randn(g, c, d, scale=2.0), "b": randn(g, c),
            "labels": torch.randint(0, c, (count,), generator=g)}


def node_loss_run(m, **kw):
    return _named("tree_node_loss", m.tree.tree_node_loss(**kw), ("loss", "dnodes", "dw", "db"))


def node_loss(m, **kw):
    return m.tree.tree_node_loss(**kw)[0]


SUITE.call("tree_forward", "tree", tree_inputs, ("nodes",))
SUITE.backward("tree_backward", "tree_forward", "tree", with_dout(tree_inputs, nodes_shape),
               grads=("dleaves", "dw", "db"), wrt=("leaves", "w", "b"))
SUITE.composite("tree_node_loss", "tree", large_magnitude(node_loss_inputs, "b", kind="shift"), node_loss_run,
                wrt={"dnodes": "nodes", "dw": "w", "db": "b"}, forward=node_loss)


def _named(name: str, result, names: tuple[str, ...]) -> dict:
    """``result``, a tuple of ``len(names)`` values, as named outputs."""
    if not isinstance(result, (tuple, list)) or len(result) < len(names):
        raise OutputShapeError(f"{name} must return {len(names)} values ({', '.join(names)})")
    return dict(zip(names, result))
