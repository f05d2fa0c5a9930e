"""What kind of mistake a failed check is: relations between what was returned and what was expected.

Each hypothesis is a relation tested on the numbers: ``got = -expected`` (a sign), ``got = c *
expected`` (a factor), the transpose, blocks in another order, a shift by one, a term the
same for every example left out, and so on. A relation is shown only when it holds, within the
check's own tolerance, on every failing case examined and on at least two of them: a guess
that the numbers do not confirm is never said. Hypotheses run for failed checks only, so a
correct submission pays nothing for them.

Shapes and dtypes that differ are explained where the values confirm it (a kept size-1
dimension, a missing sum over the batch, a transpose, a reshape); see :func:`shape_diagnoses`.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import torch

from grader.i18n import N_, _
from grader.judge.compare import Tolerance, close
from grader.results import Diagnosis, DiagnosisKind as K
from grader.tasks.trees import leaf_tensors

MAX_CASES = 4            # failing cases a hypothesis is tried on
FLOAT32 = Tolerance(1e-4, 1e-6)  # what a float32 computation of a float64 result still meets


@dataclass(frozen=True)
class Pair:
    """One failing case of a check: what came back, what was expected, and the case's inputs."""

    got: torch.Tensor
    expected: torch.Tensor
    inputs: dict


Relation = Callable[[Pair, Tolerance], "str | None"]  # the diagnosis text where it holds on this case


def value_diagnoses(pairs: list[Pair], tol: Tolerance) -> list[Diagnosis]:
    """The first relation, in :data:`RELATIONS`' order, that holds on every one of ``pairs`` (same shape
    and dtype, finite; at least two): one plain reading of the numbers (a sign flip is also "a factor
    of -1", and is said once, as a sign)."""
    pairs = [_as64(p) for p in pairs[:MAX_CASES]]
    if len(pairs) < 2:
        return []
    for kind, relation in RELATIONS:
        if kind == K.SCALE and pairs[0].expected.numel() < 3:
            text = _shared_factor(pairs, tol)  # a few numbers: the factor must come from one place in every case
            if text is not None:
                return [Diagnosis(kind, text)]
            continue
        texts = [relation(p, tol) for p in pairs]
        if all(t is not None for t in texts):
            return [Diagnosis(kind, str(texts[0]))]
    return []


def shape_diagnoses(pairs: list[Pair], tol: Tolerance) -> list[Diagnosis]:
    """For returned tensors of another shape than expected: what the values say it is. A relation counts
    where it holds on one failing case at least and is contradicted by none (a case with a batch of one
    cannot tell a kept dimension from a missing sum, so it decides neither)."""
    pairs = [_as64(p) for p in pairs[:MAX_CASES]
             if p.got.dtype.is_floating_point and p.expected.dtype.is_floating_point]
    for kind, relation in SHAPE_RELATIONS:
        states = [relation(p, tol) for p in pairs]
        if any(st is True for st, _ in states) and not any(st is False for st, _ in states):
            return [Diagnosis(kind, next(text for st, text in states if st is True))]
    return []


def dtype_diagnosis(got: torch.Tensor, expected: torch.Tensor) -> list[Diagnosis]:
    """Another floating dtype: say which, and whether the values are otherwise right."""
    if not (got.dtype.is_floating_point and expected.dtype.is_floating_point) or got.shape != expected.shape:
        return [Diagnosis(K.DTYPE, _("{got} where {expected} belongs", got=_dtype(got), expected=_dtype(expected)))]
    right = close(got.to(torch.float64), expected.to(torch.float64), FLOAT32)
    return [Diagnosis(K.DTYPE, _("{got} where {expected} belongs", got=_dtype(got), expected=_dtype(expected))
                      + (_(": the values are right otherwise") if right else ""))]


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _as64(p: Pair) -> Pair:
    return Pair(p.got.to(torch.float64), p.expected.to(torch.float64), p.inputs)


def _nonzero(t: torch.Tensor, tol: Tolerance) -> bool:
    return bool(t.numel()) and float(t.abs().max()) > tol.atol * 10


def _sign(p: Pair, tol: Tolerance) -> str | None:
    return _("a flipped sign: got = -expected") if _nonzero(p.expected, tol) and close(p.got, -p.expected, tol) \
        else None


def _constant(p: Pair, tol: Tolerance) -> float | None:
    """c where got = c x expected (c not 0, 1 or -1), else None."""
    e, g = p.expected, p.got
    norm = float((e * e).sum())
    if norm == 0 or not _nonzero(e, tol):
        return None
    c = float((g * e).sum()) / norm
    if abs(c - 1) < 1e-6 or abs(c + 1) < 1e-6 or abs(c) < 1e-9 or not close(g, c * e, tol):
        return None
    return c


def _factor(p: Pair, tol: Tolerance) -> str | None:
    c = _constant(p, tol)
    if c is None:
        return None
    named = next(iter(_named_factors(c, p.inputs).values()), "")
    return _("a constant factor: got = {c} x expected", c=format(c, ".4g")) + named


def _shared_factor(pairs: list[Pair], tol: Tolerance) -> str | None:
    """For a result of one or two numbers, any wrong one of which is some multiple of the right one: a
    factor that comes from the same place in every case (2, or the size of one axis of one input), said
    with the first case's numbers; None where there is none."""
    found = []
    for p in pairs:
        c = _constant(p, tol)
        found.append((c, _named_factors(c, p.inputs) if c is not None else {}))
    common = [source for source in found[0][1] if all(source in named for _, named in found[1:])]
    if not common:
        return None
    c, named = found[0]
    return _("a constant factor: got = {c} x expected", c=format(c, ".4g")) + named[common[0]]


def _named_factors(c: float, inputs: dict) -> dict[str, str]:
    """The likely sources of a factor, the likeliest first: 2, the size of an axis of an input (a batch, a
    length, a width) or its square root; ``{source: text}``, the source the same whatever its value in one case
    (``1/x.shape[0]``), the text with the numbers (`` (1/4, the size x.shape[0])``)."""
    candidates = [("2", 2.0, "2")]
    for path, t in leaf_tensors(inputs):
        for axis, size in enumerate(t.shape):
            if size > 1:
                where = f"{path}.shape[{axis}]"
                candidates += [(where, float(size), _("{size}, the size {where}", size=size, where=where)),
                               (f"sqrt {where}", math.sqrt(size),
                                _("sqrt({size}), {size} the size {where}", size=size, where=where))]
    out: dict[str, str] = {}
    for source, value, long in candidates:
        if math.isclose(c, value, rel_tol=1e-6):
            out.setdefault(source, _(" ({factor})", factor=long))
        elif math.isclose(c, 1 / value, rel_tol=1e-6):
            out.setdefault("1/" + source, _(" (1/{factor})", factor=long))
    return out


def _transpose(p: Pair, tol: Tolerance) -> str | None:
    e, g = p.expected, p.got
    for i, j in itertools.combinations(range(e.dim()), 2):
        if e.shape[i] == e.shape[j] > 1:
            swapped = e.transpose(i, j)
            if not close(swapped, e, tol) and close(g, swapped, tol):
                return _("the transpose of what is expected") if e.dim() == 2 else \
                    _("axes {i} and {j} swapped", i=i, j=j)
    return None


def _reversed(p: Pair, tol: Tolerance) -> str | None:
    e, g = p.expected, p.got
    for axis in range(e.dim()):
        if e.shape[axis] > 1:
            flipped = e.flip(axis)
            if not close(flipped, e, tol) and close(g, flipped, tol):
                return _("in reverse order along axis {axis}", axis=axis)
    return None


def _blocks(p: Pair, tol: Tolerance) -> str | None:
    """Equal blocks of one axis in another order (gates, heads, halves), each block itself right."""
    e, g = p.expected, p.got
    for axis in range(e.dim()):
        n = e.shape[axis]
        for parts in (2, 3, 4, n):
            if parts < 2 or n % parts or n // parts < 1 or (parts == n and n > 8):
                continue
            eb, gb = e.chunk(parts, axis), g.chunk(parts, axis)
            order = []
            for block in gb:
                match = [k for k, ref in enumerate(eb) if close(block, ref, tol)]
                if len(match) != 1:
                    break
                order.append(match[0])
            else:
                if sorted(order) == list(range(parts)) and order != list(range(parts)):
                    return _("the slices along axis {axis} in another order ({order} of the expected)", axis=axis,
                             order=order) if parts == n else \
                        _("the {parts} blocks along axis {axis} in another order ({order} of the expected)",
                          parts=parts, axis=axis, order=order)
    return None


def _axes(t: torch.Tensor, at_least: int = 2):
    """Each axis of ``t`` with at least ``at_least`` entries, and its length."""
    return [(axis, n) for axis, n in enumerate(t.shape) if n >= at_least]


def _shifted(p: Pair, tol: Tolerance) -> str | None:
    e, g = p.expected, p.got
    for axis, n in _axes(e, 3):
        for step, words in ((1, N_("shifted by one along axis {axis} (one step later than expected)")),
                            (-1, N_("shifted by one along axis {axis} (one step earlier than expected)"))):
            a = g.narrow(axis, step if step > 0 else 0, n - 1)
            b = e.narrow(axis, 0 if step > 0 else 1, n - 1)
            if close(a, b, tol):
                return _(words, axis=axis)
    return None


def _one_end_wrong(p: Pair, tol: Tolerance) -> str | None:
    """Right everywhere but the first or the last slice of one axis: a loop one step short."""
    e, g = p.expected, p.got
    for axis, n in _axes(e, 3):
        for end, rest_start, words in ((n - 1, 0, N_("right but for the last slice along axis {axis}")),
                                       (0, 1, N_("right but for the first slice along axis {axis}"))):
            rest = close(g.narrow(axis, rest_start, n - 1), e.narrow(axis, rest_start, n - 1), tol)
            if rest and not close(g.narrow(axis, end, 1), e.narrow(axis, end, 1), tol):
                zero = not _nonzero(g.narrow(axis, end, 1), tol)
                return _(words, axis=axis) + (_(", left at zero") if zero else "")
    return None


def _only_last_right(p: Pair, tol: Tolerance) -> str | None:
    """Right only at the last step of an axis: what flows back from later steps is missing."""
    e, g = p.expected, p.got
    for axis, n in _axes(e, 3):
        last_right = close(g.narrow(axis, n - 1, 1), e.narrow(axis, n - 1, 1), tol)
        if last_right and all(not close(g.narrow(axis, k, 1), e.narrow(axis, k, 1), tol) for k in range(n - 1)):
            return _("right only at the last step along axis {axis}: what flows back from later steps is missing",
                     axis=axis)
    return None


def _missing_input_term(p: Pair, tol: Tolerance) -> str | None:
    """got = expected - c * an input (a residual path, a weight-decay term): a term left out."""
    e, g = p.expected, p.got
    rest = e - g
    for path, t in leaf_tensors(p.inputs):
        if tuple(t.shape) != tuple(e.shape) or not t.dtype.is_floating_point:
            continue
        t = t.to(torch.float64)
        norm = float((t * t).sum())
        if norm == 0:
            continue
        c = float((rest * t).sum()) / norm
        if abs(c) > 1e-9 and close(g + c * t, e, tol):
            factor = _scalar_named(abs(c), p.inputs)
            what = _shown(path) if math.isclose(abs(c), 1, rel_tol=1e-6) else f"{factor} x {_shown(path)}"
            return _("a term is missing: got {sign} {term} = expected", sign="+" if c > 0 else "-", term=what)
    return None


def _shown(path: str) -> str:
    """A leaf's path as Python indexes it: ``grads.0.1`` -> ``grads[0][1]``."""
    head, *rest = path.split(".")
    return head + "".join(f"[{k}]" if k.isdigit() else f".{k}" for k in rest)


def _scalar_named(value: float, inputs: dict) -> str:
    """``value`` by the name of the input number it equals (a learning rate, a decay), else the number."""
    for name, v in inputs.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isclose(value, abs(v), rel_tol=1e-9):
            return name
    return f"{value:.4g}"


def _missing_broadcast_term(p: Pair, tol: Tolerance) -> str | None:
    """expected - got is the same for every example (row): a bias or a mean's path left out."""
    e, g = p.expected, p.got
    if e.dim() < 2 or e.shape[0] < 2:
        return None
    rest = e - g
    if not _nonzero(rest, tol) or not close(rest, rest[:1].expand_as(rest), tol):
        return None
    return _("a term that is the same for every example is missing (a bias, or the path through a mean)")


def _invariants(t: torch.Tensor, tol: Tolerance) -> dict[tuple[str, int], bool]:
    """For each axis: whether sums along it are one constant, and whether means along it are zero."""
    out = {}
    scale = max(1.0, float(t.abs().max())) if t.numel() else 1.0
    for axis in range(t.dim()):
        if t.shape[axis] < 2:
            continue
        sums = t.sum(axis)
        out[("sum", axis)] = bool(sums.numel()) and float((sums - sums.reshape(-1)[0]).abs().max()) <= \
            1e-6 * scale * t.shape[axis] and abs(float(sums.reshape(-1)[0])) > 1e-9
        out[("mean", axis)] = float(t.mean(axis).abs().max()) <= 1e-6 * scale
    return out


def _wrong_axis(p: Pair, tol: Tolerance) -> str | None:
    """Normalised along another axis: the sums (or means) that are constant (or zero) along one axis in
    the expected values are so along another in what came back."""
    e_inv, g_inv = _invariants(p.expected, tol), _invariants(p.got, tol)
    for what, words in (("sum", N_("normalised along axis {got} instead of axis {right} (each sums to a constant "
                                   "along the wrong axis)")),
                        ("mean", N_("normalised along axis {got} instead of axis {right} (each has zero mean along "
                                    "the wrong axis)"))):
        right = [a for (w, a), held in e_inv.items() if w == what and held]
        got = [a for (w, a), held in g_inv.items() if w == what and held]
        if right and got and not set(right) & set(got):
            return _(words, got=got[0], right=right[0])
    return None


def _precision(p: Pair, tol: Tolerance) -> str | None:
    if p.got.dtype != torch.float64 or tol.rtol >= FLOAT32.rtol:
        return None
    return _("right to float32 precision only: part of it was computed in float32") \
        if close(p.got, p.expected, FLOAT32) else None


# Tried in order; the first that holds is the answer (one plain reading rather than two of the same numbers).
RELATIONS: list[tuple[K, Relation]] = [
    (K.PRECISION, _precision),
    (K.SIGN, _sign),
    (K.TRANSPOSE, _transpose),
    (K.ORDER, _reversed),
    (K.ORDER, _blocks),
    (K.OFF_BY_ONE, _shifted),
    (K.OFF_BY_ONE, _one_end_wrong),
    (K.MISSING_TERM, _only_last_right),
    (K.SCALE, _factor),
    (K.MISSING_TERM, _missing_input_term),
    (K.MISSING_TERM, _missing_broadcast_term),
    (K.AXIS, _wrong_axis),
]


def _batch_of_one(inputs: dict) -> bool:
    return any(t.dim() >= 1 and t.shape[0] == 1 for _, t in leaf_tensors(inputs))


ShapeRelation = Callable[[Pair, Tolerance], "tuple[bool | None, str]"]  # holds, does not, or cannot tell


def _keepdim(p: Pair, tol: Tolerance) -> tuple[bool | None, str]:
    g, e = p.got, p.expected
    if not (g.numel() == e.numel() and g.dim() > e.dim() and
            [s for s in g.shape if s != 1] == [s for s in e.shape if s != 1] and close(g.reshape(e.shape), e, tol)):
        return False, ""
    if g.shape[0] == 1 and _batch_of_one(p.inputs):
        return None, ""  # a batch of one: a missing sum would look the same
    return True, _("the right values with an extra dimension of size 1 (keepdim, or a missing squeeze)")


def _missing_sum(p: Pair, tol: Tolerance) -> tuple[bool | None, str]:
    g, e = p.got, p.expected
    if not (g.dim() == e.dim() + 1 and tuple(g.shape[1:]) == tuple(e.shape) and close(g.sum(0), e, tol)):
        return False, ""
    if g.shape[0] == 1:
        return (None, "") if _batch_of_one(p.inputs) else (False, "")
    return True, _("one value per example: their sum over the batch is what is expected")


def _transposed_shape(p: Pair, tol: Tolerance) -> tuple[bool | None, str]:
    g, e = p.got, p.expected
    if g.dim() == e.dim() >= 2 and tuple(g.shape) != tuple(e.shape):
        for perm in itertools.permutations(range(g.dim())):
            if tuple(g.shape[i] for i in perm) == tuple(e.shape) and close(g.permute(*perm), e, tol):
                return True, _("the transpose of what is expected") if g.dim() == 2 else \
                    _("the axes in another order ({order})", order=list(perm))
    return False, ""


def _reshaped(p: Pair, tol: Tolerance) -> tuple[bool | None, str]:
    g, e = p.got, p.expected
    if g.numel() == e.numel() and tuple(g.shape) != tuple(e.shape) and close(g.reshape(e.shape), e, tol):
        return True, _("the right values in another shape (reshape it)")
    return False, ""


SHAPE_RELATIONS: list[tuple[K, ShapeRelation]] = [(K.KEEPDIM, _keepdim), (K.MISSING_SUM, _missing_sum), (K.TRANSPOSE, _transposed_shape),
                   (K.SHAPE, _reshaped)]
