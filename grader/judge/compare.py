"""Compare one returned value with the reference's: type, shape, dtype, NaN/Inf, then numbers.

Tolerances come from course.yaml by the reference's dtype and the device; atol is scaled by
the reference's magnitude, so a check means the same for values near 1e-3 and near 1e3.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from grader.i18n import _
from grader.results import ErrorMap
from grader.sandbox.inside.wire import Foreign
from grader.tasks.dtypes import dtype_name

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
    ratio: torch.Tensor | None = None  # |got - expected| / allowed, elementwise: a failed value comparison only
    problem: str = ""  # type | shape | dtype | not_finite | values: what failed (a failed comparison only)


def _shape(t: torch.Size | tuple) -> str:
    return "(" + ", ".join(str(s) for s in t) + ("," if len(t) == 1 else "") + ")"


def describe(value: object) -> str:
    if isinstance(value, Foreign):  # Foreign.describe() in the reader's language (the child words it in English)
        return _("a {type} ({value})", type=value.type_name, value=value.summary) if value.summary else \
            _("a {type}", type=value.type_name)
    if value is None:
        return "None"
    return _("a {type} ({value})", type=type(value).__name__, value=format(repr(value), ".60"))


def compare(name: str, got: object, expected: torch.Tensor, tol: Tolerance) -> Comparison:
    """Check ``got`` against ``expected``; the message names the tensor and what is wrong."""
    if type(got) is not torch.Tensor:
        hint = _(" (convert with torch.as_tensor / torch.from_numpy)") if isinstance(got, Foreign) \
            and got.type_name == "numpy.ndarray" else ""
        return Comparison(False, _("{name}: expected a torch.Tensor, got {got}", name=name, got=describe(got)) + hint,
                          problem="type")
    if got.shape != expected.shape:
        return Comparison(False, _("{name}: shape {got}, expected {expected}", name=name, got=_shape(got.shape),
                                   expected=_shape(expected.shape)), problem="shape")
    if got.dtype != expected.dtype:
        return Comparison(False, _("{name}: dtype {got}, expected {expected}", name=name, got=dtype_name(got.dtype),
                                   expected=dtype_name(expected.dtype)), problem="dtype")
    if not expected.is_floating_point():
        wrong = (got != expected)
        if wrong.any():
            idx = [int(i) for i in wrong.nonzero()[0]]
            return Comparison(False, _("{name}: {wrong} of {n} values differ, first at {at}: got {got}, expected "
                                       "{expected}", name=name, wrong=int(wrong.sum()), n=got.numel(), at=idx,
                                       got=got[tuple(idx)].item(), expected=expected[tuple(idx)].item()),
                              0.0, 0.0, idx, problem="values")
        return Comparison(True, "", 0.0, 0.0)
    g, e = got.to(torch.float64), expected.to(torch.float64)
    g_nan, e_nan = torch.isnan(g), torch.isnan(e)
    g_inf, e_inf = torch.isinf(g), torch.isinf(e)
    if not torch.equal(g_nan, e_nan):
        bad = g_nan & ~e_nan
        if bad.any():
            idx = [int(i) for i in bad.nonzero()[0]]
            return Comparison(False, _("{name}: NaN at {at} ({bad} of {n} values are NaN where the reference is "
                                       "finite)", name=name, at=idx, bad=int(bad.sum()), n=g.numel()),
                              None, None, idx, problem="not_finite")
        return Comparison(False, _("{name}: a number where the reference is NaN", name=name), problem="values")
    if not torch.equal(g_inf, e_inf) or not torch.equal(torch.sign(g[g_inf]), torch.sign(e[e_inf])):
        idx = [int(i) for i in (g_inf ^ e_inf).nonzero()[0]] if (g_inf ^ e_inf).any() else None
        return Comparison(False, _("{name}: infinite values where the reference has none", name=name)
                          + (_(" (first at {at})", at=idx) if idx else ""), None, None, idx, problem="not_finite")
    finite = ~(e_nan | e_inf)
    g, e = torch.where(finite, g, 0.0), torch.where(finite, e, 0.0)
    if e.numel() == 0:
        return Comparison(True, "", 0.0, 0.0)
    scale = max(1.0, float(e.abs().max()))
    err = (g - e).abs()
    allowed = tol.atol * scale + tol.rtol * e.abs()
    rel = err / e.abs().clamp_min(tol.atol * scale if tol.atol > 0 else 1e-300)
    max_abs, max_rel = float(err.max()), float(rel.max())
    excess = err - allowed
    worst = int(torch.argmax(excess))
    idx = _unravel(worst, tuple(e.shape))
    if float(excess.reshape(-1)[worst]) <= 0:
        return Comparison(True, "", max_abs, max_rel, idx)
    n_bad = int((excess > 0).sum())
    values = dict(name=name, wrong=n_bad, n=e.numel(), at=idx, got=f"{g.reshape(-1)[worst].item():.6g}",
                  expected=f"{e.reshape(-1)[worst].item():.6g}", err=f"{max_abs:.3g}",
                  allowed=f"{float(allowed.reshape(-1)[worst]):.3g}")
    message = _("{name}: {wrong} of {n} values wrong, worst at {at}: got {got}, expected {expected} (abs err {err}, "
                "allowed {allowed})", **values) if idx else \
        _("{name}: {wrong} of {n} values wrong, worst: got {got}, expected {expected} (abs err {err}, allowed "
          "{allowed})", **values)
    return Comparison(False, message, max_abs, max_rel, idx, torch.where(err == 0, 0.0, err / allowed),
                      problem="values")


def _unravel(flat: int, shape: tuple[int, ...]) -> list[int]:
    """The index of element ``flat`` of a tensor of ``shape`` (row-major), as a list ([] for a scalar)."""
    idx = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        idx.append(i)
    return idx[::-1]


def error_map(ratio: torch.Tensor) -> ErrorMap:
    """A comparison's ``ratio`` as at most ERROR_MAP_SIDE x ERROR_MAP_SIDE cells, each the largest of its block."""
    ratio = ratio.clamp(max=1e12)  # wrong where nothing was allowed: 1e12 rather than inf, which JSON cannot hold
    grid = ratio.reshape(1, -1) if ratio.dim() <= 1 else ratio.reshape(-1, ratio.shape[-1])  # (rows, cols)
    if max(grid.shape) > ERROR_MAP_SIDE:
        side = (min(grid.shape[0], ERROR_MAP_SIDE), min(grid.shape[1], ERROR_MAP_SIDE))
        grid = torch.nn.functional.adaptive_max_pool2d(grid[None, None], side)[0, 0]  # the worst of each block
    return ErrorMap(list(ratio.shape), [[float(f"{v:.3g}") for v in row] for row in grid.tolist()])


def close(a: torch.Tensor, b: torch.Tensor, tol: Tolerance) -> bool:
    """Whether two tensors agree under ``tol`` (used for diagnoses, not for points)."""
    return type(a) is torch.Tensor and type(b) is torch.Tensor and a.shape == b.shape and \
        compare("x", a.to(torch.float64), b.to(torch.float64), tol).passed
