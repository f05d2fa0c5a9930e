"""Compare one returned value with the reference's: type, shape, dtype, NaN/Inf, then numbers.

Tolerances come from course.yaml by the reference's dtype and the device; atol is scaled by
the reference's magnitude, so a check means the same for values near 1e-3 and near 1e3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.i18n import _
from grader.results import ErrorMap
from grader.sandbox.inside.wire import Foreign
from grader.tasks.arrays import Array, of

ERROR_MAP_SIDE = 64  # a failed check's error map keeps at most this many cells a side, so reports stay small


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclass
class Comparison:
    passed: bool
    message: str = ""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    where: list[int] | None = None
    ratio: np.ndarray | None = None  # |got - expected| / allowed, elementwise: a failed value comparison only
    problem: str = ""  # type | shape | dtype | not_finite | values: what failed (a failed comparison only)


def _shape(t: tuple) -> str:
    return "(" + ", ".join(str(s) for s in t) + ("," if len(t) == 1 else "") + ")"


def describe(value: object) -> str:
    if isinstance(value, Foreign):  # Foreign.describe() in the reader's language (the child words it in English)
        return _("a {type} ({value})", type=value.type_name, value=value.summary) if value.summary else \
            _("a {type}", type=value.type_name)
    if value is None:
        return "None"
    return _("a {type} ({value})", type=type(value).__name__, value=format(repr(value), ".60"))


def _first(mask: np.ndarray) -> list[int]:
    """The index of the first True of ``mask`` in row-major order, as a list ([] for a scalar)."""
    return _unravel(int(np.argmax(mask.reshape(-1))), mask.shape)


def compare(name: str, got: object, expected: Any, tol: Tolerance) -> Comparison:
    """Check ``got`` against ``expected`` (tensors as :class:`~grader.tasks.arrays.Array`; a torch tensor is
    taken as one); the message names the tensor and what is wrong."""
    got, expected = of(got), of(expected)
    if type(got) is not Array:
        hint = _(" (convert with torch.as_tensor / torch.from_numpy)") if isinstance(got, Foreign) \
            and got.type_name == "numpy.ndarray" else ""
        return Comparison(False, _("{name}: expected a torch.Tensor, got {got}", name=name, got=describe(got)) + hint,
                          problem="type")
    if got.shape != expected.shape:
        return Comparison(False, _("{name}: shape {got}, expected {expected}", name=name, got=_shape(got.shape),
                                   expected=_shape(expected.shape)), problem="shape")
    if got.dtype != expected.dtype:
        return Comparison(False, _("{name}: dtype {got}, expected {expected}", name=name, got=got.dtype,
                                   expected=expected.dtype), problem="dtype")
    if not expected.is_floating_point():
        wrong = np.asarray(got.values != expected.values)
        if wrong.any():
            idx = _first(wrong)
            return Comparison(False, _("{name}: {wrong} of {n} values differ, first at {at}: got {got}, expected "
                                       "{expected}", name=name, wrong=int(wrong.sum()), n=got.numel(), at=idx,
                                       got=got.values[tuple(idx)].item(), expected=expected.values[tuple(idx)].item()),
                              0.0, 0.0, idx, problem="values")
        return Comparison(True, "", 0.0, 0.0)
    g, e = got.values.astype(np.float64), expected.values.astype(np.float64)
    g_nan, e_nan = np.isnan(g), np.isnan(e)
    g_inf, e_inf = np.isinf(g), np.isinf(e)
    if not np.array_equal(g_nan, e_nan):
        bad = g_nan & ~e_nan
        if bad.any():
            idx = _first(bad)
            return Comparison(False, _("{name}: NaN at {at} ({bad} of {n} values are NaN where the reference is "
                                       "finite)", name=name, at=idx, bad=int(bad.sum()), n=g.size),
                              None, None, idx, problem="not_finite")
        return Comparison(False, _("{name}: a number where the reference is NaN", name=name), problem="values")
    if not np.array_equal(g_inf, e_inf) or not np.array_equal(np.sign(g[g_inf]), np.sign(e[e_inf])):
        idx = _first(g_inf ^ e_inf) if (g_inf ^ e_inf).any() else None
        return Comparison(False, _("{name}: infinite values where the reference has none", name=name)
                          + (_(" (first at {at})", at=idx) if idx else ""), None, None, idx, problem="not_finite")
    finite = ~(e_nan | e_inf)
    g, e = np.where(finite, g, 0.0), np.where(finite, e, 0.0)
    if e.size == 0:
        return Comparison(True, "", 0.0, 0.0)
    scale = max(1.0, float(np.abs(e).max()))
    err = np.abs(g - e)
    allowed = tol.atol * scale + tol.rtol * np.abs(e)
    rel = err / np.maximum(np.abs(e), tol.atol * scale if tol.atol > 0 else 1e-300)
    max_abs, max_rel = float(err.max()), float(rel.max())
    excess = err - allowed
    worst = int(np.argmax(excess))
    idx = _unravel(worst, tuple(e.shape))
    if float(excess.reshape(-1)[worst]) <= 0:
        return Comparison(True, "", max_abs, max_rel, idx)
    n_bad = int((excess > 0).sum())
    values = dict(name=name, wrong=n_bad, n=e.size, at=idx, got=f"{g.reshape(-1)[worst].item():.6g}",
                  expected=f"{e.reshape(-1)[worst].item():.6g}", err=f"{max_abs:.3g}",
                  allowed=f"{float(allowed.reshape(-1)[worst]):.3g}")
    message = _("{name}: {wrong} of {n} values wrong, worst at {at}: got {got}, expected {expected} (abs err {err}, "
                "allowed {allowed})", **values) if idx else \
        _("{name}: {wrong} of {n} values wrong, worst: got {got}, expected {expected} (abs err {err}, allowed "
          "{allowed})", **values)
    with np.errstate(divide="ignore", invalid="ignore"):  # nothing allowed where the reference is 0 and atol 0
        ratio = np.where(err == 0, 0.0, err / allowed)
    return Comparison(False, message, max_abs, max_rel, idx, ratio, problem="values")


def _unravel(flat: int, shape: tuple[int, ...]) -> list[int]:
    """The index of element ``flat`` of a tensor of ``shape`` (row-major), as a list ([] for a scalar)."""
    idx = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        idx.append(i)
    return idx[::-1]


def _block_max(grid: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The largest value of each of rows x cols blocks of ``grid``, blocks placed as an adaptive max pool
    places them (block i of n over a side of s spans [floor(i*s/n), ceil((i+1)*s/n)))."""
    h, w = grid.shape
    out = np.empty((rows, cols), dtype=grid.dtype)
    for i in range(rows):
        r0, r1 = i * h // rows, -(-(i + 1) * h // rows)
        band = grid[r0:r1].max(axis=0)
        for j in range(cols):
            out[i, j] = band[j * w // cols:-(-(j + 1) * w // cols)].max()
    return out


def error_map(ratio: Any) -> ErrorMap:
    """A comparison's ``ratio`` as at most ERROR_MAP_SIDE x ERROR_MAP_SIDE cells, each the largest of its block."""
    ratio = np.minimum(np.asarray(ratio, dtype=np.float64), 1e12)  # wrong where nothing was allowed: 1e12 rather
    # than inf, which JSON cannot hold
    grid = ratio.reshape(1, -1) if ratio.ndim <= 1 else ratio.reshape(-1, ratio.shape[-1])  # (rows, cols)
    if max(grid.shape) > ERROR_MAP_SIDE:
        grid = _block_max(grid, min(grid.shape[0], ERROR_MAP_SIDE), min(grid.shape[1], ERROR_MAP_SIDE))
    return ErrorMap(list(ratio.shape), [[float(f"{v:.3g}") for v in row] for row in grid.tolist()])


def close(a: Any, b: Any, tol: Tolerance) -> bool:
    """Whether two tensors agree under ``tol`` (used for diagnoses, not for points)."""
    a, b = of(a), of(b)
    return type(a) is Array and type(b) is Array and a.shape == b.shape and \
        compare("x", _float64(a), _float64(b), tol).passed


def _float64(a: Array) -> Array:
    return Array(a.values.astype(np.float64), "float64")
