"""The run-time half of the banned-operation check: a torch function mode in the sandboxed child.

It sees every torch call made while a task runs and blames the innermost line of the
submission on the stack; calls the grader's own drivers make are not the student's.
:class:`Violation` and :func:`matches` are shared with the static scan
(:mod:`grader.sandbox.scan`). Runs inside the sandbox: standard library and torch only.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterable

from torch.overrides import TorchFunctionMode, resolve_name


@dataclass(frozen=True)
class Violation:
    name: str   # the banned qualified name that was used, or the escape
    file: str   # the submission's file, relative to its assignment folder
    line: int
    escape: bool = False  # a way around the checks rather than a banned operation itself

    def describe(self) -> str:
        if self.escape:
            return (f"{self.name} is not allowed in a task with banned operations: it could reach them unseen "
                    f"({self.file} line {self.line})")
        return f"banned operation {self.name} ({self.file} line {self.line})"


def matches(name: str, banned: Iterable[str]) -> str | None:
    """The entry of ``banned`` that ``name`` falls under: ``a.b`` covers ``a.b`` and ``a.b.*``."""
    for entry in banned:
        base = entry[:-2] if entry.endswith(".*") else entry
        if name.startswith(base + ".") or (name == base and not entry.endswith(".*")):
            return entry
    return None


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


class Guard(TorchFunctionMode):
    """Records the first banned torch call made from the submission's code while it is active."""

    def __init__(self, banned: Iterable[str], submission_root: str):
        super().__init__()
        self.banned = tuple(banned)  # not ESCAPES: torch's own Python code calls torch._C under the student's line
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
