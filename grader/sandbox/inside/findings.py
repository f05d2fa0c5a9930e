"""A finding of the banned-operation checks, and which ban a name falls under: what the run-time guard
(:mod:`grader.sandbox.inside.guard`, in the sandboxed child) and the static scan (:mod:`grader.judge.scan`)
share, and what the grader reads back from a child's answer. Standard library only: a grading process
that holds no torch words a finding through it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


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
