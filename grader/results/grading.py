"""A grading's results: submission -> assignments -> tasks -> checks, with points, and the statuses and
reasons they carry.

Every fact a renderer or a gradebook needs is a field (a status, the suite and case of a
failure, the late penalty, why an assignment was not graded), never a phrase to find in a
message. Messages are for people.
"""
from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from grader.i18n import _


class Status(enum.StrEnum):
    """A task's verdict."""

    PASSED = "passed"
    FAILED = "failed"                    # it ran; some check did not hold
    ERROR = "error"                      # it raised, crashed, broke a rule, or could not be run
    TIMEOUT = "timeout"
    NOT_IMPLEMENTED = "not_implemented"  # the stub is still there
    BANNED = "banned"                    # it used a banned operation (found by the scan or at run time)


class RunStatus(enum.StrEnum):
    """What happened to one request sent to a runner (one case of one task)."""

    OK = "ok"                            # outputs came back; the judge compares them
    NOT_IMPLEMENTED = "not_implemented"
    ERROR = "error"
    BANNED = "banned"                    # a banned operation, found by the scan or at run time
    TIMEOUT = "timeout"
    CRASHED = "crashed"                  # the process died during the request
    BLOCKED = "blocked"                  # not run: a task it calls, or a module it needs, already failed that way
    OUT_OF_BUDGET = "out_of_budget"      # not run (or stopped): the assignment's or submission's time ran out

    @property
    def verdict(self) -> Status:
        """The task status a failed run gives."""
        return {RunStatus.NOT_IMPLEMENTED: Status.NOT_IMPLEMENTED, RunStatus.TIMEOUT: Status.TIMEOUT,
                RunStatus.OUT_OF_BUDGET: Status.TIMEOUT, RunStatus.OK: Status.PASSED,
                RunStatus.BANNED: Status.BANNED}.get(self, Status.ERROR)


class CheckKind(enum.StrEnum):
    OUTPUT = "output"
    GRADIENT = "gradient"
    PROPERTY = "property"                # e.g. inputs_unchanged: earns nothing alone, zeroes the task when broken


class AssignmentError(enum.StrEnum):
    """Why an assignment's tasks could not be run at all."""

    FOLDER_MISSING = "folder_missing"
    FILES_MISSING = "files_missing"    # the folder holds none of the assignment's files
    NOTEBOOK_UNREADABLE = "notebook_unreadable"  # the notebook handed in for it is not one (not JSON, not nbformat 4)
    GRADING_FAILED = "grading_failed"  # a batch could not grade it (its worker crashed or raised): see the gradebook


class DiagnosisKind(enum.StrEnum):
    """What kind of mistake a diagnosis names (stable machine names: reports count and colour by them)."""

    SIGN = "sign"                        # a flipped sign: got = -expected
    SCALE = "scale"                      # a constant factor: a sum for a mean, a missing 1/N, 2 or 1/sqrt(d)
    TRANSPOSE = "transpose"              # the transpose (or a swapped index) of the expected array
    AXIS = "axis"                        # along the wrong axis: a normalisation, reduction or flip over another dim
    ORDER = "order"                      # equal blocks in the wrong order (gates, heads, halves)
    OFF_BY_ONE = "off_by_one"            # shifted by one along an axis, or its first or last step left out
    MISSING_TERM = "missing_term"        # a term of the result left out (a path of the gradient, a bias, a penalty)
    MISSING_SUM = "missing_sum"          # one value per example where a sum over the batch belongs
    KEEPDIM = "keepdim"                  # the right values with a kept (size-1) dimension
    SHAPE = "shape"                      # another shape with as many elements: a reshape or axis mix-up
    DTYPE = "dtype"                      # another dtype (float32 for float64)
    PRECISION = "precision"              # the right dtype, computed at a lower precision
    NOT_FINITE = "not_finite"            # NaN or infinity where the reference is finite
    IN_PLACE = "in_place"                # an input changed in place
    WRONG_INPUT = "wrong_input"          # computed from another input than the right one (the output for the input)
    MASK = "mask"                        # a mask ignored or inverted
    ACTIVATION = "activation"            # a wrong activation or activation derivative
    BACKWARD = "backward"                # the backward is not the gradient of the submission's own forward
    FORWARD = "forward"                  # the backward is the gradient of its own forward: the forward or cache is off
    CALLED_TASK = "called_task"          # a task it calls fails too: the cause is probably there

    @property
    def is_location(self) -> bool:
        """Whether it says where the mistake is (this backward, the forward, a called task) rather than what."""
        return self in (DiagnosisKind.BACKWARD, DiagnosisKind.FORWARD, DiagnosisKind.CALLED_TASK)


@dataclass
class Diagnosis:
    """A named hypothesis about a failed check, confirmed on the numbers (never a guess that failed)."""

    kind: DiagnosisKind
    text: str                  # for people, short; numbers, shapes and names as they are
    confidence: float = 1.0    # in [0, 1]: the fraction of the failing cases it was confirmed on

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        known = _known(cls, data)
        known["kind"] = DiagnosisKind(known["kind"])
        return cls(**known)


@dataclass
class ErrorMap:
    """Where a failed value check is wrong: ``|got - expected| / allowed`` over the case its message
    describes, so a cell above 1 is out of tolerance.

    ``values`` is two-dimensional: a vector is one row, a tensor of more dimensions has its leading
    dimensions folded into rows; past :data:`grader.judge.compare.ERROR_MAP_SIDE` cells a side each
    cell is the largest of the block it covers.
    """

    shape: list[int]           # the compared tensor's shape
    values: list[list[float]]  # (rows, cols), rows and cols at most ERROR_MAP_SIDE; 3 significant digits

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorMap:
        return cls(**_known(cls, data))


@dataclass
class CheckResult:
    """One compared quantity of a task (an output, a gradient, a property) over all its cases."""

    name: str
    passed: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    message: str = ""
    kind: CheckKind = CheckKind.OUTPUT
    where: list[int] | None = None  # index of the worst element in the worst case
    suite: str | None = None        # public | hidden: where the first failure was (None when passed)
    case: int | None = None         # the first failing case's index within that suite
    error_map: ErrorMap | None = None  # a failed value comparison only: where its case is wrong
    diagnoses: list[Diagnosis] = field(default_factory=list)  # what kind of mistake it is, where the numbers say

    @property
    def said(self) -> str:
        """The message and its diagnoses, as one line for people."""
        texts = [d.text for d in self.diagnoses if d.text]
        return _("{message} ({diagnoses})", message=self.message, diagnoses=_("; ").join(texts)) if texts \
            else self.message

    def kinds(self) -> list[DiagnosisKind]:
        return [d.kind for d in self.diagnoses]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        known = _known(cls, data)
        known["kind"] = CheckKind(known.get("kind", CheckKind.OUTPUT))
        if known.get("error_map") is not None:
            known["error_map"] = ErrorMap.from_dict(known["error_map"])
        known["diagnoses"] = [Diagnosis.from_dict(d) for d in known.get("diagnoses", [])]
        return cls(**known)


@dataclass
class TaskResult:
    id: str
    score: float
    max_score: float
    status: Status
    checks: list[CheckResult] = field(default_factory=list)
    feedback: str = ""  # the student's traceback or captured output, truncated
    blocked_by: list[str] = field(default_factory=list)  # called tasks that fail too: the likely cause
    notes: list[str] = field(default_factory=list)  # how it was run, when that is news (a library put back)
    time_s: float = 0.0  # wall time its cases ran (no process start-up): differs from run to run

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        known = _known(cls, data)
        known["status"] = Status(known["status"])
        known["checks"] = [CheckResult.from_dict(c) for c in known.get("checks", [])]
        return cls(**known)


@dataclass
class AssignmentResult:
    id: str
    score: float
    max_score: float
    tasks: list[TaskResult] = field(default_factory=list)
    message: str = ""  # for people: why it was not graded, the late penalty applied
    error: AssignmentError | None = None
    late_penalty: float = 0.0  # the fraction of the score taken off under the late policy
    ran_out: str | None = None  # assignment | submission: whose wall-clock budget ended the grading early

    @property
    def raw_score(self) -> float:
        """The score before the late penalty: what its tasks earned."""
        return points(sum(t.score for t in self.tasks))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssignmentResult:
        known = _known(cls, data)
        known["tasks"] = [TaskResult.from_dict(t) for t in known.get("tasks", [])]
        if known.get("error") is not None:
            known["error"] = AssignmentError(known["error"])
        return cls(**known)


@dataclass(frozen=True)
class Late:
    """The time the late policy was applied to, and where it came from: ``option`` (--submitted-at),
    ``nbgrader_collect``, ``gradescope_metadata`` or ``file_time`` (never a file the student handed in)."""

    submitted_at: str  # ISO 8601
    time_source: str = "option"


@dataclass(frozen=True)
class SandboxInfo:
    """The isolation the submission's code ran under."""

    level: str                 # process | namespaces | full
    layers: list[str]
    missing: list[str]         # layers this machine could not give
    via: str | None = None     # root | user-namespace; None at the process level

    def describe(self) -> str:
        """``full isolation via root (session, ...)``, with the layers this machine could not give."""
        via = f" via {self.via}" if self.via else ""
        text = f"{self.level} isolation{via} ({', '.join(self.layers)})"
        return text + (f"; not available here: {', '.join(self.missing)}" if self.missing else "")


@dataclass
class GradingResult:
    score: float
    max_score: float
    assignments: list[AssignmentResult]
    suite: str
    device: str
    submission: str
    not_available: list[str] = field(default_factory=list)
    not_handed_in: list[str] = field(default_factory=list)  # available, absent from the submission, left out
    late: Late | None = None
    graded_at: str = ""  # the only field that differs between two gradings of one submission
    sandbox: SandboxInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradingResult:
        """A grading back from its JSON report (``grader grade --format json``); keys it does not know are
        left out, so a report written by a newer grader still loads."""
        known = _known(cls, data)
        known["assignments"] = [AssignmentResult.from_dict(a) for a in known.get("assignments", [])]
        if known.get("late") is not None:
            known["late"] = Late(**_known(Late, known["late"]))
        if known.get("sandbox") is not None:
            known["sandbox"] = SandboxInfo(**_known(SandboxInfo, known["sandbox"]))
        return cls(**known)

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0

    def tasks(self) -> list[TaskResult]:
        return [t for a in self.assignments for t in a.tasks]


class UnreadableReports(ValueError):
    """A folder of JSON reports that cannot be read back: no such folder, none in it, or one that is not a grading."""


def read_reports(folder: Path) -> dict[str, GradingResult]:
    """The gradings in a folder of ``STUDENT.json`` reports (``grader grade --format json``), by student."""
    if not folder.is_dir():
        raise UnreadableReports(f"{folder}: no such folder")
    gradings: dict[str, GradingResult] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            gradings[path.stem] = GradingResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise UnreadableReports(f"{path}: not a grading's JSON report ({type(e).__name__}: {e})") from None
    if not gradings:
        raise UnreadableReports(f"{folder}: no .json results (write them with grader grade --format json)")
    return gradings


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of the dataclass ``cls``."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def points(value: float) -> float:
    """Scores are rounded once, here, so every renderer prints the same number."""
    return round(value + 0.0, 4)
