"""Banned operations, the static half: a scan of the submission's code, in the grader, before it runs.

course.yaml lists, per task, qualified names the task's code may not call:
``torch.nn.functional.conv2d``, ``torch.autograd`` (the module and everything in it) or
``torch.nn.grad.*`` (everything in it). The scan reads the graded function and the
submission's code it names, in its file or imported from the assignment's other files,
resolving import aliases (``F.relu`` is ``torch.nn.functional.relu``); it also refuses the
ways around both checks (:data:`ESCAPES` and the like) wherever anything is banned. The run-time half is
:class:`grader.sandbox.inside.guard.Guard`. Both report the call and the line.

What the scan has not read it cannot vouch for: each file is read as Python's import reads it
(its BOM or coding line honoured), and a file or an import it cannot read or follow to its end
(bytes not in the file's encoding, a folder or compiled code where a module is expected, a star
import, ...) refuses, where anything is banned, every task that may run it (:class:`Unscanned`).
"""
from __future__ import annotations

import ast
import codecs
import functools
import importlib.machinery
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

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


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263's encoding declaration


@dataclass(frozen=True)
class Unscanned(Violation):
    """A file (``line`` 0) or an import of the submission that the scan cannot read or follow to its
    end: where anything is banned, a task that may run it is refused."""
    why: str = ""

    def describe(self) -> str:
        if self.line:
            return f"{self.name} ({self.file} line {self.line}) could not be followed by the banned-operation " \
                   f"scan: {self.why}"
        return f"{self.file} could not be read by the banned-operation scan: {self.why}"


class _Unreadable(Exception):
    """Why a module of the submission cannot be read as Python would import it."""


def _locate(folder: Path, module: str) -> Path | None:
    """The file Python imports for the submission's ``module``: None where there is none; raises
    :class:`_Unreadable` where what it would import is not one regular .py file of the folder."""
    if "." in module or "/" in module:
        raise _Unreadable("it is in a sub-folder, and the scan follows only the assignment's top-level files")
    if os.path.isdir(folder / module) and not os.path.islink(folder / module):
        raise _Unreadable(f"there is a folder {module}/, which Python would import in its place")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:  # looked for before .py
        if os.path.lexists(folder / f"{module}{suffix}"):
            raise _Unreadable(f"there is compiled code, {module}{suffix}, which Python would import in its place")
    path = folder / f"{module}.py"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _Unreadable(f"it cannot be looked at ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        raise _Unreadable("it is not a regular file (a link, a folder or a device), and the sandbox leaves it out")
    return path


def _parse(path: Path) -> ast.Module | None:
    """``path`` parsed from its bytes, as the import compiles it: None where Python rejects it too
    (importing it fails its tasks, with its own message); raises :class:`_Unreadable` where the
    scan cannot vouch for what Python would run."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise _Unreadable(f"it cannot be opened ({e.strerror or e})") from None
    _check_text(data)
    try:
        return _parsed(data, path.name)
    except SyntaxError:
        return None
    except (RecursionError, MemoryError):
        raise _Unreadable("it is nested too deeply for the scan to parse") from None
    except ValueError as e:
        raise _Unreadable(str(e)) from None


@functools.lru_cache(maxsize=256)
def _parsed(data: bytes, name: str) -> ast.Module:
    """A file's tree, parsed once per content: every task of an assignment scans the same files (the
    trees are only read)."""
    return ast.parse(data, name)  # bytes: the BOM or coding line decides the encoding, as on import


def _check_text(data: bytes) -> None:
    """Raises :class:`_Unreadable` unless ``data`` is text in the encoding Python reads it in (PEP 263:
    its BOM or coding line, else UTF-8). Python itself lets such bytes by in a comment: the scan does not."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Unreadable("it is saved as UTF-16 (it begins with a UTF-16 byte-order mark), and Python reads "
                          "source as UTF-8")
    try:
        encoding, lines = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        if any(_COOKIE.match(line) for line in data.split(b"\n", 2)[:2]):
            raise _Unreadable(f"its coding line cannot be used ({e.msg})") from None
        encoding, lines = "utf-8", []  # first lines that are not UTF-8: the decoding below says where
    body, codec = (data[len(codecs.BOM_UTF8):], "utf-8") if encoding == "utf-8-sig" else (data, encoding)
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as e:
        line = body.count(b"\n", 0, e.start) + 1
        said = f"{encoding}, the encoding its coding line declares" if any(_COOKIE.match(x) for x in lines) else \
            "UTF-8, which its byte-order mark declares" if encoding == "utf-8-sig" else \
            "UTF-8 and the file declares no encoding"
        raise _Unreadable(f"byte 0x{body[e.start]:02x} in line {line} is not {said}") from None
    except Exception as e:  # a codec that is no text encoding (rot13), or fails its own way
        raise _Unreadable(f"its coding line cannot be used ({e})") from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise _Unreadable(f"line {line} holds a null byte")


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


def _parts(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _values(body: list[ast.stmt]) -> dict[str, list[ast.stmt]]:
    """Module-level statements other than defs and imports, by each name they bind (a def under an
    ``if`` included): a function that uses the name may run the code they name."""
    values: dict[str, list[ast.stmt]] = {}
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for stmt in body:
        if not isinstance(stmt, (*defs, ast.Import, ast.ImportFrom)):
            for name in {n.name if isinstance(n, defs) else n.id for n in ast.walk(stmt)
                         if isinstance(n, defs) or isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}:
                values.setdefault(name, []).append(stmt)
    return values


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
    module: str
    shown: str
    defs: dict[str, ast.AST]
    aliases: dict[str, str]
    own: dict[str, tuple[str, str | None]]
    tree: ast.Module
    values: dict[str, list[ast.stmt]]  # module-level statements that bind each name (not defs, not imports)


Target = str | tuple[str, str | None] | None  # a qualified name; the submission's (module, name); nothing


class _Scan:
    """What the code a task runs uses, by qualified name, across the submission's files."""

    def __init__(self, folder: Path, banned: tuple[str, ...]):
        self.folder, self.banned, self.package = folder, banned, folder.name
        self.files: dict[str, _File | None] = {}
        self.absent: set[str] = set()
        self.found: dict[tuple[str, str, int], Violation] = {}
        self.pending: list[tuple[str, str, bool]] = []  # (module, name, whether its banned names count)

    def file(self, module: str) -> _File | None:
        """A module of the submission, read and parsed once; its import-time statements are looked at then.
        None where there is no such file, Python rejects it too, or it cannot be read (that is a finding)."""
        if module not in self.files:
            self.files[module] = None
            shown = f"{module.replace('.', '/')}.py"
            try:
                path = _locate(self.folder, module)
                tree = _parse(path) if path is not None else None
            except _Unreadable as e:
                self.found.setdefault((shown, shown, 0), Unscanned(shown, shown, 0, True, str(e)))
                return None
            if path is None:
                self.absent.add(module)
            if tree is None:
                return None
            defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                   ast.ClassDef))}
            aliases, own = _imports(tree.body, self.package)
            f = self.files[module] = _File(module, shown, defs, aliases, own, tree, _values(tree.body))
            self.import_time(f, tree.body)
        return self.files[module]

    def import_time(self, f: _File, body: list[ast.stmt]) -> None:
        """Statements that run when the file is imported: only the escapes are looked for there
        (a module-level alias of an operation banned for one task may serve another)."""
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                for part in [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]:
                    self.walk(f, part, set(), banned=False, follow=False)
                aliases, own = _imports(stmt.body, self.package)  # a class's body runs when it is defined
                self.import_time(replace(f, aliases={**f.aliases, **aliases}, own={**f.own, **own}), stmt.body)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for part in [*stmt.decorator_list, stmt.args, *([stmt.returns] if stmt.returns else [])]:
                    self.walk(f, part, set(), banned=False, follow=False)  # these run at the def
            else:
                self.walk(f, stmt, set(), banned=False, follow=False)

    def add(self, f: _File, name: str, line: int, escape: bool = False) -> None:
        self.found.setdefault((f.shown, name, line), Violation(name, f.shown, line, escape))

    def refuse(self, f: _File, what: str, line: int, why: str) -> None:
        self.found.setdefault((f.shown, what, line), Unscanned(what, f.shown, line, True, why))

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

    def need(self, f: _File, module: str, what: str, line: int) -> None:
        """A module of the submission that code in ``f`` imports: read it; one that is not there is a finding."""
        if self.file(module) is None and module in self.absent:
            self.refuse(f, what, line, f"{module}.py is not a file of the assignment")

    def resolve(self, f: _File, parts: list[str] | None, local: set[str]) -> Target:
        """What the dotted name ``parts`` in ``f`` stands for: a qualified name outside the submission
        (through import aliases, also those of the submission's modules it is imported from), the
        submission's own (module, top-level name, or None for the module itself), or None (a value)."""
        seen: set[tuple[str, str]] = set()
        while parts:
            head, rest = parts[0], parts[1:]
            if head in f.aliases:
                qual = [*f.aliases[head].split("."), *rest]
                if qual[0] != self.package:
                    return ".".join(qual)
                if len(qual) == 1:
                    return None  # the package itself: its __init__.py is read anyway
                module, rest = qual[1], qual[2:]
            elif head in local:
                return None
            elif head in f.own:
                module, name = f.own[head]
                rest = [name, *rest] if name is not None else rest
            elif head in f.defs or head in f.values:
                return f.module, head
            else:
                return None
            target = self.file(module) if rest else None
            if target is None or (module, rest[0]) in seen:
                return module, (rest[0] if rest else None)
            seen.add((module, rest[0]))
            f, parts, local = target, rest, set()  # a name the module imports: what it stands for there
        return None

    def reach(self, f: _File, target: Target, what: str, line: int, banned: bool, follow: bool) -> bool:
        """Act on what a name stands for: check a qualified name; read (and, with ``follow``, queue)
        the submission's code."""
        if isinstance(target, str):
            return self.check(f, target, line, banned)
        if target is not None:
            module, name = target
            if module != f.module:
                self.need(f, module, what, line)
            if name is not None and follow:
                self.pending.append((module, name, banned))
        return False

    def follow_import(self, f: _File, node: ast.Import | ast.ImportFrom) -> None:
        """An import in code that runs: the submission's modules it names are read (their import-time
        statements run too); one the scan cannot follow to its end is a finding."""
        package, what = self.package, ast.unparse(node)
        if isinstance(node, ast.Import):
            modules = [a.name[len(package) + 1:] for a in node.names if a.name.startswith(package + ".")]
        elif any(a.name == "*" for a in node.names):
            return self.refuse(f, what, node.lineno, "a star import hides which names it brings in")
        elif node.level > 1:
            return self.refuse(f, what, node.lineno, "it reaches outside the assignment's folder")
        elif node.level == 1 or node.module == package:
            modules = [node.module] if node.module else [a.name for a in node.names]  # .m import f / . import m
        elif node.module and node.module.startswith(package + "."):
            modules = [node.module[len(package) + 1:]]
        else:
            modules = []
        for module in modules:
            self.need(f, module, what, node.lineno)

    def run(self, module: str, function: str) -> None:
        self.file("__init__")  # the package's own file runs before any of its modules
        self.pending.append((module, function, True))
        seen: set[tuple[str, str, bool]] = set()
        while self.pending:
            module, name, banned = self.pending.pop()
            f = self.file(module)
            key = (module, name, banned and f is not None and name in f.defs)
            if key in seen or (module, name, True) in seen or f is None:
                continue
            seen.add(key)
            if name in f.defs:
                fn = f.defs[name]
                aliases, own = _imports(getattr(fn, "body", []), self.package)
                self.walk(replace(f, aliases={**f.aliases, **aliases}, own={**f.own, **own}), fn, _bound(fn),
                          key[2], follow=True)
            for stmt in f.values.get(name, []):  # a value the code uses: the code it names may be called
                self.walk(f, stmt, set(), banned=False, follow=True)

    def walk(self, f: _File, root: ast.AST, local: set[str], banned: bool, follow: bool) -> None:
        """Visit ``root``; ``local``: names bound in it; ``banned``: whether the banned names count (a
        task's own code) or only the escapes; ``follow``: queue the submission's code it names."""
        aliases = f.aliases
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.follow_import(f, node)
                if banned:
                    targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                        [f"{node.module}.{a.name}" for a in node.names if node.module and not node.level]
                    for t in targets:
                        if matches(t, self.banned) is not None:
                            self.add(f, t, node.lineno)
                continue
            if isinstance(node, (ast.Attribute, ast.Name)):
                parts = _parts(node)
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id not in aliases:
                    parts = None  # a name being bound is no use of what it was
                if parts and self.reach(f, self.resolve(f, parts, local), ".".join(parts), node.lineno, banned,
                                        follow):
                    continue
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store) and \
                    (node.id in ESCAPE_BUILTINS or node.id in NAMED_BY_STRING) and \
                    not any(node.id in names for names in (aliases, local, f.own, f.defs)):
                self.add(f, node.id, node.lineno, escape=True)  # getattr(obj, "name") is taken apart below
            if isinstance(node, ast.Attribute) and node.attr in ESCAPE_ATTRIBUTES:
                self.add(f, node.attr, node.lineno, escape=True)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NAMED_BY_STRING \
                    and node.func.id not in aliases and node.func.id not in local:
                name = _literal_name(node)
                if name is not None:  # getattr(F, "relu") is F.relu
                    base = _parts(node.args[0])
                    parts = [*base, name] if base else None
                    if not self.reach(f, self.resolve(f, parts, local), ".".join(parts or [name]), node.lineno,
                                      banned, follow) and name in ESCAPE_ATTRIBUTES:
                        self.add(f, name, node.lineno, escape=True)
                    stack.extend(node.args)
                    stack.extend(k.value for k in node.keywords)
                    continue
            stack.extend(ast.iter_child_nodes(node))


def scan(path: Path, function: str, banned: Iterable[str]) -> list[Violation]:
    """Banned names used by ``function`` in the file ``path``, or by the submission's code it names
    (same file, or another of the assignment's files it imports).

    Where anything is banned, the escapes (:data:`ESCAPES` and the like) are looked for too: in
    that code and in the import-time statements of every file it comes from; and a file or an
    import that cannot be read or followed is an :class:`Unscanned`. Files are named by their path
    in the assignment's folder.
    """
    banned = tuple(banned)
    if not banned:
        return []
    s = _Scan(path.parent, banned)
    s.run(path.stem, function)
    return sorted(s.found.values(), key=lambda v: (v.file != path.name, v.file, v.line, v.name))
