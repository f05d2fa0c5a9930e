"""Mutants of a reference solution: small AST edits of the code between the solution markers.

Each mutant changes one node of one solution block and is the whole reference file with
that one edit, so it can be imported in place of the original. The edits are the mistakes
students make, one rule per operator: the one-token edits of :mod:`grader.quality.edits` (a
swapped operator, a flipped sign, a dropped or added transpose, the wrong reduction axis or
reduction, a dropped keepdim, a perturbed constant, a deleted term, an off-by-one slice or range,
swapped arguments, a deleted statement, an input updated in place; another variable read, on
request) and the classic mistakes of :mod:`grader.quality.classic` (on request). Each mutant
carries the kind of mistake its edit is, where one kind fits it.

``sample`` picks a deterministic part of them (``grader audit --sample``): the same mutants on
every machine and every run, spread over every task and every operator.
"""
from __future__ import annotations

import ast
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from grader.authoring.release import solution_blocks
from grader.quality import classic, edits
from grader.quality.edits import Context, Rule, src
from grader.results import DiagnosisKind as K

OPERATORS = ("arith", "compare", "sign", "transpose", "axis", "reduction", "keepdim", "constant", "term",
             "off-by-one", "swap", "delete", "in-place")
EXTRA_OPERATORS = ("variable", "misconception")  # opt-in (``grader audit --operator variable``): many more mutants

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


RULES: dict[str, Rule] = {"arith": edits.arith, "compare": edits.compare, "sign": edits.sign,
                          "transpose": edits.transpose, "axis": edits.axis, "reduction": edits.reduction,
                          "keepdim": edits.keepdim, "constant": edits.constant, "term": edits.term,
                          "off-by-one": edits.off_by_one, "swap": edits.swap, "delete": edits.delete,
                          "in-place": edits.in_place, "variable": edits.variable, "misconception": classic.misconception}


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
        return src(new)
    parent = root
    for field, index in path[:-1]:
        parent = getattr(parent, field) if index is None else getattr(parent, field)[index]
    field, index = path[-1]
    old = getattr(parent, field) if index is None else getattr(parent, field)[index]
    _put(parent, field, index, new)
    try:
        return src(root)
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
    if arg.annotation is not None and src(arg.annotation) in ("int", "float", "bool", "str"):
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
        ctx = Context(inputs, (inputs | {n for s in stmts for n in _names_bound(s)}) - {"_"})
        seen: set[tuple[int, str]] = set()
        for stmt in stmts:
            original = src(stmt)
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
