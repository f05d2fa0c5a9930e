"""The result model: submission -> assignments -> tasks -> checks, with points. Renderers read it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout", "not_implemented")


@dataclass
class CheckResult:
    """One compared quantity of a task (an output, a gradient) over all its cases."""

    name: str
    passed: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    message: str = ""
    kind: str = "output"         # output | gradient
    where: list[int] | None = None  # index of the worst element in the worst case


@dataclass
class TaskResult:
    id: str
    score: float
    max_score: float
    status: str
    checks: list[CheckResult] = field(default_factory=list)
    feedback: str = ""  # the student's traceback or captured output, truncated


@dataclass
class AssignmentResult:
    id: str
    score: float
    max_score: float
    tasks: list[TaskResult] = field(default_factory=list)
    message: str = ""  # e.g. the folder is missing


@dataclass
class GradingResult:
    score: float
    max_score: float
    assignments: list[AssignmentResult]
    suite: str
    device: str
    submission: str
    not_available: list[str] = field(default_factory=list)
    late: dict[str, Any] | None = None
    graded_at: str = ""  # the only field that differs between two gradings of one submission
    sandbox: dict[str, Any] = field(default_factory=dict)  # isolation level and layers the children ran under

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def points(value: float) -> float:
    """Scores are rounded once, here, so every renderer prints the same number."""
    return round(value + 0.0, 4)
