"""The edits a mutant makes: one rule per operator, each a mistake students make in one token.

A rule looks at one node of a solution block and yields ``(description, new node, kind)`` for each
edit it makes there: the description for people (``dim 1 -> 0``), the node that replaces the old one,
and the kind of mistake the edit is (:class:`grader.results.DiagnosisKind`), or None where no one kind
fits it (a factor left out of a product may be a mask, an activation's derivative or a scale). The
operators: a swapped operator, a flipped sign, a dropped or added transpose, the wrong reduction axis or
reduction, a dropped keepdim, a perturbed constant, a deleted term, an off-by-one slice or range, swapped
arguments, a deleted statement, an input updated in place, another variable read. The classic mistakes
that take more than one token are :mod:`grader.quality.classic`'s; :mod:`grader.quality.mutate` applies both.
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Callable, Iterator

from grader.results import DiagnosisKind as K

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


@dataclass
class Context:
    inputs: set[str]  # names bound outside the block: parameters and what came from them
    names: set[str]   # variables of the block: the inputs and what the block assigns


Edit = tuple[str, ast.AST, K | None]  # (description, new node, kind)
Rule = Callable[[ast.AST, Context], Iterator[Edit]]


def src(node: ast.AST) -> str:
    return ast.unparse(node)


def const(v: object) -> ast.Constant:
    return ast.Constant(v)


def int_value(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def int_node(v: int) -> ast.AST:
    return ast.UnaryOp(ast.USub(), const(-v)) if v < 0 else const(v)


def call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def is_method(node: ast.Call) -> bool:
    """``x.sum(...)`` rather than ``torch.sum(x, ...)``."""
    f = node.func
    return isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id in ("torch", "F", "np"))



def arith(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAP_ARITH:
        new = copy.deepcopy(node)
        new.op = SWAP_ARITH[type(node.op)]()
        yield f"{SYMBOL[type(node.op)]} -> {SYMBOL[type(new.op)]}", new, \
            K.SIGN if type(node.op) in (ast.Add, ast.Sub) else None


def compare(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_COMPARE:
        for op in SWAP_COMPARE[type(node.ops[0])]:
            new = copy.deepcopy(node)
            new.ops = [op()]
            yield f"{SYMBOL[type(node.ops[0])]} -> {SYMBOL[op]}", new, K.MASK


def sign(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
        yield "unary minus dropped", copy.deepcopy(node.operand), K.SIGN
    if isinstance(node, (ast.Assign, ast.Return)) and node.value is not None \
            and not isinstance(node.value, (ast.Tuple, ast.List, ast.ListComp, ast.Dict, ast.Constant)):
        new = copy.deepcopy(node)
        new.value = ast.UnaryOp(ast.USub(), new.value)
        yield "sign flipped", new, K.SIGN


def transpose(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT", "H", "mH") and isinstance(node.ctx, ast.Load):
        yield f".{node.attr} dropped", copy.deepcopy(node.value), K.TRANSPOSE
    if isinstance(node, ast.Call) and call_name(node) in TRANSPOSES:
        if is_method(node):
            yield f".{call_name(node)}(...) dropped", copy.deepcopy(node.func.value), K.TRANSPOSE
        elif node.args:
            yield f"{call_name(node)}(...) dropped", copy.deepcopy(node.args[0]), K.TRANSPOSE
    operands: list[tuple[str, ast.AST, str]] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        operands = [("left", node.left, "left"), ("right", node.right, "right")]
    elif isinstance(node, ast.Call) and call_name(node) in MATMULS and len(node.args) >= 2 and not is_method(node):
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


def axis(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if not isinstance(node, ast.Call):
        return
    name = call_name(node)
    for i, kw in enumerate(node.keywords):
        if kw.arg in ("dim", "axis", "dims", "start_dim", "end_dim"):
            yield from _axis_variants(node, ("keywords", i), kw.value, name in REDUCTIONS)
    if name in REDUCTIONS and is_method(node) and node.args:
        yield from _axis_variants(node, ("args", 0), node.args[0], False)
    elif name in REDUCTIONS and not is_method(node) and len(node.args) >= 2:
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

    k = int_value(value)
    if k is not None:
        others = {0: (1,), 1: (0, 2), -1: (-2, 0), -2: (-1,)}.get(k, (k - 1, k + 1))
        for o in others:
            yield f"dim {k} -> {o}", with_value(int_node(o)), K.AXIS
    elif isinstance(value, ast.Tuple) and len(value.elts) > 1:
        for j in range(len(value.elts)):
            t = copy.deepcopy(value)
            del t.elts[j]
            yield f"dim {src(value)} -> {src(t)}", with_value(t), K.AXIS
    if droppable and field == "keywords":
        yield f"dim={src(value)} dropped (reduce over everything)", with_value(None), K.AXIS


def reduction(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    """sum for mean (a gradient not divided by the batch), max for min, and so on."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SWAP_REDUCTION:
        new = copy.deepcopy(node)
        new.func.attr = SWAP_REDUCTION[node.func.attr]
        yield f"{node.func.attr} -> {new.func.attr}", new, \
            K.SCALE if {node.func.attr, new.func.attr} == {"sum", "mean"} else None


def keepdim(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.Call):
        for i, kw in enumerate(node.keywords):
            if kw.arg in ("keepdim", "keepdims") and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield f"{kw.arg}=True dropped", new, K.KEEPDIM


def constant(node: ast.AST, ctx: Context) -> Iterator[Edit]:
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
        yield f"constant {v!r} -> {new!r}", const(new), None


def term(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult):
        for kept in (node.left, node.right):
            yield f"term deleted: {src(node)} -> {src(kept)}", copy.deepcopy(kept), _term_kind(node, kept)


def _term_kind(whole: ast.BinOp, kept: ast.AST) -> K | None:
    """A summand left out is a missing term; a factor left out is a mask where the factor is a comparison or
    a mask, else it could be anything (an activation's derivative, a scale, a gate)."""
    if isinstance(whole.op, (ast.Add, ast.Sub)):
        return K.MISSING_TERM
    gone = whole.right if kept is whole.left else whole.left
    if any(isinstance(n, ast.Compare) for n in ast.walk(gone)) or "mask" in src(gone).lower():
        return K.MASK
    return None


def off_by_one(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.Slice):
        for field in ("lower", "upper"):
            bound = getattr(node, field)
            deltas = (1, -1) if bound is not None else ((1,) if field == "lower" else (-1,))
            for d in deltas:
                new = copy.deepcopy(node)
                setattr(new, field, shift(bound, d))
                yield f"slice {src(node)} -> {src(new)}", new, K.OFF_BY_ONE
    if isinstance(node, ast.Subscript) and (k := int_value(node.slice)) is not None:
        for d in (1, -1):
            new = copy.deepcopy(node)
            new.slice = int_node(k + d)
            yield f"index {src(node)} -> {src(new)}", new, K.OFF_BY_ONE
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        for i, arg in enumerate(node.args[:2]):
            for d in (1, -1):
                new = copy.deepcopy(node)
                new.args[i] = shift(arg, d)
                yield f"{src(node)} -> {src(new)}", new, K.OFF_BY_ONE


def shift(bound: ast.AST | None, d: int) -> ast.AST:
    if bound is None:
        return int_node(d)
    k = int_value(bound)
    if k is not None:
        return int_node(k + d)
    return ast.BinOp(copy.deepcopy(bound), ast.Add() if d > 0 else ast.Sub(), const(abs(d)))


def swap(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.Call):
        args = node.args
        for i in range(len(args) - 1):
            if isinstance(args[i], ast.Starred) or isinstance(args[i + 1], ast.Starred):
                continue
            if src(args[i]) == src(args[i + 1]):
                continue
            new = copy.deepcopy(node)
            new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
            yield f"arguments {src(args[i])} and {src(args[i + 1])} swapped", new, \
                K.MASK if call_name(node) == "where" else K.WRONG_INPUT  # where(c, a, b): a mask inverted
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Sub, ast.Div, ast.MatMult, ast.Pow):
        new = copy.deepcopy(node)
        new.left, new.right = new.right, new.left
        yield f"operands of {SYMBOL[type(node.op)]} swapped", new, {ast.Sub: K.SIGN, ast.MatMult: K.TRANSPOSE}.get(type(node.op))


def delete(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass):
        line = src(node).splitlines()[0]
        yield f"statement deleted: {line}", ast.Pass(), \
            K.MASK if "mask" in line.lower() else K.MISSING_TERM if isinstance(node, ast.AugAssign) and \
            isinstance(node.op, (ast.Add, ast.Sub)) else None


def in_place(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    if isinstance(node, ast.BinOp) and type(node.op) in IN_PLACE_BINOP and isinstance(node.left, ast.Name) \
            and node.left.id in ctx.inputs:
        method = IN_PLACE_BINOP[type(node.op)]
        new = ast.Call(ast.Attribute(ast.Name(node.left.id, ast.Load()), method, ast.Load()),
                       [copy.deepcopy(node.right)], [])
        yield f"{node.left.id} updated in place ({node.left.id}.{method})", new, K.IN_PLACE
    if isinstance(node, ast.Call) and call_name(node) in IN_PLACE_CALLS:
        name = call_name(node)
        if is_method(node) and isinstance(node.func.value, ast.Name) and node.func.value.id in ctx.inputs:
            new = copy.deepcopy(node)
            new.func.attr = name + "_"
            yield f"{node.func.value.id} updated in place (.{name}_)", new, K.IN_PLACE
        elif not is_method(node) and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in ctx.inputs:
            target = node.args[0].id
            new = ast.Call(ast.Attribute(ast.Name(target, ast.Load()), name + "_", ast.Load()),
                           copy.deepcopy(node.args[1:]), copy.deepcopy(node.keywords))
            yield f"{target} updated in place (.{name}_)", new, K.IN_PLACE


def variable(node: ast.AST, ctx: Context) -> Iterator[Edit]:
    """One variable read in place of another (``x`` where the cache's ``out`` belongs)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in ctx.names:
        for other in sorted(ctx.names - {node.id}):
            yield f"{node.id} -> {other}", ast.Name(other, ast.Load()), K.WRONG_INPUT
