"""Mutants of a reference solution: small AST edits of the code between the solution markers.

Each mutant changes one node of one solution block and is the whole reference file with
that one edit, so it can be imported in place of the original. The operators are the
mistakes students make: a swapped operator, a flipped sign, a dropped or added transpose,
the wrong reduction axis or reduction, a dropped keepdim, a perturbed constant, a deleted term, an
off-by-one slice or range, swapped arguments, a deleted statement, an input updated in place.

``sample`` picks a deterministic part of them (``grader audit --sample``): the same mutants on
every machine and every run, spread over every task and every operator.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from grader.authoring.release import solution_blocks
from grader.results import DiagnosisKind as K

OPERATORS = ("arith", "compare", "sign", "transpose", "axis", "reduction", "keepdim", "constant", "term",
             "off-by-one", "swap", "delete", "in-place")
EXTRA_OPERATORS = ("variable", "misconception")  # opt-in (``grader audit --operator variable``): many more mutants

REDUCTIONS = {"sum", "mean", "amax", "amin", "max", "min", "prod", "logsumexp", "softmax",
              "log_softmax", "argmax", "argmin", "var", "std", "norm", "cumsum", "cumprod",
              "all", "any", "count_nonzero", "median", "nansum", "nanmean", "flip", "roll",
              "cat", "stack", "unsqueeze", "squeeze", "diff", "topk", "sort", "argsort"}
TRANSPOSES = {"transpose", "t", "permute", "swapaxes", "swapdims", "movedim"}
MATMULS = {"matmul", "mm", "bmm", "mv", "outer", "ger"}
IN_PLACE_CALLS = {"clamp", "clip", "exp", "tanh", "sigmoid", "abs", "neg", "relu", "sqrt", "log",
                  "log1p", "pow", "mul", "add", "sub", "div", "fill", "zero", "square",
                  "masked_fill", "index_fill", "sign", "floor", "ceil", "round", "reciprocal"}
SWAP_REDUCTION = {"sum": "mean", "mean": "sum", "amax": "amin", "amin": "amax", "max": "min", "min": "max",
                  "argmax": "argmin", "argmin": "argmax", "logsumexp": "sum"}
SWAP_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult}
SWAP_COMPARE = {ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt, ast.LtE), ast.Lt: (ast.LtE, ast.Gt),
                ast.LtE: (ast.Lt, ast.GtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,)}
IN_PLACE_BINOP = {ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_"}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
          ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.Gt: ">", ast.GtE: ">=",
          ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}
MIN_PER_TASK = 3  # a sample keeps at least this many mutants of every task (all of them where it has fewer)


@dataclass(frozen=True)
class Mutant:
    """One edit of one solution block, as the whole edited file."""

    task: str         # the task whose block was edited: ``a02.affine_backward``
    file: str         # the file, relative to the assignment folder: ``layers.py``
    module: str       # its module within the package: ``layers``
    operator: str     # one of OPERATORS
    line: int         # the edited statement's first line in the reference file
    description: str  # what changed, e.g. ``.T dropped`` or ``dim 1 -> 0``
    source: str       # the whole mutated file
    diff: str         # the edited lines, before (-) and after (+)
    kind: K | None = None  # the kind of mistake the edit is, where one kind fits it (a factor left out
                           # of a product may be a mask, an activation's derivative or a scale: None)


@dataclass
class _Context:
    inputs: set[str]  # names bound outside the block: parameters and what came from them
    names: set[str]   # variables of the block: the inputs and what the block assigns


Rule = Callable[[ast.AST, _Context], Iterator[tuple[str, ast.AST, K | None]]]  # (description, new node, kind)


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


def _const(v: object) -> ast.Constant:
    return ast.Constant(v)


def _int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _int_node(v: int) -> ast.AST:
    return ast.UnaryOp(ast.USub(), _const(-v)) if v < 0 else _const(v)


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _is_method(node: ast.Call) -> bool:
    """``x.sum(...)`` rather than ``torch.sum(x, ...)``."""
    f = node.func
    return isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id in ("torch", "F", "np"))


def arith(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAP_ARITH:
        new = copy.deepcopy(node)
        new.op = SWAP_ARITH[type(node.op)]()
        yield f"{SYMBOL[type(node.op)]} -> {SYMBOL[type(new.op)]}", new, \
            K.SIGN if type(node.op) in (ast.Add, ast.Sub) else None


def compare(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_COMPARE:
        for op in SWAP_COMPARE[type(node.ops[0])]:
            new = copy.deepcopy(node)
            new.ops = [op()]
            yield f"{SYMBOL[type(node.ops[0])]} -> {SYMBOL[op]}", new, K.MASK


def sign(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield "unary minus dropped", copy.deepcopy(node.operand), K.SIGN
    if isinstance(node, (ast.Assign, ast.Return)) and node.value is not None \
            and not isinstance(node.value, (ast.Tuple, ast.List, ast.ListComp, ast.Dict, ast.Constant)):
        new = copy.deepcopy(node)
        new.value = ast.UnaryOp(ast.USub(), new.value)
        yield "sign flipped", new, K.SIGN


def transpose(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "H", "mH") and isinstance(node.ctx, ast.Load):
        yield f".{node.attr} dropped", copy.deepcopy(node.value), K.TRANSPOSE
    if isinstance(node, ast.Call) and _call_name(node) in TRANSPOSES:
        if _is_method(node):
            yield f".{_call_name(node)}(...) dropped", copy.deepcopy(node.func.value), K.TRANSPOSE
        elif node.args:
            yield f"{_call_name(node)}(...) dropped", copy.deepcopy(node.args[0]), K.TRANSPOSE
    operands: list[tuple[str, ast.AST, str]] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        operands = [("left", node.left, "left"), ("right", node.right, "right")]
    elif isinstance(node, ast.Call) and _call_name(node) in MATMULS and len(node.args) >= 2 and not _is_method(node):
        operands = [("first", node.args[0], "args.0"), ("second", node.args[1], "args.1")]
    for which, operand, where in operands:
        if isinstance(operand, ast.Attribute) and operand.attr in ("T", "mT"):
            continue  # dropping it is the other rule
        new = copy.deepcopy(node)
        field, _, index = where.partition(".")
        value = ast.Attribute(copy.deepcopy(operand), "mT", ast.Load())
        if index:
            getattr(new, field)[int(index)] = value
        else:
            setattr(new, field, value)
        yield f"transpose added to the {which} operand", new, K.TRANSPOSE


def axis(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if not isinstance(node, ast.Call):
        return
    name = _call_name(node)
    for i, kw in enumerate(node.keywords):
        if kw.arg in ("dim", "axis", "dims", "start_dim", "end_dim"):
            yield from _axis_variants(node, ("keywords", i), kw.value, name in REDUCTIONS)
    if name in REDUCTIONS and _is_method(node) and node.args:
        yield from _axis_variants(node, ("args", 0), node.args[0], False)
    elif name in REDUCTIONS and not _is_method(node) and len(node.args) >= 2:
        yield from _axis_variants(node, ("args", 1), node.args[1], False)


def _axis_variants(call: ast.Call, where: tuple[str, int], value: ast.AST, droppable: bool):
    field, index = where

    def with_value(v: ast.AST | None) -> ast.Call:
        new = copy.deepcopy(call)
        if v is None:
            del getattr(new, field)[index]
        elif field == "keywords":
            new.keywords[index].value = v
        else:
            new.args[index] = v
        return new

    k = _int_value(value)
    if k is not None:
        others = {0: (1,), 1: (0, 2), -1: (-2, 0), -2: (-1,)}.get(k, (k - 1, k + 1))
        for o in others:
            yield f"dim {k} -> {o}", with_value(_int_node(o)), K.AXIS
    elif isinstance(value, ast.Tuple) and len(value.elts) > 1:
        for j in range(len(value.elts)):
            t = copy.deepcopy(value)
            del t.elts[j]
            yield f"dim {_src(value)} -> {_src(t)}", with_value(t), K.AXIS
    if droppable and field == "keywords":
        yield f"dim={_src(value)} dropped (reduce over everything)", with_value(None), K.AXIS


def reduction(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    """sum for mean (a gradient not divided by the batch), max for min, and so on."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SWAP_REDUCTION:
        new = copy.deepcopy(node)
        new.func.attr = SWAP_REDUCTION[node.func.attr]
        yield f"{node.func.attr} -> {new.func.attr}", new, \
            K.SCALE if {node.func.attr, new.func.attr} == {"sum", "mean"} else None


def keepdim(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg in ("keepdim", "keepdims") and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield f"{kw.arg}=True dropped", new, K.KEEPDIM


def constant(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
        return
    v = node.value
    variants: list[float] = []
    if v == 0:
        variants.append(type(v)(1))
    elif v == 1:
        variants += [type(v)(0), type(v)(2)]
    elif 0 < abs(v) < 1e-3:
        variants.append(type(v)(0))  # an eps removed
    else:
        variants.append(v * 2)
    for new in variants:
        yield f"constant {v!r} -> {new!r}", _const(new), None


def term(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult):
        for kept in (node.left, node.right):
            yield f"term deleted: {_src(node)} -> {_src(kept)}", copy.deepcopy(kept), _term_kind(node, kept)


def _term_kind(whole: ast.BinOp, kept: ast.AST) -> K | None:
    """A summand left out is a missing term; a factor left out is a mask where the factor is a comparison or
    a mask, else it could be anything (an activation's derivative, a scale, a gate)."""
    if isinstance(whole.op, (ast.Add, ast.Sub)):
        return K.MISSING_TERM
    gone = whole.right if kept is whole.left else whole.left
    if any(isinstance(n, ast.Compare) for n in ast.walk(gone)) or "mask" in _src(gone).lower():
        return K.MASK
    return None


def off_by_one(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Slice):
        for field in ("lower", "upper"):
            bound = getattr(node, field)
            deltas = (1, -1) if bound is not None else ((1,) if field == "lower" else (-1,))
            for d in deltas:
                new = copy.deepcopy(node)
                setattr(new, field, _shift(bound, d))
                yield f"slice {_src(node)} -> {_src(new)}", new, K.OFF_BY_ONE
    if isinstance(node, ast.Subscript) and (k := _int_value(node.slice)) is not None:
        for d in (1, -1):
            new = copy.deepcopy(node)
            new.slice = _int_node(k + d)
            yield f"index {_src(node)} -> {_src(new)}", new, K.OFF_BY_ONE
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        for i, arg in enumerate(node.args[:2]):
            for d in (1, -1):
                new = copy.deepcopy(node)
                new.args[i] = _shift(arg, d)
                yield f"{_src(node)} -> {_src(new)}", new, K.OFF_BY_ONE


def _shift(bound: ast.AST | None, d: int) -> ast.AST:
    if bound is None:
        return _int_node(d)
    k = _int_value(bound)
    if k is not None:
        return _int_node(k + d)
    return ast.BinOp(copy.deepcopy(bound), ast.Add() if d > 0 else ast.Sub(), _const(abs(d)))


def swap(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Call):
        args = node.args
        for i in range(len(args) - 1):
            if isinstance(args[i], ast.Starred) or isinstance(args[i + 1], ast.Starred):
                continue
            if _src(args[i]) == _src(args[i + 1]):
                continue
            new = copy.deepcopy(node)
            new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
            yield f"arguments {_src(args[i])} and {_src(args[i + 1])} swapped", new, \
                K.MASK if _call_name(node) == "where" else K.WRONG_INPUT  # where(c, a, b): a mask inverted
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Sub, ast.Div, ast.MatMult, ast.Pow):
        new = copy.deepcopy(node)
        new.left, new.right = new.right, new.left
        yield f"operands of {SYMBOL[type(node.op)]} swapped", new, {ast.Sub: K.SIGN, ast.MatMult: K.TRANSPOSE}.get(type(node.op))


def delete(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass):
        line = _src(node).splitlines()[0]
        yield f"statement deleted: {line}", ast.Pass(), \
            K.MASK if "mask" in line.lower() else K.MISSING_TERM if isinstance(node, ast.AugAssign) and \
            isinstance(node.op, (ast.Add, ast.Sub)) else None


def in_place(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.BinOp) and type(node.op) in IN_PLACE_BINOP and isinstance(node.left, ast.Name) \
            and node.left.id in ctx.inputs:
        method = IN_PLACE_BINOP[type(node.op)]
        new = ast.Call(ast.Attribute(ast.Name(node.left.id, ast.Load()), method, ast.Load()),
                       [copy.deepcopy(node.right)], [])
        yield f"{node.left.id} updated in place ({node.left.id}.{method})", new, K.IN_PLACE
    if isinstance(node, ast.Call) and _call_name(node) in IN_PLACE_CALLS:
        name = _call_name(node)
        if _is_method(node) and isinstance(node.func.value, ast.Name) and node.func.value.id in ctx.inputs:
            new = copy.deepcopy(node)
            new.func.attr = name + "_"
            yield f"{node.func.value.id} updated in place (.{name}_)", new, K.IN_PLACE
        elif not _is_method(node) and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in ctx.inputs:
            target = node.args[0].id
            new = ast.Call(ast.Attribute(ast.Name(target, ast.Load()), name + "_", ast.Load()),
                           copy.deepcopy(node.args[1:]), copy.deepcopy(node.keywords))
            yield f"{target} updated in place (.{name}_)", new, K.IN_PLACE


def variable(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST]]:
    """One variable read in place of another (``x`` where the cache's ``out`` belongs)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in ctx.names:
        for other in sorted(ctx.names - {node.id}):
            yield f"{node.id} -> {other}", ast.Name(other, ast.Load()), K.WRONG_INPUT


INDEX_CALLS = {"index_add", "index_select", "index_copy", "index_fill", "index_put", "gather", "scatter",
               "scatter_add", "scatter_reduce"}  # their second positional argument is an index


def misconception(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST, K | None]]:
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
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and _src(node.left) == _src(node.right):
        return node.left
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) \
            and node.right.value == 2:
        return node.left
    return None


def _one(e: ast.AST) -> ast.AST:
    return ast.BinOp(_const(1.0), ast.Sub(), copy.deepcopy(e))


def _derivatives(node: ast.AST) -> Iterator[tuple[str, ast.AST, K | None]]:
    e = _one_minus(node)
    if e is not None and (y := _squared(e)) is not None:  # tanh's 1 - y^2
        for new, what in ((ast.BinOp(copy.deepcopy(y), ast.Mult(), _one(y)), "the sigmoid's y(1 - y)"),
                          (_one(y), "1 - y"), (_const(1.0), "nothing")):
            yield f"derivative {_src(node)} -> {what}", new, K.ACTIVATION
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
        return
    factors = _factors(node)
    for j, f in enumerate(factors):  # the sigmoid's y * (1 - y), its two factors anywhere in one product
        y = _one_minus(f)
        i = next((i for i, g in enumerate(factors) if i != j and y is not None and _src(g) == _src(y)), None)
        if i is None:
            continue
        rest = [g for k, g in enumerate(factors) if k not in (i, j)]
        tanh = ast.BinOp(_const(1.0), ast.Sub(), ast.BinOp(copy.deepcopy(y), ast.Mult(), copy.deepcopy(y)))
        for instead, what in ((tanh, "tanh's 1 - y^2"), (_one(y), "1 - y"), (None, "nothing")):
            kept = rest + ([instead] if instead is not None else [])
            if kept:
                yield f"derivative {_src(ast.BinOp(y, ast.Mult(), f))} -> {what}", _product(kept), K.ACTIVATION
        return


def _counted_from_one(node: ast.AST) -> Iterator[tuple[str, ast.AST, K | None]]:
    if not (isinstance(node, ast.Call) and _call_name(node) in ("range", "arange")) or \
            any(isinstance(a, ast.Starred) for a in node.args):
        return
    if len(node.args) == 1:
        n = node.args[0]
        variants = (([_const(1), _shift(n, 1)], "counted from one"), ([_const(1), copy.deepcopy(n)], "first left out"))
    elif len(node.args) == 2:
        variants = (([_shift(node.args[0], 1), _shift(node.args[1], 1)], "counted from one more"),)
    else:
        return
    for args, what in variants:
        new = copy.deepcopy(node)
        new.args = args
        yield f"{_src(node)} -> {_src(new)} ({what})", new, K.OFF_BY_ONE


def _axis_fixed(node: ast.AST) -> Iterator[tuple[str, ast.AST, K | None]]:
    if not isinstance(node, ast.Call):
        return
    for i, kw in enumerate(node.keywords):
        if kw.arg in ("dim", "axis") and isinstance(kw.value, (ast.Name, ast.Attribute)):
            for fixed in (-1, 0):
                new = copy.deepcopy(node)
                new.keywords[i].value = _int_node(fixed)
                yield f"{kw.arg}={_src(kw.value)} -> {fixed}", new, K.AXIS


def _indices_swapped(node: ast.AST, ctx: _Context) -> Iterator[tuple[str, ast.AST, K | None]]:
    """Two names used as indices in one statement (``x[row]``, ``index_add(0, col, ...)``) swapped everywhere
    in it: the edges or axes taken the wrong way round."""
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
        return
    used: list[str] = []
    for n in ast.walk(node):
        places = [n.slice] if isinstance(n, ast.Subscript) else \
            [n.args[1]] if isinstance(n, ast.Call) and _call_name(n) in INDEX_CALLS and len(n.args) > 1 else []
        for place in places:
            used += [m.id for m in ast.walk(place) if isinstance(m, ast.Name) and m.id in ctx.names and m.id not in used]
    for a_i, a in enumerate(used):
        for b in used[a_i + 1:]:
            new = copy.deepcopy(node)
            for m in ast.walk(new):
                if isinstance(m, ast.Name) and m.id in (a, b) and isinstance(m.ctx, ast.Load):
                    m.id = b if m.id == a else a
            yield f"indices {a} and {b} swapped", new, K.TRANSPOSE


RULES: dict[str, Rule] = {"arith": arith, "compare": compare, "sign": sign, "transpose": transpose,
                          "axis": axis, "reduction": reduction, "keepdim": keepdim, "constant": constant, "term": term,
                          "off-by-one": off_by_one, "swap": swap, "delete": delete, "in-place": in_place,
                          "variable": variable, "misconception": misconception}


def _walk(node: ast.AST, path: tuple = ()) -> Iterator[tuple[tuple, ast.AST]]:
    """Every node under ``node`` with its path of (field, index) steps."""
    yield path, node
    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield from _walk(item, path + ((field, i),))
        elif isinstance(value, ast.AST):
            yield from _walk(value, path + ((field, None),))


def _unparse_with(root: ast.AST, path: tuple, new: ast.AST) -> str:
    """``root`` as code with the node at ``path`` replaced by ``new``. The node is swapped in place
    and back rather than ``root`` copied: copying every statement once per mutant was most of the
    time it took to make them."""
    if not path:
        return _src(new)
    parent = root
    for field, index in path[:-1]:
        parent = getattr(parent, field) if index is None else getattr(parent, field)[index]
    field, index = path[-1]
    old = getattr(parent, field) if index is None else getattr(parent, field)[index]
    _put(parent, field, index, new)
    try:
        return _src(root)
    finally:
        _put(parent, field, index, old)


def _put(parent: ast.AST, field: str, index: int | None, node: ast.AST) -> None:
    if index is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[index] = node


def _names_bound(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _inputs(func: ast.FunctionDef, first_line: int, block: list[ast.stmt]) -> set[str]:
    """Names that hold the caller's data: parameters, what was unpacked from them before the
    block, loop variables over them and plain aliases of them."""
    a = func.args
    params = a.posonlyargs + a.args + a.kwonlyargs
    defaults = dict(zip([x.arg for x in (a.posonlyargs + a.args)][::-1], a.defaults[::-1]))
    defaults.update({x.arg: d for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
    names = {x.arg for x in params if not _scalar_parameter(x, defaults.get(x.arg))}
    for stmt in func.body:
        if stmt.lineno < first_line:
            names |= _names_bound(stmt)
    loops = [n for s in block for n in ast.walk(s) if isinstance(n, (ast.For, ast.comprehension))]
    aliases = [n for s in block for n in ast.walk(s)
               if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name)]
    changed = True
    while changed:
        before = len(names)
        for n in loops:
            if _names_read(n.iter) & names:
                names |= _names_bound(n.target)
        for n in aliases:
            if n.value.id in names:
                names |= {t.id for t in n.targets if isinstance(t, ast.Name)}
        changed = len(names) != before
    return names


def _scalar_parameter(arg: ast.arg, default: ast.AST | None) -> bool:
    """A parameter annotated or defaulted as a Python number or string cannot be updated in place."""
    if arg.annotation is not None and _src(arg.annotation) in ("int", "float", "bool", "str"):
        return True
    return isinstance(default, ast.Constant) and type(default.value) in (int, float, bool, str)


def _block_statements(func: ast.FunctionDef, first: int, last: int) -> list[ast.stmt]:
    """The outermost statements of ``func`` whose lines lie between the markers (1-based, exclusive)."""
    found: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for s in body:
            if s.lineno > first and (s.end_lineno or s.lineno) < last:
                found.append(s)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    sub = getattr(s, field, None)
                    if isinstance(sub, list) and s.lineno < last and (s.end_lineno or 0) > first:
                        visit(sub)
    visit(func.body)
    return found


def mutants_of_file(source: str, prefix: str, file: str, module: str,
                    operators: tuple[str, ...] = OPERATORS) -> list[Mutant]:
    """Every mutant of every solution block in one file, without duplicates."""
    blocks = solution_blocks(source, prefix, file)
    if not blocks:
        return []
    tree = ast.parse(source, file)
    lines = source.splitlines(keepends=True)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    out: list[Mutant] = []
    for b in blocks:
        first, last = b.start + 1, b.end + 1  # 1-based marker lines
        owner = max((f for f in functions if f.lineno <= first <= (f.end_lineno or 0)), key=lambda f: f.lineno)
        stmts = _block_statements(owner, first, last)
        inputs = _inputs(owner, first, stmts)
        ctx = _Context(inputs, (inputs | {n for s in stmts for n in _names_bound(s)}) - {"_"})
        seen: set[tuple[int, str]] = set()
        for stmt in stmts:
            original = _src(stmt)
            indent = " " * stmt.col_offset
            for path, node in _walk(stmt):
                for op in operators:
                    for description, new, kind in RULES[op](node, ctx):
                        try:
                            text = _unparse_with(stmt, path, new)
                        except Exception:  # an edit that cannot be written back as code
                            continue
                        if text == original or (stmt.lineno, text) in seen:
                            continue
                        seen.add((stmt.lineno, text))
                        new_lines = [indent + line + "\n" for line in text.splitlines()]
                        old_lines = lines[stmt.lineno - 1:stmt.end_lineno]
                        mutated_source = "".join(lines[:stmt.lineno - 1] + new_lines + lines[stmt.end_lineno:])
                        diff = f"@@ {file}:{stmt.lineno} @@\n" + "".join(
                            ["-" + s for s in old_lines] + ["+" + s for s in new_lines])
                        out.append(Mutant(b.task, file, module, op, stmt.lineno, description,
                                          mutated_source, diff, kind))
    return out


def mutants(reference_dir: Path, operators: tuple[str, ...] = OPERATORS) -> list[Mutant]:
    """Every mutant of an assignment's reference package (``reference/<aid>``)."""
    prefix = reference_dir.name.split("_", 1)[0]
    found: list[Mutant] = []
    for py in sorted(reference_dir.rglob("*.py")):
        rel = py.relative_to(reference_dir)
        module = ".".join(rel.with_suffix("").parts)
        if module.endswith("__init__"):
            module = module.removesuffix("__init__").rstrip(".")
        found.extend(mutants_of_file(py.read_text(encoding="utf-8"), prefix, rel.as_posix(), module, operators))
    return found


def sample_key(m: Mutant) -> str:
    """A stable hash of what a mutant is (task, operator, where, what changed): the same on every
    machine and in every run, unlike ``hash()``, and independent of the order mutants are made in.
    The diff is part of it: one line can hold two edits with the same description (two ``1``s)."""
    text = "\0".join((m.task, m.operator, m.file, str(m.line), m.description, m.diff))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample_quota(n: int, operators: int, fraction: float, min_per_task: int = MIN_PER_TASK) -> int:
    """How many of a task's ``n`` mutants (made by ``operators`` operators) a sample keeps: the
    fraction, rounded up, but never fewer than one per operator or than ``min_per_task`` (all ``n``
    when there are fewer)."""
    return min(n, max(math.ceil(round(fraction * n, 9)), operators, min_per_task))


def sample(found: list[Mutant], fraction: float, min_per_task: int = MIN_PER_TASK) -> list[Mutant]:
    """A deterministic ``fraction`` of ``found``, task by task, in ``found``'s order.

    Each task keeps :func:`sample_quota` of its mutants, taken round-robin over its operators (the
    operators ordered, and each one's mutants ordered, by :func:`sample_key`): every operator that
    applies to a task is in its sample, so a rare one (one ``keepdim`` among forty deletions) is not
    left to chance, and the rest of the quota is spread evenly over them. The fraction is a floor:
    a task with few mutants keeps more of them, so the sample as a whole is somewhat larger.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"a sample's fraction must be in (0, 1], not {fraction!r}")
    if min_per_task < 1:
        raise ValueError(f"a sample keeps at least one mutant per task, not {min_per_task!r}")
    keys = [sample_key(m) for m in found]
    by_task: dict[str, dict[str, list[int]]] = {}
    for i, m in enumerate(found):
        by_task.setdefault(m.task, {}).setdefault(m.operator, []).append(i)
    chosen: set[int] = set()
    for operators in by_task.values():
        queues = sorted((sorted(q, key=keys.__getitem__) for q in operators.values()), key=lambda q: keys[q[0]])
        rounds = [q[r] for r in range(max(map(len, queues))) for q in queues if r < len(q)]
        chosen.update(rounds[:sample_quota(len(rounds), len(queues), fraction, min_per_task)])
    return [m for i, m in enumerate(found) if i in chosen]
