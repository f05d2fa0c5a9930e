"""Banned operations, the static half: a scan of the submission's code, in the grader, before it runs.

course.yaml lists, per task, qualified names the task's code may not call:
``torch.nn.functional.conv2d``, ``torch.autograd`` (the module and everything in it) or
``torch.nn.grad.*`` (everything in it). The scan reads the graded function and the
submission's code it names, in its file or imported from the assignment's other files,
resolving import aliases (``F.relu`` is ``torch.nn.functional.relu``); it also refuses the
ways around both checks (:data:`ESCAPES` and the like) wherever anything is banned. The run-time half is
:class:`grader.sandbox.inside.guard.Guard`. Both report the call and the line.
"""
from __future__ import annotations

import ast
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from grader.sandbox.inside.guard import Violation, matches


# Where a task has banned operations, what could reach them unseen by either check: torch's
# low-level entry points (``torch.ops.aten.convolution`` never passes a torch function mode),
# the machinery that switches the mode off, and lookups by computed name or by introspection.
ESCAPES = ("torch.ops", "torch._C", "torch._VF", "torch._ops", "torch.overrides", "torch.utils._python_dispatch",
           "torch.library", "torch._refs", "torch._prims", "torch._decomp", "torch._dynamo", "torch.fx",
           "importlib", "builtins", "ctypes", "gc", "inspect", "sys.modules", "sys._getframe", "operator.attrgetter",
           "operator.methodcaller")
ESCAPE_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "globals", "vars", "locals", "breakpoint"})
NAMED_BY_STRING = frozenset({"getattr", "setattr", "delattr"})  # allowed with a literal name only
ESCAPE_ATTRIBUTES = frozenset({"__dict__", "__globals__", "__builtins__", "__subclasses__", "__getattribute__",
                               "__code__", "__closure__", "__bases__", "__mro__", "__torch_function__",
                               "__torch_dispatch__", "__self__", "__func__", "__wrapped__", "__loader__",
                               "__spec__", "f_back", "f_globals", "f_locals", "gi_frame", "tb_frame"})


def _imports(body: Iterable[ast.stmt], package: str = "") -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """Import aliases in ``body`` (not in nested functions or classes): qualified names, and the
    submission's own modules (``from .helpers import f``: ``f`` -> ``("helpers", "f")``)."""
    names: dict[str, str] = {}
    own: dict[str, tuple[str, str | None]] = {}
    for node in body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                else ():
            if isinstance(sub, ast.Import):
                for a in sub.names:
                    if package and a.name.startswith(package + ".") and a.asname:
                        own[a.asname] = (a.name[len(package) + 1:], None)
                    elif a.asname:
                        names[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        names[root] = root
            elif isinstance(sub, ast.ImportFrom):
                module = sub.module or ""
                if sub.level == 1 or (package and module.split(".")[0] == package and not sub.level):
                    inner = module if sub.level else module[len(package) + 1:]
                    for a in sub.names:  # from .m import f / from . import m / from package.m import f
                        own[a.asname or a.name] = (inner, a.name) if inner else (a.name, None)
                elif module and not sub.level:
                    for a in sub.names:
                        names[a.asname or a.name] = f"{module}.{a.name}"
    return names, own


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _literal_name(call: ast.Call) -> str | None:
    if len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
        return call.args[1].value
    return None


def _bound(fn: ast.AST) -> set[str]:
    """Names a function or class binds itself (arguments, assignments, loop variables): a local ``vars`` is no builtin."""
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
            names.add(node.name)
    return names


@dataclass
class _File:
    shown: str
    defs: dict[str, ast.AST]
    aliases: dict[str, str]
    own: dict[str, tuple[str, str | None]]
    tree: ast.Module


class _Scan:
    """What the code a task runs uses, by qualified name, across the submission's files."""

    def __init__(self, folder: Path, banned: tuple[str, ...]):
        self.folder, self.banned = folder, banned
        self.files: dict[str, _File | None] = {}
        self.found: dict[tuple[str, str, int], Violation] = {}
        self.pending: list[tuple[str, str]] = []

    def file(self, module: str) -> _File | None:
        """A module of the submission, parsed once; its import-time statements are looked at then."""
        if module not in self.files:
            path = self.folder / f"{module.replace('.', '/')}.py"
            self.files[module] = None
            try:
                if "/" in module or not stat.S_ISREG(os.lstat(path).st_mode):
                    return None  # only regular files are copied into the sandbox, so only they can run
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                return None  # a file that does not parse fails its tasks at import, with its own message
            defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                   ast.ClassDef))}
            aliases, own = _imports(tree.body, self.folder.name)
            f = self.files[module] = _File(f"{module.replace('.', '/')}.py", defs, aliases, own, tree)
            self.import_time(module, f)
        return self.files[module]

    def import_time(self, module: str, f: _File) -> None:
        """Statements that run when the file is imported: only the escapes are looked for there
        (a module-level alias of an operation banned for one task may serve another)."""
        for stmt in f.tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue  # an import alone reaches nothing; a use of what it names is looked at where it is
            if isinstance(stmt, ast.ClassDef):
                parts = [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts = [*stmt.decorator_list, *stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d)]
            else:
                parts = [stmt]
            for part in parts:
                self.walk(module, f, part, set(), follow=False)

    def add(self, f: _File, name: str, line: int, escape: bool = False) -> None:
        self.found.setdefault((f.shown, name, line), Violation(name, f.shown, line, escape))

    def check(self, f: _File, qual: str | None, line: int, banned: bool) -> bool:
        if qual is None:
            return False
        if banned and matches(qual, self.banned) is not None:
            self.add(f, qual, line)
            return True
        escape = matches(qual, ESCAPES)
        if escape is not None:
            self.add(f, escape, line, escape=True)
            return True
        return False

    def run(self, module: str, function: str) -> None:
        self.pending.append((module, function))
        seen: set[tuple[str, str]] = set()
        while self.pending:
            key = self.pending.pop()
            f = self.file(key[0])
            if key in seen or f is None or key[1] not in f.defs:
                continue
            seen.add(key)
            fn = f.defs[key[1]]
            aliases, own = _imports(getattr(fn, "body", []), self.folder.name)
            f_local = _File(f.shown, f.defs, {**f.aliases, **aliases}, {**f.own, **own}, f.tree)
            self.walk(key[0], f_local, fn, _bound(fn), follow=True)

    def walk(self, module: str, f: _File, root: ast.AST, local: set[str], follow: bool) -> None:
        """Visit ``root``; ``local``: names bound in it; ``follow``: queue the submission's code it names
        (and, with it, check the banned names: a task's own code)."""
        aliases = f.aliases
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if follow:
                    targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                        [f"{node.module}.{a.name}" for a in node.names if node.module and not node.level]
                    for t in targets:
                        if matches(t, self.banned) is not None:
                            self.add(f, t, node.lineno)
                continue
            if isinstance(node, (ast.Attribute, ast.Name)):
                if self.check(f, _qualified(node, aliases), node.lineno, banned=follow):
                    continue
            free = isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store) and \
                node.id not in aliases and node.id not in local
            if free and node.id in f.own:
                if follow and f.own[node.id][1] is not None:
                    self.pending.append(f.own[node.id])  # type: ignore[arg-type]
                self.file(f.own[node.id][0])  # its import-time statements run
            elif free and node.id in f.defs:
                if follow:
                    self.pending.append((module, node.id))
            elif free and (node.id in ESCAPE_BUILTINS or node.id in NAMED_BY_STRING):
                self.add(f, node.id, node.lineno, escape=True)  # getattr(obj, "name") is taken apart below
            if isinstance(node, ast.Attribute):
                if node.attr in ESCAPE_ATTRIBUTES:
                    self.add(f, node.attr, node.lineno, escape=True)
                elif follow and isinstance(node.value, ast.Name) and node.value.id in f.own and \
                        node.value.id not in local and f.own[node.value.id][1] is None:
                    self.pending.append((f.own[node.value.id][0], node.attr))  # helpers.f
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NAMED_BY_STRING \
                    and node.func.id not in aliases and node.func.id not in local:
                name = _literal_name(node)
                if name is not None:  # getattr(F, "relu") is F.relu
                    base = _qualified(node.args[0], aliases)
                    if not self.check(f, f"{base}.{name}" if base else None, node.lineno, banned=follow) and \
                            name in ESCAPE_ATTRIBUTES:
                        self.add(f, name, node.lineno, escape=True)
                    stack.extend(node.args)
                    stack.extend(k.value for k in node.keywords)
                    continue
            stack.extend(ast.iter_child_nodes(node))


def scan(path: Path, function: str, banned: Iterable[str]) -> list[Violation]:
    """Banned names used by ``function`` in the file ``path``, or by the submission's code it names
    (same file, or another of the assignment's files it imports).

    Where anything is banned, the escapes (:data:`ESCAPES` and the like) are looked for too: in
    that code and in the import-time statements of every file it comes from. Files are named
    by their path in the assignment's folder.
    """
    banned = tuple(banned)
    if not banned:
        return []
    s = _Scan(path.parent, banned)
    s.run(path.stem, function)
    return sorted(s.found.values(), key=lambda v: (v.file != path.name, v.file, v.line, v.name))


