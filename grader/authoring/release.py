"""Generate student skeletons from the reference: solution blocks become stubs naming their task.

A solution block is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(nbgrader's markers). In the skeleton it becomes ``raise NotImplementedError("a02.affine_backward")``;
in the solutions copy the markers are dropped and the code kept. Everything else
(docstrings, signatures, shapes, helper code) is the same in both.

Releasing skeletons never overwrites a student's work: a file in which a stub has been
replaced by code, or a file release did not write, makes it refuse (:class:`WorkWouldBeLost`)
before anything is written, unless it is forced.
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


class WorkWouldBeLost(ReleaseError):
    """Releasing skeletons would overwrite or delete edited files; ``edits`` says which, one line each."""

    def __init__(self, edits: list[str]):
        super().__init__("release would overwrite work, so nothing was written: " + "; ".join(edits))
        self.edits = edits

    def advice(self, out: str) -> str:
        """What ``grader release`` says when it refused to write into ``out``: each edit, then who should do what."""
        return "\n".join([f"grader: release would overwrite work in {out}, so nothing was written:"]
                         + [f"  {edit}" for edit in self.edits]
                         + ["Students: your files are untouched, and you never need `grader release`. Course "
                            "authors: move this work elsewhere, or release into another folder with --out; --force "
                            "discards it."]) + "\n"


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


def check_solved(reference_root: Path, configured: dict[str, set[str]]) -> None:
    """Refuse (:class:`ReleaseError`) an assignment whose ``configured`` tasks (by assignment id, as
    course.yaml lists them) include one with no solution block under ``reference_root``."""
    for aid, tasks in configured.items():
        unsolved = tasks - set(tasks_in(reference_root / aid, aid.split("_", 1)[0]))
        if unsolved:
            raise ReleaseError(f"{aid}: tasks in course.yaml with no solution block in reference/: "
                               f"{', '.join(sorted(unsolved))}")


def render_assignment(reference_dir: Path, target: Path, solutions: bool) -> None:
    prefix = reference_dir.name.split("_", 1)[0]
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(reference_dir, target, ignore=IGNORE)
    for py in sorted(target.rglob("*.py")):
        src = py.read_text(encoding="utf-8")
        py.write_text(transform(src, prefix, solutions, str(reference_dir / py.relative_to(target))),
                      encoding="utf-8")


def release(reference_root: Path, out_root: Path, assignment_ids: list[str], solutions: bool = False,
            force: bool = False) -> list[Path]:
    """Write each assignment's skeleton (or solutions copy) under ``out_root``, replacing what is there.

    Skeletons are written only when no file there holds work (:func:`edited`), unless ``force``.
    """
    if not solutions and not force:
        edits = edited(reference_root, out_root, assignment_ids)
        if edits:
            raise WorkWouldBeLost(edits)
    out_root.mkdir(parents=True, exist_ok=True)
    written = []
    for aid in assignment_ids:
        render_assignment(reference_root / aid, out_root / aid, solutions)
        written.append(out_root / aid)
    return written


def edited(reference_root: Path, out_root: Path, assignment_ids: list[str]) -> list[str]:
    """What releasing skeletons into ``out_root`` would lose, one line per file (empty: nothing).

    A file is someone's work when a function that has a stub in the skeleton is there without
    its stub (``raise NotImplementedError("a02.affine_forward")`` replaced by code), when it does
    not parse, or when release did not write it (it would be deleted). A skeleton that differs
    only because the reference changed keeps its stubs, so it is simply regenerated.
    """
    found: list[str] = []
    for aid in assignment_ids:
        target, source = out_root / aid, reference_root / aid
        if not target.is_dir():
            continue
        prefix = aid.split("_", 1)[0]
        for path in sorted(p for p in target.rglob("*") if p.is_file() and not _ignored(p.relative_to(target))):
            rel = path.relative_to(target)
            if not (source / rel).is_file():
                found.append(f"{aid}/{rel}: not generated from reference/, release would delete it")
            elif path.suffix == ".py":
                skeleton = transform((source / rel).read_text(encoding="utf-8"), prefix, False, str(source / rel))
                why = _implemented(path.read_text(encoding="utf-8", errors="replace"), skeleton)
                if why:
                    found.append(f"{aid}/{rel}: {why}")
    return found


def _ignored(rel: Path) -> bool:
    """Caches and hidden files: what release neither writes nor needs to keep."""
    return any(part == "__pycache__" or part.startswith(".") for part in rel.parts) or rel.suffix == ".pyc"


def _stub_task(node: ast.AST) -> str | None:
    """The task id of ``raise NotImplementedError("<task id>")``, or None for any other node."""
    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name) \
            and node.exc.func.id == "NotImplementedError" and node.exc.args \
            and isinstance(node.exc.args[0], ast.Constant) and isinstance(node.exc.args[0].value, str):
        return node.exc.args[0].value
    return None


def _stubs(tree: ast.AST) -> dict[str, list[str]]:
    """Each function's name -> the task ids of the stubs it raises."""
    found: dict[str, list[str]] = {}
    for f in ast.walk(tree):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(f.name, []).extend(t for t in map(_stub_task, ast.walk(f)) if t)
    return found


def _implemented(current: str, skeleton: str) -> str:
    """Why ``current`` holds work that ``skeleton`` would overwrite ("" when it holds none)."""
    if current == skeleton:
        return ""
    try:
        tree = ast.parse(current)
    except SyntaxError as e:
        return f"does not parse (line {e.lineno}), so it is taken for work in progress"
    have = _stubs(tree)  # a function the skeleton has but this file lacks is new in the reference, not work
    done = [task for name, tasks in _stubs(ast.parse(skeleton)).items() if name in have
            for task in tasks if have[name].count(task) < tasks.count(task)]
    return f"{', '.join(dict.fromkeys(done))} implemented (its stub replaced by code)" if done else ""


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


def out_of_sync_advice(problems: list[str], work_in_it: bool) -> str:
    """What ``release --check`` says when ``problems`` (from :func:`out_of_sync`) were found: each one,
    then what to do, which depends on whether the skeletons hold implemented solutions (``work_in_it``)."""
    lines = ["assignments/ is out of sync with reference/:"] + [f"  {p}" for p in problems]
    if work_in_it:
        lines.append("It holds implemented solutions. If they are yours, they are safe: this check changes nothing "
                     "and is for the course's authors.\nGrade your work with `python3 dev.py pytest assignments/<id>`.")
    else:
        lines.append("Course authors: regenerate it with `grader release`.")
    return "\n".join(lines) + "\n"


def _deep(cmp: filecmp.dircmp) -> None:
    """dircmp compares shallowly (size and mtime); compare contents instead."""
    (_, mismatch, errors) = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
    cmp.diff_files = sorted(mismatch + errors)
    for sub in cmp.subdirs.values():
        _deep(sub)
