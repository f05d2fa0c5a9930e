"""Input generators shared by the suites: one per kind of input, each a pure function of its generator.

Inputs come from seeds the grader controls: a suite's ``inputs(g, case)`` draws everything
from ``g``. Shapes use distinct sizes so a transposed result cannot pass, case 0 has a batch
of one, ReLU and max-pool inputs stay away from their kinks and ties, and every task that
exponentiates or takes logs has its case ``LARGE_CASE`` at magnitudes near 1e3 (:func:`large_magnitude`).
Runs inside the sandbox: it imports nothing but torch and the tree walker.
"""
from __future__ import annotations

from typing import Callable

import torch

from grader.tasks.trees import get_path, set_path

Maker = Callable[[torch.Generator, int], dict]
ShapeOf = Callable[[dict], tuple[int, ...]]

# Draws.


def randn(g: torch.Generator, *shape: int, scale: float = 1.0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=dtype) * scale


def uniform(g: torch.Generator, *shape: int, low: float = -1.0, high: float = 1.0,
            dtype=torch.float64) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=dtype) * (high - low) + low


def scalar(g: torch.Generator, low: float, high: float) -> float:
    """A float in [low, high): a learning rate, a momentum, a width."""
    return float(uniform(g, 1, low=low, high=high))


def randint(g: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=g).item())


def binary(g: torch.Generator, *shape: int) -> torch.Tensor:
    """0.0 or 1.0, each with probability 1/2."""
    return torch.randint(0, 2, shape, generator=g).to(torch.float64)


def bipolar(g: torch.Generator, *shape: int) -> torch.Tensor:
    """-1.0 or 1.0, each with probability 1/2."""
    return binary(g, *shape) * 2 - 1


def away_from(g: torch.Generator, *shape: int, kink: float = 0.0, margin: float = 1e-2,
              scale: float = 1.0, dtype=torch.float64) -> torch.Tensor:
    """Normal values with none closer than ``margin`` to ``kink`` (ReLU's 0, a step's threshold)."""
    x = torch.randn(*shape, generator=g, dtype=dtype) * scale
    sign = torch.where(x >= 0, 1.0, -1.0).to(dtype)
    return kink + sign * (x.abs() + margin)


def distinct_values(g: torch.Generator, *shape: int, gap: float, jitter: float, spread: float = 1.0) -> torch.Tensor:
    """A random arrangement of ranks ``gap * spread`` apart, each moved up by less than ``jitter``:
    neighbours differ by more than ``gap * spread - jitter``, so no max-pool window holds a tie."""
    count = torch.Size(shape).numel()
    ranks = torch.randperm(count, generator=g).to(torch.float64).reshape(shape)
    return (ranks - count / 2) * gap * spread + uniform(g, *shape, low=0.0, high=jitter)


# Sizes.


def batch_size(g: torch.Generator, case: int, high: int = 6) -> int:
    """Case 0 uses a batch of one, the rest 2..high: a batch of one catches many axis errors' absence."""
    return 1 if case == 0 else randint(g, 2, high)


def distinct_dims(g: torch.Generator, n: int, low: int = 2, high: int = 7) -> list[int]:
    """n different sizes, so a transposed result cannot have the right shape by accident."""
    dims: list[int] = []
    while len(dims) < n:
        d = randint(g, low, high + n)
        if d not in dims:
            dims.append(d)
    return dims


def out_size(size: int, kernel: int, stride: int, pad: int = 0) -> int:
    """The output size of a convolution or pooling window along one axis (rounds down, as torch)."""
    return (size + 2 * pad - kernel) // stride + 1


# Upstream gradients: ``dout`` shaped like the forward's output.


def same_as_x(kw: dict) -> tuple[int, ...]:
    return tuple(kw["x"].shape)


def affine_out_shape(kw: dict) -> tuple[int, ...]:
    return kw["x"].shape[0], kw["w"].shape[1]  # (N, M)


def conv_out_shape(kw: dict) -> tuple[int, ...]:
    """(N, F, H', W') for x (N, C, H, W), w (F, C / groups, HH, WW), ``stride`` and ``pad``."""
    n, _, h, w = kw["x"].shape
    f, _, hh, ww = kw["w"].shape
    s, p = kw["stride"], kw["pad"]
    return n, f, out_size(h, hh, s, p), out_size(w, ww, s, p)


def network_out_shape(kw: dict) -> tuple[int, ...]:
    """(N, K) for a network of ``params`` ``[[W1, b1], ...]`` whose last W is (H, K)."""
    return kw["x"].shape[0], kw["params"][-1][0].shape[1]


def with_dout(make: Maker, shape_of: ShapeOf = same_as_x, name: str = "dout") -> Maker:
    """``make``'s inputs and an upstream gradient ``name`` of shape ``shape_of(inputs)``, drawn after them."""
    def inputs(g: torch.Generator, case: int) -> dict:
        kw = make(g, case)
        kw[name] = randn(g, *shape_of(kw))
        return kw
    return inputs


# Inputs of the layers that several assignments grade.


def elementwise(kink: float | None = None, spatial: bool = False) -> Maker:
    """x for an elementwise activation, normal with std 2 and clear of ``kink`` when there is one:
    (N, D), whose case 1 is 20 times larger (saturated units), or with ``spatial`` (N, C, H, W)
    with distinct C, H, W."""
    def make(g: torch.Generator, case: int) -> dict:
        n = batch_size(g, case)
        dims = distinct_dims(g, 3, 1, 5) if spatial else [randint(g, 2, 7)]
        x = randn(g, n, *dims, scale=2.0) if kink is None else away_from(g, n, *dims, kink=kink, scale=2.0)
        if case == 1 and not spatial:
            x = x * 20.0
        return {"x": x}
    return make


def affine_inputs(g: torch.Generator, case: int) -> dict:
    """x (N, D), w (D, M), b (M,) for a fully connected layer, D != M so a transposed w cannot pass."""
    n = batch_size(g, case)
    d, m = distinct_dims(g, 2)
    return {"x": randn(g, n, d), "w": randn(g, d, m), "b": randn(g, m)}


affine_backward_inputs = with_dout(affine_inputs, affine_out_shape)


def layer_params(g: torch.Generator, sizes: list[int], w_scale: float = 1.0, b_scale: float = 1.0) -> list[list]:
    """``[[W1, b1], ...]`` for fully connected layers of ``sizes`` (W_i (sizes[i-1], sizes[i]))."""
    return [[randn(g, a, b, scale=w_scale), randn(g, b, scale=b_scale)] for a, b in zip(sizes[:-1], sizes[1:])]


def softmax_inputs(classes: int) -> Maker:
    """scores (N, K), K in 3..classes, and labels y (N,)."""
    def make(g: torch.Generator, case: int) -> dict:
        n, k = batch_size(g, case), randint(g, 3, classes)
        return {"scores": randn(g, n, k, scale=3.0), "y": torch.randint(0, k, (n,), generator=g)}
    return make


# Large magnitudes: numerical stability is part of correctness.

LARGE_CASE = 2  # a public case (course.yaml's public suite has at least three): students see it fail
LARGE = 1e3     # exp overflows float64 past 709.78: exp(1000) is inf, and inf / inf is NaN


def large_magnitude(make: Maker, path: str = "x", kind: str = "scale", magnitude: float = LARGE) -> Maker:
    """``make``'s inputs with the tensor at ``path`` (``"scores"``, ``"params.out_b"``) moved to magnitudes
    near ``magnitude`` in case ``LARGE_CASE``, where an exp or log written naively overflows.

    ``kind="scale"`` stretches row 0 (N >= 2) to span exactly [-magnitude, magnitude] and makes row 1 its
    negation: an elementwise exp(x) and exp(-x) both overflow somewhere (sigmoid, tanh, softplus must
    saturate to finite limits), a unit's net input x.w + b is large with opposite signs on the two rows,
    and a softmax that subtracts anything but each row's max (the min, the batch's max) overflows or
    underflows to 0 / 0. Later rows keep their moderate values, which still check the curve.
    ``kind="shift"`` adds ``magnitude`` to every entry: for a bias that shifts a softmax's scores alike,
    which leaves its results as they were but overflows a softmax that does not subtract the max.
    Nothing is drawn from ``g``: every other input is the one ``make`` drew.
    """
    if kind not in ("scale", "shift"):
        raise ValueError(f"large_magnitude: kind must be 'scale' or 'shift', not {kind!r}")

    def inputs(g: torch.Generator, case: int) -> dict:
        kw = make(g, case)
        if case != LARGE_CASE:
            return kw
        x = get_path(kw, path)
        if kind == "shift":
            x = x + magnitude
        else:
            if x.dim() < 2 or x.shape[0] < 2 or x[0].min() == x[0].max():
                raise ValueError(f"large_magnitude: {path} needs two rows, the first not constant")
            x = x.clone()
            low, high = x[0].min(), x[0].max()
            x[0] = (2 * x[0] - low - high) / (high - low) * magnitude  # (D...) spans [-magnitude, magnitude]
            x[1] = -x[0]  # the mirror image: opposite signs for every linear function of the row
        set_path(kw, path, x)
        return kw
    return inputs
