"""Generate student skeletons from the reference: solution blocks become stubs naming their task.

A solution block is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(nbgrader's markers). In the skeleton it becomes ``raise NotImplementedError("a02.affine_backward")``;
in the solutions copy the markers are dropped and the code kept. Everything else
(docstrings, signatures, shapes, helper code) is the same in both.
"""
from __future__ import annotations

import ast
import filecmp
import shutil
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class ReleaseError(ValueError):
    """Unbalanced markers, or a solution block outside a function."""


@dataclass(frozen=True)
class Block:
    task: str
    start: int  # line index of BEGIN
    end: int    # line index of END


def solution_blocks(source: str, prefix: str, filename: str = "<source>") -> list[Block]:
    spans, start = [], None
    for i, line in enumerate(source.splitlines()):
        marker = line.strip()
        if marker == BEGIN:
            if start is not None:
                raise ReleaseError(f"{filename}:{i + 1}: BEGIN SOLUTION inside another solution block")
            start = i
        elif marker == END:
            if start is None:
                raise ReleaseError(f"{filename}:{i + 1}: END SOLUTION without BEGIN SOLUTION")
            spans.append((start, i))
            start = None
    if start is not None:
        raise ReleaseError(f"{filename}:{start + 1}: BEGIN SOLUTION without END SOLUTION")
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        raise ReleaseError(f"{filename}:{e.lineno}: {e.msg}") from None
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    blocks = []
    for begin, end in spans:
        owners = [f for f in functions if f.lineno <= begin + 1 <= (f.end_lineno or 0)]
        if not owners:
            raise ReleaseError(f"{filename}:{begin + 1}: a solution block must be inside a function")
        owner = max(owners, key=lambda f: f.lineno)  # the innermost function
        blocks.append(Block(f"{prefix}.{owner.name}", begin, end))
    return blocks


def transform(source: str, prefix: str, solutions: bool, filename: str = "<source>") -> str:
    blocks = solution_blocks(source, prefix, filename)
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    for b in blocks:
        out.extend(lines[pos:b.start])
        indent = lines[b.start][: len(lines[b.start]) - len(lines[b.start].lstrip())]
        if solutions:
            out.extend(lines[b.start + 1:b.end])
        else:
            out.append(f"{indent}# YOUR CODE HERE\n")
            out.append(f'{indent}raise NotImplementedError("{b.task}")\n')
        pos = b.end + 1
    out.extend(lines[pos:])
    return "".join(out)


def tasks_in(reference_dir: Path, prefix: str) -> list[str]:
    """The task ids that have solution blocks under ``reference_dir``."""
    found: list[str] = []
    for py in sorted(reference_dir.rglob("*.py")):
        for b in solution_blocks(py.read_text(encoding="utf-8"), prefix, str(py)):
            if b.task not in found:
                found.append(b.task)
    return found


def render_assignment(reference_dir: Path, target: Path, solutions: bool) -> None:
    prefix = reference_dir.name.split("_", 1)[0]
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(reference_dir, target, ignore=IGNORE)
    for py in sorted(target.rglob("*.py")):
        src = py.read_text(encoding="utf-8")
        py.write_text(transform(src, prefix, solutions, str(reference_dir / py.relative_to(target))),
                      encoding="utf-8")


def release(reference_root: Path, out_root: Path, assignment_ids: list[str], solutions: bool = False) -> list[Path]:
    out_root.mkdir(parents=True, exist_ok=True)
    written = []
    for aid in assignment_ids:
        render_assignment(reference_root / aid, out_root / aid, solutions)
        written.append(out_root / aid)
    return written


def out_of_sync(reference_root: Path, assignments_root: Path, assignment_ids: list[str], scratch: Path) -> list[str]:
    """Files that differ between ``assignments/`` and a fresh release (missing, extra or changed)."""
    release(reference_root, scratch, assignment_ids)
    problems: list[str] = []

    def walk(cmp: filecmp.dircmp, rel: str) -> None:
        for name in cmp.left_only:
            if name != "__pycache__":
                problems.append(f"missing from assignments/: {rel}{name}")
        for name in cmp.right_only:
            if name != "__pycache__" and not name.endswith(".pyc"):
                problems.append(f"not generated from reference/: assignments/{rel}{name}")
        for name in cmp.diff_files:
            problems.append(f"out of date: assignments/{rel}{name}")
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{rel}{name}/")

    for aid in assignment_ids:
        target = assignments_root / aid
        if not target.is_dir():
            problems.append(f"missing from assignments/: {aid}/")
            continue
        cmp = filecmp.dircmp(scratch / aid, target)
        _deep(cmp)
        walk(cmp, f"{aid}/")
    extra = sorted(p.name for p in assignments_root.iterdir()  # folders with no reference at all
                   if p.is_dir() and not (reference_root / p.name).is_dir() and p.name != "__pycache__") \
        if assignments_root.is_dir() else []
    problems.extend(f"not generated from reference/: assignments/{name}/" for name in extra)
    return problems


def _deep(cmp: filecmp.dircmp) -> None:
    """dircmp compares shallowly (size and mtime); compare contents instead."""
    (_, mismatch, errors) = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    cmp.diff_files = sorted(mismatch + errors)
    for sub in cmp.subdirs.values():
        _deep(sub)
