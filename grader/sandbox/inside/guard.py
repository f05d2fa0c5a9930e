"""The run-time half of the banned-operation check: a torch function mode in the sandboxed child, and tripwires.

The mode sees every torch call made while a task runs and blames the innermost line of the
submission on the stack; calls the grader's own drivers make are not the student's. A call is
banned when its function is, by identity, one the task's banned entries expand to
(:mod:`grader.sandbox.inside.bans`: every spelling of the operation), or by its resolved name.
Where autograd is banned the task runs under ``torch.inference_mode()`` and autograd is judged
by what the code does, however it is spelled: switching grad or autograd recording back on,
asking for gradients, reading a graph's nodes; behind the mode, a saved-tensors hook fires
whenever any operation records a node for autograd, and :func:`install_tripwires` wraps
torch's private switches of these checks. numpy, scipy and scikit-learn objects that are
banned are replaced, wherever a module holds them, by wrappers that report their use
(:func:`wrap_foreign`). A finding is a :class:`grader.sandbox.inside.findings.Violation`, as the
static scan's (:mod:`grader.judge.scan`) is. Runs inside the sandbox: standard library and torch only.
"""
from __future__ import annotations

import functools
import sys
import types
from typing import Any, Iterable

import torch
from torch.overrides import TorchFunctionMode, resolve_name

from grader.sandbox.inside import bans
from grader.sandbox.inside.findings import Violation, matches


_NAMES: dict[Any, str] = {}  # torch function -> its qualified name: resolving it is the guard's main cost


def runtime_name(func: Any) -> str:
    try:
        return _NAMES[func]
    except (KeyError, TypeError):  # not seen yet, or not hashable
        pass
    name = resolve_name(func) or \
        f"{getattr(func, '__module__', None) or '?'}.{getattr(func, '__qualname__', repr(func))}"
    try:
        _NAMES[func] = name
    except TypeError:
        pass
    return name


_TENSOR = torch._C.TensorBase.__dict__
_GRAD_FN, _REQUIRES_GRAD = _TENSOR["grad_fn"], _TENSOR["requires_grad"]
# Tensor methods that ask autograd for something: banned outright where autograd is.
_AUTOGRAD_METHODS = {id(f): (f, name) for name, f in (
    (name, getattr(torch.Tensor, name)) for name in ("backward", "register_hook", "retain_grad", "retains_grad",
                                                     "register_post_accumulate_grad_hook", "_backward_hooks"))
    if callable(f)}
# Calls that switch autograd on when their first argument (default True) is.
_SWITCHES = {id(f): (f, name) for f, name in ((torch.Tensor.requires_grad_, "torch.Tensor.requires_grad_"),
                                              (torch._C._set_grad_enabled, "torch.set_grad_enabled"))}

_CLASS_CODE: dict[int, dict[Any, str]] = {}  # id(expansion) -> code object -> banned class it belongs to


def _class_code(expansion: bans.Expansion) -> dict[Any, str]:
    """The code of every method of the banned torch classes (and of their torch.nn bases short of
    ``nn.Module`` itself): a torch call these make runs the banned class, however it was reached."""
    found = _CLASS_CODE.get(id(expansion))
    if found is not None:
        return found
    found = {}
    shared = {getattr(getattr(v, "__func__", v), "__code__", None) for v in vars(torch.nn.Module).values()}
    for obj, entry in expansion.objects.values():
        if not isinstance(obj, type) or not issubclass(obj, torch.nn.Module):
            continue
        for klass in obj.__mro__:
            if klass is torch.nn.Module or not klass.__module__.startswith("torch.nn"):
                continue
            for value in vars(klass).values():
                value = getattr(value, "__func__", value)
                code = getattr(value, "__code__", None)
                if code is not None and code not in shared:
                    found.setdefault(code, entry)
    _CLASS_CODE[id(expansion)] = found
    return found


def _switched_on(name: str, args: tuple, kwargs: dict) -> bool:
    if name == "torch.Tensor.requires_grad_":  # (tensor, requires_grad=True)
        return bool(args[1] if len(args) > 1 else kwargs.get("requires_grad", True))
    return bool(args[0] if args else kwargs.get("mode", False))  # torch._C._set_grad_enabled(mode)


ACTIVE: Guard | None = None  # the guard of the task that is running, for the tripwires and wrappers


class Guard(TorchFunctionMode):
    """Records the first banned torch call made from the submission's code while it is active."""

    def __init__(self, banned: Iterable[str], submission_root: str, imported_only: bool = False):
        super().__init__()
        self.expansion = bans.expand(banned, imported_only)
        self.banned = self.expansion.entries  # not ESCAPES: torch's own code calls torch._C under the student's line
        self.autograd = self.expansion.autograd
        self.root = submission_root.rstrip("/") + "/"
        self.violation: Violation | None = None
        self.inference = False  # whether the task started under inference mode (what the autograd checks rely on)
        self.grad_off = False   # and with grad mode off
        self._verdicts: dict[Any, str | None] = {}
        self.class_code = _class_code(self.expansion)

    def student_line(self, depth: int = 2, direct: bool = False) -> tuple[str, int] | None:
        """The innermost line of the submission on the stack (``direct``: only if it is the caller)."""
        frame = sys._getframe(depth)
        while frame is not None:
            file = frame.f_code.co_filename
            if file.startswith(self.root):
                rel = file[len(self.root):].split("/", 1)[-1]
                return rel, frame.f_lineno
            if direct:
                return None
            frame = frame.f_back
        return None

    def flag(self, name: str, depth: int = 3, escape: bool = False, direct: bool = False) -> None:
        if self.violation is None:
            where = self.student_line(depth, direct)
            if where is not None:
                self.violation = Violation(name, *where, escape=escape)

    def __enter__(self):
        global ACTIVE
        self.inference = torch.is_inference_mode_enabled()
        self.grad_off = not torch.is_grad_enabled()
        ACTIVE = self
        return super().__enter__()

    def __exit__(self, *exc):
        global ACTIVE
        ACTIVE = None
        return super().__exit__(*exc)

    def verdict(self, func: Any) -> str | None:
        """The banned name ``func`` is, or None: by identity, then by its resolved name."""
        try:
            return self._verdicts[func]
        except (KeyError, TypeError):
            pass
        entry = bans.banned_entry(func, self.expansion)
        name = runtime_name(func)
        found = None
        if entry is not None or name in self.expansion.names or matches(name, self.banned) is not None:
            found = entry if name.startswith("?") else name
        try:
            self._verdicts[func] = found
        except TypeError:
            pass
        return found

    def autograd_use(self, func: Any, args: tuple, kwargs: dict | None) -> str | None:
        """What autograd ``func`` asks for, where autograd is banned; None for an ordinary call."""
        if self.inference and not torch.is_inference_mode_enabled():
            return "leaving torch.inference_mode (autograd)"
        if self.grad_off and torch.is_grad_enabled():
            return "torch.enable_grad (autograd)"
        hit = _AUTOGRAD_METHODS.get(id(func))
        if hit is not None and hit[0] is func:
            return f"torch.Tensor.{hit[1]} (autograd)"
        hit = _SWITCHES.get(id(func))
        if hit is not None and hit[0] is func and _switched_on(hit[1], args, kwargs or {}):
            return f"{hit[1]} (autograd)"
        holder = getattr(func, "__self__", None)
        if holder is _GRAD_FN:
            return "torch.Tensor.grad_fn (autograd's graph)"
        if holder is _REQUIRES_GRAD and getattr(func, "__name__", "") == "__set__" and len(args) > 1 and args[1]:
            return "torch.Tensor.requires_grad = True (autograd)"
        if kwargs and kwargs.get("requires_grad"):
            return f"{runtime_name(func)}(requires_grad=True) (autograd)"
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if self.violation is None:
            name = self.verdict(func)
            if name is None and self.class_code:  # a banned class's own code making the call (nn.Tanh.forward)
                name = self.class_code.get(sys._getframe(1).f_code)
            if name is None and self.autograd:
                name = self.autograd_use(func, args, kwargs)
            if name is not None:
                where = self.student_line()
                if where is not None:
                    self.violation = Violation(name, *where)
        return func(*args, **(kwargs or {}))

    def still_active(self) -> bool:
        from torch.overrides import _get_current_function_mode_stack
        return any(m is self for m in _get_current_function_mode_stack())


# torch's private switches of the checks above. A call whose direct caller is the submission is a
# violation (torch's own code uses some of them); those in ALWAYS are one whoever calls them
# while a task with autograd banned runs (with their argument, where it matters).
TRIPWIRES = {
    "torch._C": ("DisableTorchFunction", "DisableTorchFunctionSubclass", "_EnableTorchFunction",
                 "_pop_torch_function_stack", "_push_on_torch_function_stack", "_set_torch_function_state",
                 "_set_skip_next_torch_function", "_skip_one_hop_torch_function", "_InferenceMode",
                 "_set_grad_enabled", "_set_fwd_grad_enabled", "_IncludeDispatchKeyGuard", "_ExcludeDispatchKeyGuard",
                 "ExcludeDispatchKeyGuard", "_ForceDispatchKeyGuard", "_SetExcludeDispatchKeyGuard",
                 "_set_dispatch_mode", "_unset_dispatch_mode", "_PreserveDispatchKeyGuard"),
    "torch._C._autograd": ("_push_saved_tensors_default_hooks", "_pop_saved_tensors_default_hooks",
                           "_saved_tensors_hooks_disable", "_saved_tensors_hooks_enable"),
}
ALWAYS = {"_InferenceMode": lambda a, k: not (a[0] if a else k.get("mode", True)),
          "_set_grad_enabled": lambda a, k: bool(a[0] if a else k.get("mode", False)),
          "_set_fwd_grad_enabled": lambda a, k: bool(a[0] if a else True),
          "_push_saved_tensors_default_hooks": lambda a, k: True,
          "_pop_saved_tensors_default_hooks": lambda a, k: True,
          "_saved_tensors_hooks_disable": lambda a, k: True}
_ORIGINALS: dict[str, Any] = {}


def _tripwire(qualified: str, original: Any) -> Any:
    attr = qualified.rsplit(".", 1)[1]
    always = ALWAYS.get(attr)

    @functools.wraps(original)
    def tripwire(*args, **kwargs):
        guard = ACTIVE
        if guard is not None:
            if always is not None and guard.autograd and always(args, kwargs):
                guard.flag(qualified, escape=True)
            else:
                guard.flag(qualified, escape=True, direct=True)
        return original(*args, **kwargs)
    tripwire.__wrapped_original__ = original  # type: ignore[attr-defined]
    return tripwire


TRIPWIRE_HOLDERS = (torch._C, torch._C._autograd)


def install_tripwires() -> None:
    """Replace torch's private switches by tripwires, once per process."""
    for module_name, attrs in TRIPWIRES.items():
        holder = torch._C if module_name == "torch._C" else torch._C._autograd
        for attr in attrs:
            qualified = f"{module_name}.{attr}"
            original = getattr(holder, attr, None)
            if original is None or qualified in _ORIGINALS:
                continue
            _ORIGINALS[qualified] = original
            setattr(holder, attr, _tripwire(qualified, original))


def push_saved_tensors() -> None:
    """Put the saved-tensors tripwire on (the grader's own call, not a task's)."""
    _ORIGINALS["torch._C._autograd._push_saved_tensors_default_hooks"](_packed, _unpacked)


def pop_saved_tensors() -> None:
    _ORIGINALS["torch._C._autograd._pop_saved_tensors_default_hooks"]()


def saved_tensors_hook_on() -> bool:
    top = torch._C._autograd._top_saved_tensors_default_hooks(False)
    return bool(top) and top[0] is _packed


def _packed(tensor: torch.Tensor) -> torch.Tensor:
    """Called by autograd whenever an operation records a node that saves a tensor: a graph is being built."""
    guard = ACTIVE
    if guard is not None and guard.autograd:
        guard.flag("an operation recorded for autograd", depth=3)
    return tensor


def _unpacked(tensor: torch.Tensor) -> torch.Tensor:
    return tensor


_WRAPPED: dict[int, Any] = {}   # id(original banned object) -> its wrapper
_SEEN_MODULES: set[str] = set()


_FOREIGN: dict[int, list[tuple[Any, str]]] = {}  # id(expansion) -> its banned non-torch callables


def wrap_foreign(expansion: bans.Expansion) -> None:
    """Replace every banned non-torch object (numpy, scipy, scikit-learn) wherever a module holds it,
    the submission's own modules (module-level aliases there) included, by a wrapper that reports its
    use from the submission's code, then forwards. Modules imported since the last call are looked at
    at the next one: it runs before each task."""
    foreign = _FOREIGN.get(id(expansion))
    if foreign is None:
        foreign = _FOREIGN[id(expansion)] = [
            (obj, entry) for obj, entry in expansion.objects.values()
            if callable(obj) and not isinstance(obj, types.ModuleType)
            and (getattr(obj, "__module__", None) or "torch").split(".")[0] != "torch"]
    for obj, entry in foreign:
        if id(obj) not in _WRAPPED:
            _WRAPPED[id(obj)] = (_foreign(obj, entry), obj)
            _SEEN_MODULES.clear()  # a new object: every module is looked at again
    if not _WRAPPED:
        return
    for name, module in list(sys.modules.items()):
        if name in _SEEN_MODULES or not isinstance(module, types.ModuleType):
            continue
        _SEEN_MODULES.add(name)
        try:
            namespace = vars(module)
        except TypeError:
            continue
        for attr, value in list(namespace.items()):
            hit = _WRAPPED.get(id(value))
            if hit is not None and hit[1] is value:
                try:
                    setattr(module, attr, hit[0])
                except Exception:  # noqa: BLE001  (a read-only module: the scan is the check there)
                    pass


def _foreign(original: Any, entry: str) -> Any:
    @functools.wraps(original)
    def banned_call(*args, **kwargs):
        guard = ACTIVE
        if guard is not None and entry in guard.expansion.entries:
            guard.flag(entry, depth=3)
        return original(*args, **kwargs)
    return banned_call
