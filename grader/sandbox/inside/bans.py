"""What a banned entry of course.yaml covers: the operation it names, in every spelling, as objects.

A ban names an operation, not a spelling. ``torch.relu`` covers every public callable that computes
the same aten operation (``torch.relu_``, ``Tensor.relu``/``relu_``, ``torch.nn.functional.relu``,
an alias in ``torch.special``, the ``torch.ops.aten`` overloads), found from torch's own registry:
each callable is run once on small probe tensors under a dispatch mode, which shows the aten
operations it reaches (composite aliases such as ``torch.special.expit`` decompose to
``aten.sigmoid`` there). A module entry (``torch.autograd``, ``torch.nn.grad.*``) covers the module,
its submodules and every public function or class they export, by identity. numpy, scipy and
scikit-learn entries resolve to their objects (their package is imported only when an entry names
it). Shared by the static scan (in the grader) and the run-time guard (in the sandboxed child):
standard library and torch only.
"""
from __future__ import annotations

import functools
import importlib
import sys
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch
from torch.utils._python_dispatch import TorchDispatchMode

AUTOGRAD_ENTRIES = ("torch.autograd", "torch.func", "torch.Tensor.backward")
EXEMPT = (torch.no_grad,)  # lives in torch.autograd but can only switch autograd off

# Namespaces whose public callables are operations: where the other spellings of one are looked for.
OPERATION_NAMESPACES = (("torch", torch), ("torch.Tensor", torch.Tensor), ("torch.nn.functional", torch.nn.functional),
                        ("torch.special", torch.special), ("torch.linalg", torch.linalg), ("torch.fft", torch.fft))
# Of those, the ones free of global side effects whose every callable may be an alias under another
# name (torch.special.expit); in torch, Tensor and torch.fft only same-named callables are probed.
PROBED_WHOLE = ("torch.nn.functional", "torch.special", "torch.linalg")
# aten operations that move, shape or allocate data without computing: never what a ban is about.
PLUMBING = frozenset({"to", "_to_copy", "copy", "empty", "empty_like", "empty_strided", "clone", "detach", "alias",
                      "view", "_unsafe_view", "reshape", "expand", "t", "transpose", "contiguous", "lift_fresh",
                      "zeros_like", "ones_like", "zeros", "ones", "fill", "zero", "resize", "as_strided", "select",
                      "slice", "unsqueeze", "squeeze", "permute", "scalar_tensor", "_local_scalar_dense", "item",
                      "full", "full_like", "new_empty", "new_zeros", "new_ones", "split", "unbind"})


@dataclass(frozen=True)
class Expansion:
    entries: tuple[str, ...]                    # as course.yaml wrote them
    names: frozenset[str]                       # every qualified spelling the ban covers
    objects: Mapping[int, tuple[object, str]]   # id(obj) -> (obj, the entry it falls under); holds the objects alive
    aten: frozenset[str]                        # the aten operations (base names: "relu", "_softmax") covered
    autograd: bool                              # torch.autograd, torch.func or torch.Tensor.backward is banned
    by_entry: Mapping[str, frozenset[str]] = field(default_factory=dict)  # entry -> the names it covers itself

    def grouped(self) -> dict[str, list[str]]:
        """entry -> the qualified names it covers, sorted (what ``grader validate --explain`` shows)."""
        return {entry: sorted(self.by_entry.get(entry, ())) for entry in self.entries}


def describe(expansion: Expansion, indent: str = "  ") -> list[str]:
    """Lines saying what each entry covers: its names grouped by where they live, and its aten operations."""
    lines = []
    for entry, names in expansion.grouped().items():
        aten = sorted({n.split(".")[3] for n in names if n.startswith("torch.ops.aten.")})
        lines.append(f"{indent}{entry}: {len(names)} names" + (f"; aten: {', '.join(aten)}" if aten else ""))
        groups: dict[str, list[str]] = {}
        for name in names:
            if name.startswith("torch.ops.aten."):
                holder, attr = "torch.ops.aten", name[len("torch.ops.aten."):]
            else:
                holder, _, attr = name.rpartition(".")
            groups.setdefault(holder or name, []).append(attr)
        for holder, attrs in sorted(groups.items()):
            lines.append(f"{indent}  {holder}: {', '.join(sorted(a for a in attrs if a))}")
    if expansion.autograd:
        lines.append(f"{indent}autograd: detected by behaviour (grad mode, graph recording, graph nodes)")
    return lines


def explain(tasks: Iterable[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Per (task id, banned entries), what the entries cover (``grader validate --explain``); a task
    whose list is an earlier one's says so."""
    lines: list[str] = []
    seen: dict[tuple[str, ...], str] = {}
    for task, banned in tasks:
        if not banned:
            lines.append(f"{task}: nothing banned")
        elif banned in seen:
            lines.append(f"{task}: as {seen[banned]}")
        else:
            seen[banned] = task
            lines += [f"{task}:"] + describe(expand(banned))
    return lines


def banned_entry(obj: object, expansion: Expansion) -> str | None:
    """The entry ``obj`` falls under, by identity; None where it is not banned."""
    hit = expansion.objects.get(id(obj))
    return hit[1] if hit is not None and hit[0] is obj else None


def base(entry: str) -> str:
    return entry[:-2] if entry.endswith(".*") else entry


def resolve(name: str) -> Any:
    """The object a qualified name reaches: the longest importable module prefix, then attributes.
    Raises LookupError where it reaches nothing."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = sys.modules.get(module_name) or importlib.import_module(module_name)
        except Exception:  # noqa: BLE001  (not a module: try a shorter prefix)
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            raise LookupError(f"{name} names nothing ({module_name} has no {'.'.join(parts[cut:])})") from None
        return obj
    raise LookupError(f"{name} names nothing (no module {parts[0]})")


def _normal(name: str) -> str:
    """An operation's name without the in-place/private marks and namespace prefixes: relu_ -> relu."""
    name = name.strip("_")
    for prefix in ("special_", "linalg_", "fft_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


class _Recorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # else torch wraps __torch_dispatch__ in a guard whose first call imports torch._dynamo (1 s)

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func._opname)
        return func(*args, **(kwargs or {}))


def _probes() -> list[tuple]:
    x, m, i = torch.rand(2, 3), torch.rand(3, 3) + 3 * torch.eye(3), torch.rand(1, 1, 4, 4)
    return [(x,), (x, -1), (x, (3,)), (x, x), (m,), (i,), (i, 2), (i, torch.rand(1, 1, 3, 3))]


def _aten_of_packet(name: str) -> str | None:
    """``name`` where torch.ops.aten has an operation of that name."""
    try:
        return name if torch._C._dispatch_has_kernel(f"aten::{name}") else None
    except Exception:  # noqa: BLE001
        return None


def _composite_packet(name: str) -> str | None:
    """``name`` where torch.ops.aten has an operation of that name that only decomposes into others
    (``log_softmax`` into ``_log_softmax``): then it is another spelling of what was traced. An
    operation of that name with a kernel of its own is a different operation that merely shares the
    name (``F.unfold`` computes ``im2col``; ``aten::unfold`` is ``Tensor.unfold``'s view)."""
    packet = _aten_of_packet(name)
    if packet is None:
        return None
    try:
        overloads = getattr(torch.ops.aten, packet).overloads()
        composite = [torch._C._dispatch_has_kernel_for_dispatch_key(
            f"aten::{packet}" + ("" if o == "default" else f".{o}"), "CompositeImplicitAutograd") for o in overloads]
    except Exception:  # noqa: BLE001  (an operation torch cannot describe: not counted as an alias)
        return None
    return packet if any(composite) else None


@functools.lru_cache(maxsize=None)
def _operations(obj: Any, name: str) -> frozenset[str]:
    """The aten operations (base names) that calling ``obj`` (spelled ``...name``) computes.

    The first probe it accepts decides. Of what it reached, the operation of its own name where
    there is one; else its one computing operation; a callable that decomposes into several
    (dropout) stands for the aten operation of its own name only, never for its parts."""
    own = _normal(name)
    for args in _probes():
        recorder = _Recorder()
        try:
            with warnings.catch_warnings(), torch.no_grad(), recorder:
                warnings.simplefilter("ignore")
                obj(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
        except Exception:  # noqa: BLE001  (not this probe's shape or arity)
            continue
        reached = {op[:-1] if op.endswith("_") and not op.endswith("__") else op for op in recorder.ops}
        computing = {op for op in reached if _normal(op) not in PLUMBING}
        named = {op for op in computing if _normal(op) == own}
        if named:
            return frozenset(named)
        if len(computing) == 1:
            return frozenset(computing) | frozenset(filter(None, [_composite_packet(name)]))
        break
    packet = _aten_of_packet(name)
    return frozenset([packet]) if packet and _normal(packet) not in PLUMBING else frozenset()


def _public_callables(holder: Any) -> Iterable[tuple[str, Any]]:
    for attr in dir(holder):  # dir, not vars: Tensor's methods live on its C base class
        value = getattr(holder, attr, None) if not attr.startswith("_") else None
        if value is None or isinstance(value, (types.ModuleType, type)) or isinstance(value, property):
            continue
        home = getattr(value, "__module__", None)
        if home is not None and not _inside(home, "torch"):
            continue  # typing helpers and the like that a namespace merely imports
        if callable(value):
            yield attr, value


@functools.lru_cache(maxsize=None)
def _operation_index() -> dict[str, list[tuple[str, Any]]]:
    """normalised name -> (qualified name, callable) of every public callable of the operation namespaces."""
    index: dict[str, list[tuple[str, Any]]] = {}
    for prefix, holder in OPERATION_NAMESPACES:
        for attr, value in _public_callables(holder):
            index.setdefault(_normal(attr), []).append((f"{prefix}.{attr}", value))
    return index


def _spellings(aten: frozenset[str], own: str) -> list[tuple[str, Any]]:
    """Every public callable of the operation namespaces that computes one of ``aten``, with its name."""
    index = _operation_index()
    keys = {_normal(op) for op in aten} | {own}
    candidates = [pair for key in keys for pair in index.get(key, [])]
    candidates += [pair for pair in _whole() if _may_compute(pair[1], keys)]
    seen, out = set(), []
    for qualified, value in candidates:
        if qualified in seen:
            continue
        seen.add(qualified)
        if _operations(value, qualified.rsplit(".", 1)[1]) & aten:
            out.append((qualified, value))
    return out


@functools.lru_cache(maxsize=None)
def _whole() -> tuple[tuple[str, Any], ...]:
    return tuple(pair for pairs in _operation_index().values() for pair in pairs
                 if pair[0].rsplit(".", 1)[0] in PROBED_WHOLE)


def _may_compute(value: Any, keys: set[str]) -> bool:
    """Whether ``value`` may compute one of the operations named ``keys`` (normalised), judged without
    running it where that is certain: a built-in with a kernel of its own computes its own aten
    operation; a Python function computes only what its code names. Anything else is probed."""
    if isinstance(value, types.BuiltinFunctionType):
        name = value.__name__
        try:
            own_kernel = torch._C._dispatch_has_kernel(f"aten::{name}") and not \
                torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{name}", "CompositeImplicitAutograd")
        except Exception:  # noqa: BLE001
            own_kernel = False
        return _normal(name) in keys if own_kernel else True
    code = getattr(value, "__code__", None)
    if code is None:
        return True
    return bool(_code_names(code) & keys)


@functools.lru_cache(maxsize=None)
def _code_names(code: Any) -> frozenset[str]:
    """Every name a function's code (nested functions included) looks up, normalised."""
    names = {_normal(n) for n in code.co_names}
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return frozenset(names)


def _aten_objects(aten: frozenset[str]) -> list[tuple[str, Any]]:
    """torch.ops.aten's packets and overloads of ``aten``, in-place forms included."""
    out = []
    for op in aten:
        for variant in (op, op + "_"):
            if not _aten_of_packet(variant):
                continue
            packet = getattr(torch.ops.aten, variant)
            out.append((f"torch.ops.aten.{variant}", packet))
            for overload in packet.overloads():
                out.append((f"torch.ops.aten.{variant}.{overload}", getattr(packet, overload)))
    return out


def _inside(module_name: str | None, root: str) -> bool:
    return bool(module_name) and (module_name == root or module_name.startswith(root + "."))


@functools.lru_cache(maxsize=None)
def _module_members(root: str, module: types.ModuleType) -> list[tuple[str, Any]]:
    """The module, its submodules and every public function or class they export that is theirs:
    defined in them, in one of the package's private modules, or a built-in torch operation
    (``torch.nn.functional.conv2d`` is ``torch.conv2d``). Types, typing helpers and torch.Tensor that
    a module merely imports are not part of it."""
    modules = [(root, module)] + sorted((name, m) for name, m in list(sys.modules.items())
                                        if isinstance(m, types.ModuleType) and name.startswith(root + "."))
    out: list[tuple[str, Any]] = [(name, m) for name, m in modules]
    top = root.split(".")[0]
    for name, m in modules:
        for attr, value in list(vars(m).items()):
            if attr.startswith("_") or isinstance(value, types.ModuleType) or not callable(value):
                continue
            home = getattr(value, "__module__", None)
            if _inside(home, root) or _inside(home, f"{top}._") or home is not None and home.startswith(f"{top}._") \
                    or isinstance(value, types.BuiltinFunctionType) and _inside(home, top):
                out.append((f"{name}.{attr}", value))
    return out


def _other_spellings(name: str, obj: Any) -> list[str]:
    """Where else in its (imported) package an object is exported: scipy's private ``_lsap`` module, ..."""
    top = name.split(".")[0]
    out = []
    for module_name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or not _inside(module_name, top):
            continue
        out += [f"{module_name}.{attr}" for attr, value in list(vars(module).items()) if value is obj]
    return sorted(out)


@functools.lru_cache(maxsize=None)
def _expand(entries: tuple[str, ...], imported: frozenset[str] | None) -> Expansion:
    names: dict[str, str] = {}
    objects: dict[int, tuple[object, str]] = {}
    aten: set[str] = set()
    by_entry: dict[str, set[str]] = {entry: set() for entry in entries}

    def add(name: str, obj: Any, entry: str) -> None:
        names.setdefault(name, entry)
        by_entry[entry].add(name)
        if obj is not None and not any(obj is e for e in EXEMPT):
            objects.setdefault(id(obj), (obj, entry))

    for entry in entries:
        name = base(entry)
        add(name, None, entry)
        if imported is not None and not name.startswith("torch") and name.rsplit(".", 1)[0] not in imported:
            continue  # not imported yet: by name until it is
        try:
            obj = resolve(name)
        except LookupError:
            continue  # matched by name only (course.yaml's own validation says where an entry names nothing)
        if isinstance(obj, types.ModuleType) or entry.endswith(".*"):
            for qualified, member in (_module_members(name, obj) if isinstance(obj, types.ModuleType)
                                      else [(name, obj)]):
                add(qualified, member, entry)
            continue
        add(name, obj, entry)
        if not name.startswith("torch."):
            for qualified in _other_spellings(name, obj):
                add(qualified, obj, entry)
            continue
        if isinstance(obj, type) or any(name == a or name.startswith(a + ".") for a in AUTOGRAD_ENTRIES):
            continue  # a class, or autograd (judged by behaviour, not by an operation): itself only
        found = _operations(obj, name.rsplit(".", 1)[1])
        aten |= found
        for qualified, value in _spellings(frozenset(found), _normal(name.rsplit(".", 1)[1])) if found else ():
            add(qualified, value, entry)
        for qualified, value in _aten_objects(frozenset(found)):
            add(qualified, value, entry)
    autograd = any(base(e) == a or base(e).startswith(a + ".") for e in entries for a in AUTOGRAD_ENTRIES)
    return Expansion(entries, frozenset(names), types.MappingProxyType(objects), frozenset(aten), autograd,
                     types.MappingProxyType({entry: frozenset(covered) for entry, covered in by_entry.items()}))


def expand(banned: Iterable[str], imported_only: bool = False,
           loaded: frozenset[str] | None = None) -> Expansion:
    """What ``banned`` (course.yaml's entries for one task) covers; computed once per process per list.

    ``imported_only``: a non-torch entry (numpy, scipy, scikit-learn) is resolved only where its module
    is already imported (importing scipy.optimize costs a grading 0.4 s): the sandboxed child looks
    again, with a fresh expansion, once the module is there (:func:`foreign_modules`). ``loaded``: the
    same, for these modules of :func:`foreign_modules` (those the caller found imported)."""
    entries = tuple(banned)
    if loaded is not None:
        return _expand(entries, loaded)
    if not imported_only:
        return _expand(entries, None)
    return _expand(entries, frozenset(m for m in foreign_modules(entries) if m in sys.modules))


def foreign_modules(entries: Iterable[str]) -> list[str]:
    """The module each non-torch entry lives in (``scipy.optimize`` for ``scipy.optimize.linear_sum_assignment``)."""
    return [base(e).rsplit(".", 1)[0] for e in entries if not base(e).startswith("torch") and "." in base(e)]
