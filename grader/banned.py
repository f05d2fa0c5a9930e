"""Banned operations: a static scan of the submission (in the grader) and a torch function mode (in the child).

course.yaml lists, per task, qualified names the task's code may not call:
``torch.nn.functional.conv2d``, ``torch.autograd`` (the module and everything in it) or
``torch.nn.grad.*`` (everything in it). The scan reads the graded function and the
same-file helpers it calls, resolving import aliases (``F.relu`` is
``torch.nn.functional.relu``). The guard sees every torch call made while the task runs
and blames the innermost line of the submission on the stack; calls the grader's own
drivers make are not the student's. Both report the call and the line.
This file is copied into the sandbox: it imports only the standard library and torch.
"""
from __future__ import annotations

import ast
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from torch.overrides import TorchFunctionMode, resolve_name


@dataclass(frozen=True)
class Violation:
    name: str   # the banned qualified name that was used
    file: str   # the submission's file, relative to its assignment folder
    line: int

    def describe(self) -> str:
        return f"banned operation {self.name} ({self.file} line {self.line})"


def matches(name: str, banned: Iterable[str]) -> str | None:
    """The entry of ``banned`` that ``name`` falls under: ``a.b`` covers ``a.b`` and ``a.b.*``."""
    for entry in banned:
        base = entry[:-2] if entry.endswith(".*") else entry
        if name.startswith(base + ".") or (name == base and not entry.endswith(".*")):
            return entry
    return None


def _imports(body: Iterable[ast.stmt]) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(sub, ast.Import):
                for a in sub.names:
                    if a.asname:
                        names[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        names[root] = root
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                for a in sub.names:
                    names[a.asname or a.name] = f"{sub.module}.{a.name}"
    return names


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def scan(path: Path, function: str, banned: Iterable[str], shown: str | None = None) -> list[Violation]:
    """Banned names used by ``function`` in the file ``path`` or by the same-file functions it calls."""
    banned = tuple(banned)
    if not banned:
        return []
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return []  # only regular files are copied into the sandbox, so only they can run
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []  # a file that does not parse fails its tasks at import, with its own message
    shown = shown or path.name
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    module_aliases = _imports(tree.body)
    found: dict[tuple[str, int], Violation] = {}
    pending, seen = [function], set()
    while pending:
        name = pending.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        fn = defs[name]
        aliases = {**module_aliases, **_imports(fn.body)}
        for imp in ast.walk(fn):
            if isinstance(imp, (ast.Import, ast.ImportFrom)):
                targets = [a.name for a in imp.names] if isinstance(imp, ast.Import) else \
                    [f"{imp.module}.{a.name}" for a in imp.names if imp.module and not imp.level]
                for t in targets:
                    if matches(t, banned) is not None:
                        found.setdefault((t, imp.lineno), Violation(t, shown, imp.lineno))
        stack: list[ast.AST] = [fn]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.Attribute, ast.Name)):
                qual = _qualified(node, aliases)
                if qual is not None and matches(qual, banned) is not None:
                    found.setdefault((qual, node.lineno), Violation(qual, shown, node.lineno))
                    continue
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in defs:
                    pending.append(node.func.id)
                elif node.func.id == "getattr" and len(node.args) >= 2 and \
                        isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    base = _qualified(node.args[0], aliases)  # getattr(F, "relu") is F.relu
                    qual = f"{base}.{node.args[1].value}" if base else None
                    if qual is not None and matches(qual, banned) is not None:
                        found.setdefault((qual, node.lineno), Violation(qual, shown, node.lineno))
            stack.extend(ast.iter_child_nodes(node))
    return sorted(found.values(), key=lambda v: (v.line, v.name))


def runtime_name(func: Any) -> str:
    name = resolve_name(func)
    if name:
        return name
    return f"{getattr(func, '__module__', None) or '?'}.{getattr(func, '__qualname__', repr(func))}"


class Guard(TorchFunctionMode):
    """Records the first banned torch call made from the submission's code while it is active."""

    def __init__(self, banned: Iterable[str], submission_root: str):
        super().__init__()
        self.banned = tuple(banned)
        self.root = submission_root.rstrip("/") + "/"
        self.violation: Violation | None = None

    def _student_line(self) -> tuple[str, int] | None:
        frame = sys._getframe(2)
        while frame is not None:
            file = frame.f_code.co_filename
            if file.startswith(self.root):
                rel = file[len(self.root):].split("/", 1)[-1]
                return rel, frame.f_lineno
            frame = frame.f_back
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.violation is None:
            name = runtime_name(func)
            if matches(name, self.banned) is not None:
                where = self._student_line()
                if where is not None:
                    self.violation = Violation(name, *where)
        return func(*args, **(kwargs or {}))

    def still_active(self) -> bool:
        from torch.overrides import _get_current_function_mode_stack
        return any(m is self for m in _get_current_function_mode_stack())
