"""The Runner interface: every way of running a submission's tasks answers the same requests the same way.

The judge builds :class:`Request`s (a task, a case, its inputs) and hands them to a runner;
the runner answers each with a :class:`Response` (outputs, or what went wrong). The judge
does not know which runner it has: the sandbox (:class:`grader.sandbox.session.SandboxRunner`,
for students' code) or the in-process pool of the audit
(:class:`grader.quality.inprocess.InProcessRunner`, for the course's own mutants).
Expected values never reach a runner.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grader.course.config import Limits
from grader.i18n import _
from grader.results import RunStatus, SandboxInfo

Key = tuple[str, int]  # (task id, case index)


@dataclass(frozen=True)
class Request:
    task: str
    case: int
    inputs: dict[str, Any]
    own_gradient: int = 0          # max elements for the self-consistency check; 0 = skip
    banned: tuple[str, ...] = ()   # qualified names the task may not call (checked while it runs)
    module: str = ""               # the submission's file that defines the function, without .py
    calls: tuple[str, ...] = ()    # other tasks whose functions this one runs


@dataclass(frozen=True)
class Budget:
    """A wall clock over a whole assignment: nothing runs past ``deadline`` (``time.monotonic()``)."""

    deadline: float
    what: str  # assignment | submission: whose budget it is
    seconds: float

    def describe(self) -> str:
        return _("the assignment's time budget of {seconds} s", seconds=format(self.seconds, "g")) \
            if self.what == "assignment" else \
            _("the submission's time budget of {seconds} s", seconds=format(self.seconds, "g")) \
            if self.what == "submission" else \
            _("the {what}'s time budget of {seconds} s", what=self.what, seconds=format(self.seconds, "g"))


@dataclass
class Response:
    """What the runner said about one request (or what it saw happen to it)."""

    task: str
    case: int
    status: RunStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    own_gradient: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    signature: list[str] | None = None  # the submitted function's parameters, when a call failed on them
    note: str = ""                      # how it was run, when that is news (a patched library put back)
    before_run: bool = False            # the verdict came before any case ran (blocked, out of budget, import)
    blocked_by: str = ""                # the called task whose failure stopped this one before it ran
    reason: str = ""                    # before_run: why, as a clause ("it calls a02.x, which ..."), as data
    time_s: float = 0.0                 # wall time the request took in the runner (no process start-up)

    def same_for(self, request: Request) -> Response:
        """This verdict for another case of the same task (the rest of a task that already failed)."""
        return Response(request.task, request.case, self.status, message=self.message,
                        traceback=self.traceback, stdout=self.stdout, signature=self.signature,
                        before_run=self.before_run, blocked_by=self.blocked_by, reason=self.reason)


class Runner(Protocol):
    """Runs requests against one assignment of a submission; every request gets a response."""

    sandbox: SandboxInfo | None  # the isolation the code runs under, as a grading reports it (None: none)

    def run(self, submission: Path, assignment: str, requests: list[Request],
            limits: dict[str, Limits], budget: Budget | None = None) -> dict[Key, Response]:
        """``submission``: the assignment's folder; ``limits``: per task id; ``budget``: a wall clock
        over all of it. A task's first failing case may end the task: its remaining cases then get
        the same response."""
        ...
