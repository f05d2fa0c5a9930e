"""Classic mistakes that no one-token edit makes, as one more mutation operator (``misconception``).

One activation's derivative for another's (the sigmoid's y(1 - y), tanh's 1 - y^2, 1 - y) or left out; a
range counted from one, or started one step late; an axis held in a variable written as a fixed number;
two indices of one statement swapped. Each edit carries its kind, like the one-token edits of
:mod:`grader.quality.edits`. The near-miss search tries them before those; the audit only on request
(``grader audit --operator misconception``).
"""
from __future__ import annotations

import ast
import copy
from typing import Iterator

from grader.quality.edits import Context, Edit, call_name, const, int_node, shift, src
from grader.results import DiagnosisKind as K

INDEX_CALLS = {"index_add", "index_select", "index_copy", "index_fill", "index_put", "gather", "scatter",
               "scatter_add", "scatter_reduce"}  # their second positional argument is an index


def misconception(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    """Classic mistakes that no one-token edit makes: one activation's derivative for another's (the
    sigmoid's y(1 - y), tanh's 1 - y^2, 1 - y) or left out; a range counted from one, or started one step
    late; an axis held in a variable written as a fixed number; two indices of one statement swapped."""
    yield from _derivatives(node)
    yield from _counted_from_one(node)
    yield from _axis_fixed(node)
    yield from _indices_swapped(node, ctx)


def _factors(node: ast.AST) -> list[ast.AST]:
    """The factors of a product ``a * b * c`` (however it is bracketed)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _product(factors: list[ast.AST]) -> ast.AST:
    out = copy.deepcopy(factors[0])
    for f in factors[1:]:
        out = ast.BinOp(out, ast.Mult(), copy.deepcopy(f))
    return out


def _one_minus(node: ast.AST) -> ast.AST | None:
    """``e`` where ``node`` is ``1 - e``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and isinstance(node.left, ast.Constant) \
            and node.left.value == 1:
        return node.right
    return None


def _squared(node: ast.AST) -> ast.AST | None:
    """``e`` where ``node`` is ``e * e`` or ``e ** 2``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and src(node.left) == src(node.right):
        return node.left
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) \
            and node.right.value == 2:
        return node.left
    return None


def _one(e: ast.AST) -> ast.AST:
    return ast.BinOp(const(1.0), ast.Sub(), copy.deepcopy(e))


def _derivatives(node: ast.AST) -> Iterator[Edit]:
    e = _one_minus(node)
    if e is not None and (y := _squared(e)) is not None:  # tanh's 1 - y^2
        for new, what in ((ast.BinOp(copy.deepcopy(y), ast.Mult(), _one(y)), "the sigmoid's y(1 - y)"),
                          (_one(y), "1 - y"), (const(1.0), "nothing")):
            yield f"derivative {src(node)} -> {what}", new, K.ACTIVATION
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
        return
    factors = _factors(node)
    for j, f in enumerate(factors):  # the sigmoid's y * (1 - y), its two factors anywhere in one product
        y = _one_minus(f)
        i = next((i for i, g in enumerate(factors) if i != j and y is not None and src(g) == src(y)), None)
        if i is None:
            continue
        rest = [g for k, g in enumerate(factors) if k not in (i, j)]
        tanh = ast.BinOp(const(1.0), ast.Sub(), ast.BinOp(copy.deepcopy(y), ast.Mult(), copy.deepcopy(y)))
        for instead, what in ((tanh, "tanh's 1 - y^2"), (_one(y), "1 - y"), (None, "nothing")):
            kept = rest + ([instead] if instead is not None else [])
            if kept:
                yield f"derivative {src(ast.BinOp(y, ast.Mult(), f))} -> {what}", _product(kept), K.ACTIVATION
        return


def _counted_from_one(node: ast.AST) -> Iterator[Edit]:
    if not (isinstance(node, ast.Call) and call_name(node) in ("range", "arange")) or \
            any(isinstance(a, ast.Starred) for a in node.args):
        return
    if len(node.args) == 1:
        n = node.args[0]
        variants = (([const(1), shift(n, 1)], "counted from one"), ([const(1), copy.deepcopy(n)], "first left out"))
    elif len(node.args) == 2:
        variants = (([shift(node.args[0], 1), shift(node.args[1], 1)], "counted from one more"),)
    else:
        return
    for args, what in variants:
        new = copy.deepcopy(node)
        new.args = args
        yield f"{src(node)} -> {src(new)} ({what})", new, K.OFF_BY_ONE


def _axis_fixed(node: ast.AST) -> Iterator[Edit]:
    if not isinstance(node, ast.Call):
        return
    for i, kw in enumerate(node.keywords):
        if kw.arg in ("dim", "axis") and isinstance(kw.value, (ast.Name, ast.Attribute)):
            for fixed in (-1, 0):
                new = copy.deepcopy(node)
                new.keywords[i].value = int_node(fixed)
                yield f"{kw.arg}={src(kw.value)} -> {fixed}", new, K.AXIS


def _indices_swapped(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    """Two names used as indices in one statement (``x[row]``, ``index_add(0, col, ...)``) swapped everywhere
    in it: the edges or axes taken the wrong way round."""
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
        return
    used: list[str] = []
    for n in ast.walk(node):
        places = [n.slice] if isinstance(n, ast.Subscript) else \
            [n.args[1]] if isinstance(n, ast.Call) and call_name(n) in INDEX_CALLS and len(n.args) > 1 else []
        for place in places:
            used += [m.id for m in ast.walk(place) if isinstance(m, ast.Name) and m.id in ctx.names and m.id not in used]
    for a_i, a in enumerate(used):
        for b in used[a_i + 1:]:
            new = copy.deepcopy(node)
            for m in ast.walk(new):
                if isinstance(m, ast.Name) and m.id in (a, b) and isinstance(m.ctx, ast.Load):
                    m.id = b if m.id == a else a
            yield f"indices {a} and {b} swapped", new, K.TRANSPOSE
