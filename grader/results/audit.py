"""The audit of the suites (``grader audit``): mutants of the reference must lose points, alternative
solutions must keep them."""
from __future__ import annotations

from dataclasses import dataclass, field

from grader.results.grading import Status


@dataclass
class MutantOutcome:
    task: str
    file: str
    line: int
    operator: str
    description: str
    status: str   # killed | survived | equivalent
    how: str      # killed: what failed; survived: where it differs from the reference
    diff: str


@dataclass
class Counts:
    """Mutant verdicts of a task or of a whole assignment."""

    id: str
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    kill_rate: float = 100.0
    killed_by_error: int = 0  # of the killed: the mutant raised or timed out, rather than gave wrong values

    def add(self, other: Counts) -> None:
        """Count ``other``'s verdicts in too, and work the kill rate out again."""
        self.killed += other.killed
        self.survived += other.survived
        self.equivalent += other.equivalent
        self.killed_by_error += other.killed_by_error
        self.kill_rate = kill_rate(self.killed, self.survived)


@dataclass
class TaskAudit(Counts):
    survivors: list[MutantOutcome] = field(default_factory=list)
    equivalents: list[MutantOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class FalseFailure:
    """A task on which an alternative implementation (a right answer) lost points, and why."""

    task: str
    status: Status    # banned: the scan refused it before it ran; otherwise the task's verdict
    check: str = ""   # the first check that failed, where one ran
    message: str = ""


@dataclass
class AlternativeAudit:
    files: list[str]                    # files under grader/quality/alternatives/<aid>/
    tasks: list[str]                    # tasks whose function an alternative replaces
    false_failures: list[FalseFailure]  # one for each task that lost points


@dataclass
class AuditSample:
    """What a sampled audit (``grader audit --sample``) graded: its counts are of these mutants only."""

    fraction: float  # of each task's mutants (at least a few per task, so the whole can be more)
    mutants: int     # the mutants graded
    of: int          # the mutants the whole audit would grade


@dataclass
class AssignmentAudit(Counts):
    tasks: list[TaskAudit] = field(default_factory=list)
    alternatives: AlternativeAudit | None = None
    sample: AuditSample | None = None  # None: every mutant was graded

    @property
    def ok(self) -> bool:
        return self.alternatives is None or not self.alternatives.false_failures


KILL_RATE_FAIL_UNDER = 95.0  # the audit flags an assignment whose kill rate is under this


def kill_rate(killed: int, survived: int) -> float:
    """Killed mutants as a percentage of the non-equivalent ones (100 when there are none)."""
    return round(100.0 * killed / (killed + survived), 2) if killed + survived else 100.0
