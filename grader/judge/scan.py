"""Banned operations, the static half: one of the judge's checks, a scan of the submission's code before it runs
(a task it refuses is never sent to a runner).

course.yaml lists, per task, qualified names the task's code may not call: ``torch.nn.functional.conv2d``,
``torch.autograd`` (the module and everything in it) or ``torch.nn.grad.*`` (everything in it). The scan reads the
graded function and the submission's code it names, in its file or imported from the assignment's other files,
resolving import aliases (``F.relu`` is ``torch.nn.functional.relu``); it also refuses the ways around both checks
(:data:`ESCAPES` and the like) wherever anything is banned. The run-time half is
:class:`grader.sandbox.inside.guard.Guard`. Both report the call and the line.

What the scan has not read it cannot vouch for: each file is read as Python's import reads it (its BOM or coding
line honoured), and a file or an import it cannot read or follow to its end (bytes not in the file's encoding, a
folder or compiled code where a module is expected, a star import, ...) refuses, where anything is banned, every
task that may run it (:class:`Unscanned`).
"""
from __future__ import annotations

import ast
import collections
import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from grader.i18n import _
from grader.sandbox import resolve
from grader.sandbox.inside.findings import Violation, matches
from grader.sandbox.resolve import ESCAPE_ATTRIBUTES, ESCAPE_BUILTINS, ESCAPES, NAMED_BY_STRING, private


@dataclass(frozen=True)
class Unscanned(Violation):
    """A file (``line`` 0) or an import of the submission that the scan cannot read or follow to its
    end: where anything is banned, a task that may run it is refused."""
    why: str = ""

    def describe(self) -> str:
        if self.line:
            return _("{name} ({file} line {line}) could not be followed by the banned-operation scan: {why}",
                     name=self.name, file=self.file, line=self.line, why=self.why)
        return _("{file} could not be read by the banned-operation scan: {why}", file=self.file, why=self.why)


@dataclass(frozen=True)
class Reached(Violation):
    """A name that reaches a banned object or a way around the checks by another spelling: ``written``,
    the name as the submission wrote it; ``reached``, what it is; ``entry``, the ban it falls under
    (for a private name, the module or class whose name it is)."""
    written: str = ""
    reached: str = ""
    entry: str = ""
    private: bool = False

    def describe(self) -> str:
        if self.private:
            return _("{written} is not allowed in a task with banned operations: it goes through {reached}, a "
                     "private name of {entry}, which could reach them unseen ({file} line {line})",
                     written=self.written, reached=self.reached, entry=self.entry, file=self.file, line=self.line)
        said = resolve.said(self)
        if self.escape:
            return said if self.written.startswith(self.name) else \
                _("{said}: {written} reaches {reached}", said=said, written=self.written, reached=self.reached)
        if self.written == self.name == self.entry:
            return said
        return _("{said}: {written} reaches {reached}, banned here as {entry}", said=said, written=self.written,
                 reached=self.reached, entry=self.entry)


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


def _declared(root: ast.AST) -> set[str]:
    """Names declared ``global`` or ``nonlocal`` anywhere in ``root``: bound from afar, never a plain alias."""
    return {n for node in ast.walk(root) if isinstance(node, (ast.Global, ast.Nonlocal)) for n in node.names}


def _chains(assigns: Iterable[ast.stmt], bindings: collections.Counter, declared: set[str]) -> dict[str, ast.Assign]:
    """The simple aliases among ``assigns``: ``name = a.b.c``, the name's one binding in its scope
    (``bindings``: how many times each name is bound there). The name then stands for the chain."""
    found = {}
    for stmt in assigns:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and \
                resolve.dotted(stmt.value) is not None:
            name = stmt.targets[0].id
            if bindings[name] == 1 and name not in declared:
                found[name] = stmt
    return found


def _local_chains(fn: ast.AST) -> dict[str, ast.Assign]:
    """A function's simple aliases (:func:`_chains`), its nested functions' included."""
    bindings: collections.Counter = collections.Counter()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bindings[node.id] += 1
        elif isinstance(node, ast.arg):
            bindings[node.arg] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
            bindings[node.name] += 1
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.update((a.asname or a.name).split(".")[0] for a in node.names)
    return _chains(ast.walk(fn), bindings, _declared(fn))


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
    chains: dict[str, list[str]]  # module-level simple aliases: name -> the dotted name it stands for


@functools.lru_cache(maxsize=256)
def _file_facts(tree: ast.Module, package: str) -> tuple[dict, dict, dict, dict, dict[str, ast.Assign]]:
    """A file's top-level defs, import aliases, own imports, values and simple aliases: read once per
    tree (a tree is parsed once per content, and only read)."""
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    aliases, own = _imports(tree.body, package)
    values = _values(tree.body)
    bindings = collections.Counter({name: len(stmts) for name, stmts in values.items()})
    bindings.update([*defs, *aliases, *own])
    return defs, aliases, own, values, _chains(tree.body, bindings, _declared(tree))


@functools.lru_cache(maxsize=4096)
def _function_facts(fn: ast.AST, package: str) -> tuple[dict, dict, set[str], dict[str, ast.Assign]]:
    """A function's own import aliases and own imports, the names it binds, and its simple aliases."""
    aliases, own = _imports(getattr(fn, "body", []), package)
    return aliases, own, _bound(fn), _local_chains(fn)


Target = str | tuple[str, str | None] | None  # a qualified name; the submission's (module, name); nothing


class _Reads:
    """What reading each module of one folder did, the same for every task: its file, whether it is absent,
    and, in order, the findings of its import-time statements and the modules their reading read in turn.
    A scan that shares it replays a module's reading instead of walking its file again (the findings, and
    their order, are those of a fresh reading)."""

    def __init__(self) -> None:
        self.done: dict[str, tuple[_File | None, bool, list]] = {}


class _Scan:
    """What the code a task runs uses, followed to objects, across the submission's files."""

    def __init__(self, folder: Path, banned: tuple[str, ...], reads: _Reads | None = None,
                 loaded: frozenset[str] = frozenset()):
        self.folder, self.banned, self.package = folder, banned, folder.name
        self.loaded = loaded  # the bans' modules on other libraries imported when this scan began
        self.reads = _Reads() if reads is None else reads
        self.events: list | None = None  # the reading being recorded (:class:`_Reads`)
        self.files: dict[str, _File | None] = {}
        self.absent: set[str] = set()
        self.found: dict[tuple[str, str, int], Violation] = {}
        self.pending: list[tuple[str, str, bool]] = []  # (module, name, whether its banned names count)
        self.aliased: set[int] = set()  # the values of followed aliases: a module there is no value used

    def file(self, module: str) -> _File | None:
        """A module of the submission, read and parsed once; its import-time statements are looked at then.
        None where there is no such file, Python rejects it too, or it cannot be read (that is a finding)."""
        outer = self.events
        if outer is not None:
            outer.append(module)  # read from the reading being recorded, whether or not it is read already
        if module not in self.files and module in self.reads.done:
            self.events = None
            f, absent, events = self.reads.done[module]
            self.files[module] = f
            self.absent.update([module] if absent else [])
            if f is not None:
                self.aliased.update(id(a.value) for a in _file_facts(f.tree, self.package)[4].values())
            for event in events:
                if isinstance(event, str):
                    self.file(event)
                else:
                    self.found.setdefault(*event)
            self.events = outer
        elif module not in self.files:
            self.events = events = []
            self.files[module] = None
            self.read(module)
            self.reads.done[module] = (self.files[module], module in self.absent, events)
            self.events = outer
        return self.files[module]

    def read(self, module: str) -> None:
        shown = f"{module.replace('.', '/')}.py"
        try:
            path = resolve.locate(self.folder, module)
            tree = resolve.parse(path) if path is not None else None
        except resolve.Unreadable as e:
            return self.once((shown, shown, 0), Unscanned(shown, shown, 0, True, str(e)))
        if path is None:
            self.absent.add(module)
        if tree is None:
            return None
        defs, aliases, own, values, chains = _file_facts(tree, self.package)
        self.aliased.update(id(a.value) for a in chains.values())
        f = self.files[module] = _File(module, shown, defs, aliases, own, tree, values,
                                       {n: resolve.dotted(a.value) for n, a in chains.items()})
        self.import_time(f, tree.body)

    def import_time(self, f: _File, body: list[ast.stmt]) -> None:
        """Statements that run when the file is imported: only the escapes are looked for there
        (a module-level alias of an operation banned for one task may serve another)."""
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                for part in [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]:
                    self.walk(f, part, set(), banned=False, follow=False)
                aliases, own = _imports(stmt.body, self.package)  # a class's body runs when it is defined
                self.import_time(replace(f, aliases={**f.aliases, **aliases}, own={**f.own, **own}, chains={}),
                                 stmt.body)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for part in [*stmt.decorator_list, stmt.args, *([stmt.returns] if stmt.returns else [])]:
                    self.walk(f, part, set(), banned=False, follow=False)  # these run at the def
            else:
                self.walk(f, stmt, set(), banned=False, follow=False)

    def once(self, key: tuple[str, str, int], found: Violation) -> None:
        """A finding, the first one under its key kept (and recorded with the reading that found it)."""
        self.found.setdefault(key, found)
        if self.events is not None:
            self.events.append((key, found))

    def add(self, f: _File, found: Violation) -> None:
        self.once((f.shown, found.written if isinstance(found, Reached) else found.name, found.line), found)

    def refuse(self, f: _File, what: str, line: int, why: str) -> None:
        self.once((f.shown, what, line), Unscanned(what, f.shown, line, True, why))

    def judge(self, f: _File, written: str, qual: str, line: int, banned: bool, value: bool) -> bool:
        """A qualified name outside the submission, written as ``written``: a finding where it, or any
        step of it followed through the real modules, is banned (where ``banned``), a way around the
        checks or a private name; and, where ``value``, where it is a module used as a value."""
        parts = qual.split(".")
        entry = matches(qual, self.banned) if banned else None
        if entry is not None:
            self.add(f, Reached(qual, f.shown, line, False, written, qual, entry))
            return True
        escape = matches(qual, ESCAPES)
        if escape is not None:
            self.add(f, Reached(escape, f.shown, line, True, written, escape, escape))
            return True
        where = next((i for i, p in enumerate(parts) if private(p) and (not i or parts[0] in resolve.LIBRARIES)),
                     None)  # a library's internals (the standard library's ways around are :data:`ESCAPES`)
        if where is not None:
            owner = ".".join(parts[:where]) or "the standard library"
            self.add(f, Reached(written, f.shown, line, True, written, ".".join(parts[:where + 1]), owner,
                                private=True))
            return True
        found, obj = resolve.reach(tuple(parts), self.banned if banned else (), banned,  # one entry for every ban
                                   self.loaded if banned else frozenset())
        if found is not None:
            self.add(f, Reached(found.entry if found.kind == "banned" else found.reached, f.shown, line, True,
                                written, found.reached, found.entry, private=found.kind == "private")
                     if found.kind != "banned" else
                     Reached(found.reached, f.shown, line, False, written, found.reached, found.entry))
            return True
        # Only in code a task runs: at import a module bound as a value (a default argument, a table)
        # costs nothing until a task uses the name, and the task's own scan follows that name there.
        if value and banned and resolve.is_module(obj):
            self.refuse(f, written, line, _("it uses the module {module} as a value, and the scan cannot follow a "
                                            "module used as a value (name what you use from it: {written}.<name>)",
                                            module=obj.__name__, written=written))
            return True
        return False

    def need(self, f: _File, module: str, what: str, line: int) -> None:
        """A module of the submission that code in ``f`` imports: read it; one that is not there is a finding."""
        if self.file(module) is None and module in self.absent:
            self.refuse(f, what, line, _("{module}.py is not a file of the assignment", module=module))

    def resolve(self, f: _File, parts: list[str] | None, local: set[str], chains: dict[str, list[str]]) -> Target:
        """What the dotted name ``parts`` in ``f`` stands for: a qualified name outside the submission
        (through import aliases and simple aliases, ``chains`` the local ones, also those of the
        submission's modules it is imported from), the submission's own (module, top-level name, or
        None for the module itself), or None (a value)."""
        seen: set[tuple[str, str]] = set()
        hops = 0
        while parts:
            head, rest = parts[0], parts[1:]
            hops += 1
            if hops > 64:
                return None  # aliases of each other: a NameError when run
            if head in chains:
                parts = [*chains[head], *rest]
                continue
            if head in f.aliases:
                qual = [*f.aliases[head].split("."), *rest]
                if qual[0] != self.package:
                    return ".".join(qual)
                if len(qual) == 1:
                    return None  # the package itself: its __init__.py is read anyway
                module, rest = qual[1], qual[2:]
            elif head in local:
                return None
            elif head in f.chains:
                parts, local, chains = [*f.chains[head], *rest], set(), {}
                continue
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
            f, parts, local, chains = target, rest, set(), {}  # a name the module imports: what it stands for there
        return None

    def reach(self, f: _File, target: Target, what: str, line: int, banned: bool, follow: bool,
              value: bool = False) -> bool:
        """Act on what a name stands for: judge a qualified name; read (and, with ``follow``, queue)
        the submission's code."""
        if isinstance(target, str):
            return self.judge(f, what, target, line, banned, value)
        if target is not None:
            module, name = target
            if module != f.module:
                self.need(f, module, what, line)
            if name is not None and follow:
                self.pending.append((module, name, banned))
        return False

    def follow_import(self, f: _File, node: ast.Import | ast.ImportFrom, banned: bool) -> None:
        """An import in code that runs: the submission's modules it names are read (their import-time
        statements run too); one the scan cannot follow to its end is a finding; a library's name it
        binds is judged like any other."""
        what = ast.unparse(node)
        modules = resolve.own_modules(node, self.package)
        if isinstance(modules, str):
            return self.refuse(f, what, node.lineno, modules)
        for module in modules:
            self.need(f, module, what, node.lineno)
        if isinstance(node, ast.Import):
            named = [a.name for a in node.names if a.name.split(".")[0] != self.package]
        else:
            named = [f"{node.module}.{a.name}" for a in node.names
                     if node.module and not node.level and node.module.split(".")[0] != self.package]
        if not banned:
            return  # at import an import only binds names: what a task or an import-time statement does with them counts
        for qual in named:
            self.judge(f, qual, qual, node.lineno, banned, value=False)

    def run(self, module: str, function: str) -> None:
        self.file("__init__")  # the package's own file runs before any of its modules
        self.pending.append((module, function, True))
        seen: set[tuple[str, str, bool]] = set()
        while self.pending:
            module, name, banned = self.pending.pop()
            f = self.file(module)
            key = (module, name, banned)
            if key in seen or (module, name, True) in seen or f is None:
                continue
            seen.add(key)
            if name in f.defs:
                fn = f.defs[name]
                aliases, own, bound, chains = _function_facts(fn, self.package)
                self.aliased.update(id(a.value) for a in chains.values())
                self.walk(replace(f, aliases={**f.aliases, **aliases}, own={**f.own, **own}), fn, bound,
                          banned, follow=True, chains={n: resolve.dotted(a.value) for n, a in chains.items()})
            for stmt in f.values.get(name, []):  # a value the code uses: the code it names may be called
                self.walk(f, stmt, set(), banned=banned, follow=True)

    def walk(self, f: _File, root: ast.AST, local: set[str], banned: bool, follow: bool,
             chains: dict[str, list[str]] | None = None) -> None:
        """Visit ``root``; ``local``: names bound in it; ``banned``: whether the banned names count (a
        task's own code) or only the escapes; ``follow``: queue the submission's code it names;
        ``chains``: its simple aliases."""
        aliases, chains = f.aliases, chains or {}
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.follow_import(f, node, banned)
                continue
            parts = resolve.dotted(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
            if parts is not None:  # a whole dotted name: each of its steps is judged at once
                for attr in parts[1:]:
                    if attr in ESCAPE_ATTRIBUTES:
                        self.add(f, Violation(attr, f.shown, node.lineno, True))
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id not in aliases:
                    continue  # a name being bound is no use of what it was
                if parts[0] in ESCAPE_BUILTINS | NAMED_BY_STRING and \
                        not any(parts[0] in names for names in (aliases, local, f.own, f.defs, chains)):
                    self.add(f, Violation(parts[0], f.shown, node.lineno, True))
                    continue  # getattr(obj, "name") is taken apart below
                value = isinstance(node.ctx, ast.Load) and id(node) not in self.aliased
                self.reach(f, self.resolve(f, parts, local, chains), ".".join(parts), node.lineno, banned, follow,
                           value)
                continue
            if isinstance(node, ast.Attribute) and node.attr in ESCAPE_ATTRIBUTES:
                self.add(f, Violation(node.attr, f.shown, node.lineno, True))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NAMED_BY_STRING \
                    and node.func.id not in aliases and node.func.id not in local and node.func.id not in chains:
                name = _literal_name(node)
                if name is not None:  # getattr(F, "relu") is F.relu
                    base = resolve.dotted(node.args[0])
                    parts = [*base, name] if base else None
                    if not self.reach(f, self.resolve(f, parts, local, chains), ".".join(parts or [name]),
                                      node.lineno, banned, follow) and name in ESCAPE_ATTRIBUTES:
                        self.add(f, Violation(name, f.shown, node.lineno, True))
                    stack.extend(node.args[1:] if base else node.args)
                    stack.extend(k.value for k in node.keywords)
                    continue
            stack.extend(ast.iter_child_nodes(node))


def scan(path: Path, function: str, banned: Iterable[str], reads: _Reads | None = None) -> list[Violation]:
    """Banned names used by ``function`` in the file ``path``, or by the submission's code it names
    (same file, or another of the assignment's files it imports).

    Where anything is banned, the escapes (:data:`ESCAPES` and the like) are looked for too: in
    that code and in the import-time statements of every file it comes from; and a file or an
    import that cannot be read or followed is an :class:`Unscanned`. Files are named by their path
    in the assignment's folder. ``reads``: shared by the scans of one folder (:func:`scan_all`).
    """
    banned = tuple(banned)
    if not banned:
        return []
    loaded = resolve.loaded_foreign(banned)
    while True:  # a ban on another library is expanded for what is imported: again if the scan imported more
        s = _Scan(path.parent, banned, reads, loaded)
        s.run(path.stem, function)
        now = resolve.loaded_foreign(banned)
        if now == loaded:
            break
        loaded = now
    return sorted(s.found.values(), key=lambda v: (v.file != path.name, v.file, v.line, v.name))


def scan_all(folder: Path, jobs: Iterable[tuple[str, str, Iterable[str]]]) -> list[list[Violation]]:
    """:func:`scan` of each (module, function, banned) in ``folder``, the same findings, each file read once."""
    reads = _Reads()
    return [scan(folder / f"{module}.py", function, banned, reads) for module, function, banned in jobs]
