"""What a dotted name of a submission reaches: evaluated against the real modules, step by step, by identity.

The static scan (:mod:`grader.judge.scan`) resolves a name the submission wrote to a qualified
name outside it (``F.relu`` -> ``torch.nn.functional.relu``); this module follows that name
through the real objects (``torch.nn.init.torch.ops`` is ``torch``, then ``torch.ops``) and says
what each step reaches: a banned object (:func:`grader.sandbox.inside.bans.expand`), a way around
the checks (:data:`ESCAPES`, as objects), or a private name of a library. torch is loaded where
a name is followed (the scan's process), not by importing this module: the sandbox's import-once
step and the grader's wording of a finding (:func:`said`) read it in a process without torch.
numpy, scipy and scikit-learn are imported when a name's root names them; no other module is
imported, and never one of the submission. It also answers, for the scan and for
the sandbox's import-once step alike, which of the submission's modules an import names
(:func:`own_modules`, :func:`local_imports`), and the grader's import rules which of its own
modules each of its files imports: one reader of import statements, :func:`imported_modules`.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.machinery
import inspect
import os
import stat
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader.i18n import _
from grader.sandbox.inside.findings import Violation, matches

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
LIBRARIES = frozenset({"torch", "numpy", "scipy", "sklearn"})  # imported to follow a name: no other module is
# Modules of the escapes written in Python: a function they define is the escape wherever it is re-exported
# (torch._C's and builtins' own functions are every torch operation and ``len``: those go by identity only).
_ESCAPE_SOURCES = tuple(e for e in ESCAPES if e.split(".")[0] != "sys" and e not in
                        ("torch._C", "torch._VF", "builtins", "operator.attrgetter", "operator.methodcaller"))


def private(component: str) -> bool:
    """A leading underscore that is not a dunder: a library's internals, outside what a ban names."""
    return component.startswith("_") and not (component.startswith("__") and component.endswith("__"))


@dataclass(frozen=True)
class Reach:
    """What the first step of a name that matters reaches. ``kind``: "banned", "escape" or "private";
    ``upto``: the name's components up to that step; ``reached``: what it is (a qualified name);
    ``entry``: the ban or escape it falls under (for "private", the module whose private name it is)."""
    kind: str
    upto: tuple[str, ...]
    reached: str
    entry: str


_MISSING = object()


def _root(name: str) -> Any:
    """The module named ``name`` if it is loaded, or one of :data:`LIBRARIES` importable; else ``_MISSING``."""
    module = sys.modules.get(name)
    if module is None and name in LIBRARIES:
        try:
            module = importlib.import_module(name)
        except Exception:  # not installed, or broken: the names alone are judged
            return _MISSING
    return _MISSING if module is None else module


def _step(obj: Any, component: str, library: bool) -> Any:
    """``obj.component`` as Python would find it, without running code of the submission's: a module's
    attribute (a library's submodule imported if need be), a class's attribute, or an instance's
    attribute stored as such; ``_MISSING`` where the real object stops (absent, a property, a value
    computed on access)."""
    if isinstance(obj, types.ModuleType):
        found = obj.__dict__.get(component, _MISSING)
        if found is _MISSING and library:
            try:
                if hasattr(obj, "__path__"):
                    return importlib.import_module(f"{obj.__name__}.{component}")
                if "__getattr__" in obj.__dict__:  # a library's lazy attributes (scipy's submodules)
                    return getattr(obj, component)
            except Exception:
                return _MISSING
        return found
    try:
        found = inspect.getattr_static(obj, component)
    except AttributeError:
        return _MISSING
    if isinstance(obj, type):
        try:
            return getattr(obj, component)  # a library's class: staticmethods unwrapped, as Python does
        except Exception:
            return _MISSING
    if isinstance(found, (property, types.GetSetDescriptorType, types.MemberDescriptorType)):
        return _MISSING
    return found


def loaded_foreign(banned: tuple[str, ...]) -> frozenset[str]:
    """The modules of ``banned``'s entries on other libraries (numpy, scipy, scikit-learn) that this process
    has imported: an expansion holds the objects of those only (importing scipy.optimize to expand a ban
    costs 0.4 s, and a name can reach its objects only once it is imported)."""
    from grader.sandbox.inside import bans
    return frozenset(m for m in bans.foreign_modules(banned) if m in sys.modules)


@functools.lru_cache(maxsize=64)
def _banned_objects(banned: tuple[str, ...], loaded: frozenset[str]) -> dict[int, tuple[Any, str]]:
    """id(obj) -> (obj, entry) for every object a ban covers (its other spellings included), the entries on
    other libraries for the ``loaded`` modules only."""
    from grader.sandbox.inside import bans
    return dict(bans.expand(banned, loaded=loaded).objects)


@functools.lru_cache(maxsize=1)
def _escape_objects() -> dict[int, tuple[Any, str]]:
    """id(obj) -> (obj, its name) for the escapes that are objects rather than modules."""
    import builtins
    import operator
    found: dict[int, tuple[Any, str]] = {}
    for obj, name in [(sys.modules, "sys.modules"), (sys._getframe, "sys._getframe"),
                      (operator.attrgetter, "operator.attrgetter"), (operator.methodcaller, "operator.methodcaller"),
                      *((getattr(builtins, n), n) for n in sorted(ESCAPE_BUILTINS | NAMED_BY_STRING))]:
        found[id(obj)] = (obj, name)
    return found


def _what(obj: Any, written: str) -> str:
    """A qualified name for what ``obj`` is (its module's and its own), else the name as written."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(obj, (types.MethodDescriptorType, types.WrapperDescriptorType)):
        return f"{obj.__objclass__.__module__}.{obj.__objclass__.__qualname__}.{obj.__name__}"
    if module == "torch" and isinstance(name, str) and name.startswith("_VariableFunctionsClass."):
        return f"torch.{obj.__name__}"  # torch's own functions, as torch spells them
    return f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else written


def _judge(obj: Any, banned: dict[int, tuple[Any, str]], written: str) -> tuple[str, str, str] | None:
    """(kind, reached, entry) where ``obj`` is banned or an escape."""
    key = id(obj)
    if key in banned and banned[key][0] is obj:
        return "banned", _what(obj, written), banned[key][1]
    escapes = _escape_objects()
    if key in escapes and escapes[key][0] is obj:
        return "escape", escapes[key][1], escapes[key][1]
    if isinstance(obj, types.ModuleType):
        name = obj.__name__ if isinstance(obj.__name__, str) else "?"
        entry = matches(name, ESCAPES)
        if entry is not None:
            return "escape", name, entry
        if any(private(c) for c in name.split(".")):
            return "private", name, name
        return None
    func = getattr(obj, "__func__", obj)  # a classmethod, bound anew on each access
    if func is not obj and id(func) in banned and banned[id(func)][0] is func:
        return "banned", _what(func, written), banned[id(func)][1]
    module = getattr(func, "__module__", None)
    if isinstance(module, str) and callable(func):
        entry = matches(module, _ESCAPE_SOURCES)
        if entry is not None:
            return "escape", _what(func, written), entry
    return None


@functools.lru_cache(maxsize=4096)
def reach(parts: tuple[str, ...], banned: tuple[str, ...], with_bans: bool,
          loaded: frozenset[str] = frozenset()) -> tuple[Reach | None, Any]:
    """Follow the qualified name ``parts`` (outside the submission) through the real objects: the first
    step that reaches a banned object (where ``with_bans``; the entries on other libraries as expanded for
    their ``loaded`` modules: :func:`loaded_foreign`), an escape or a private name, and the object the
    whole name reaches (``_MISSING`` where the real objects stop before its end)."""
    objects = _banned_objects(banned, loaded) if with_bans and banned else {}
    obj = _root(parts[0])
    library = parts[0] in LIBRARIES
    if obj is _MISSING:
        return None, _MISSING
    for i in range(len(parts)):
        if i:
            if private(parts[i]) and library and isinstance(obj, (types.ModuleType, type)):
                owner = obj.__name__ if isinstance(obj, types.ModuleType) else _what(obj, ".".join(parts[:i]))
                return Reach("private", parts[:i + 1], ".".join(parts[:i + 1]), owner), _MISSING
            if parts[i].startswith("__"):
                return None, _MISSING  # a dunder: what it does is the scan's to judge
            obj = _step(obj, parts[i], library)
            if obj is _MISSING:
                return None, _MISSING
        verdict = _judge(obj, objects, ".".join(parts[:i + 1]))
        if verdict is not None:
            return Reach(verdict[0], parts[:i + 1], verdict[1], verdict[2]), obj
    return None, obj


def dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def is_module(obj: Any) -> bool:
    return isinstance(obj, types.ModuleType)


def said(v: Violation) -> str:
    """A finding of the banned-operation checks, the scan's or the run-time guard's, in the reader's language
    (:meth:`Violation.describe` is the child's own English, which cannot read the catalogues)."""
    if v.escape:
        return _("{name} is not allowed in a task with banned operations: it could reach them unseen ({file} line "
                 "{line})", name=v.name, file=v.file, line=v.line)
    return _("banned operation {name} ({file} line {line})", name=v.name, file=v.file, line=v.line)


class Unreadable(Exception):
    """Why a module of the submission cannot be read as Python would import it."""


def locate(folder: Path, module: str) -> Path | None:
    """The file Python imports for the submission's ``module``: None where there is none; raises
    :class:`Unreadable` where what it would import is not one regular .py file of the folder."""
    if "." in module or "/" in module:
        raise Unreadable(_("it is in a sub-folder, and the scan follows only the assignment's top-level files"))
    if os.path.isdir(folder / module) and not os.path.islink(folder / module):
        raise Unreadable(_("there is a folder {module}/, which Python would import in its place", module=module))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:  # looked for before .py
        if os.path.lexists(folder / f"{module}{suffix}"):
            raise Unreadable(_("there is compiled code, {file}, which Python would import in its place",
                               file=f"{module}{suffix}"))
    path = folder / f"{module}.py"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise Unreadable(_("it cannot be looked at ({why})", why=e.strerror or e)) from None
    if not stat.S_ISREG(mode):
        raise Unreadable(_("it is not a regular file (a link, a folder or a device), and the sandbox leaves it out"))
    return path


def parse(path: Path) -> ast.Module | None:
    """``path`` parsed from its bytes, as the import compiles it (its BOM or coding line honoured, a
    comment in any encoding ignored, as Python's tokenizer does): None where Python rejects it too
    (importing it fails its tasks, with Python's own message); raises :class:`Unreadable` where the
    scan cannot vouch for what Python would run."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Unreadable(_("it cannot be opened ({why})", why=e.strerror or e)) from None
    try:
        return _parsed(data, path.name)
    except SyntaxError:
        return None
    except (RecursionError, MemoryError):
        raise Unreadable(_("it is nested too deeply for the scan to parse")) from None
    except ValueError as e:
        raise Unreadable(str(e)) from None


def parse_or_none(path: Path) -> ast.Module | None:
    """``path``'s tree (shared with the scan's cache), or None where it cannot be read or parsed."""
    try:
        return parse(path)
    except Unreadable:
        return None


# CPython 3.11's parser keeps its recursion depth in shared state: two threads parsing at once (a
# grading of several assignments with --jobs) can fail with "AST constructor recursion depth mismatch".
_PARSING = threading.Lock()


@functools.lru_cache(maxsize=256)
def _parsed(data: bytes, name: str) -> ast.Module:
    """A file's tree, parsed once per content: every task of an assignment scans the same files (the
    trees are only read)."""
    with _PARSING:
        return ast.parse(data, name)  # bytes: the BOM or coding line decides the encoding, as on import


# Which of the submission's modules an import names: one answer for the scan and the sandbox.

def imported_modules(node: ast.Import | ast.ImportFrom, package: str,
                     is_module: Callable[[str], bool]) -> list[str] | str:
    """The modules an import statement names, qualified, or why it cannot be followed (a star import, a
    relative import from above the top of ``package``). ``package``: the package of the importing file
    (relative imports are resolved against it); ``is_module``: whether a qualified name is a module, since
    ``from a import b`` names the module ``a.b`` where there is one and else ``a`` (b is a name in it).

    The one reader of imports: the scan and the sandbox's import-once step ask it which of a submission's
    modules a file imports (:func:`own_modules`), and the import rules of the grader's own floors ask it
    which of the grader's modules each of its files imports."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if any(a.name == "*" for a in node.names):
        return "a star import hides which names it brings in"
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        if node.level > len(parts):
            return "it reaches outside the assignment's folder"
        base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
    return [f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base for a in node.names]


def own_modules(node: ast.Import | ast.ImportFrom, package: str) -> list[str] | str:
    """The submission's top-level modules that ``node`` imports (``package``: the assignment's folder
    name, whose files are its modules), or why it cannot be followed: a star import, a relative import
    from above the folder."""
    found = imported_modules(node, package, lambda name: name.count(".") == 1)
    if isinstance(found, str):
        return found
    return [name[len(package) + 1:] for name in found if name.startswith(package + ".")]


def local_imports(folder: Path, module: str, parse: Callable[[Path], ast.Module | None]) -> list[str]:
    """``module`` and the assignment's modules it imports, directly or not, those first (read, not run).

    ``parse``: a file's tree, or None where it cannot be read (importing it raises, and each task
    says so). A module named that is not a file of the folder is left out.
    """
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        tree = parse(folder / f"{name}.py")
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found = own_modules(node, folder.name)
                for dep in found if isinstance(found, list) else ():
                    if (folder / f"{dep.split('.')[0]}.py").is_file():
                        visit(dep.split(".")[0])
        order.append(name)

    visit(module)
    return order
