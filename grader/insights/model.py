"""What ``grader insights`` finds in a class's gradebook and submissions: plain data, rendered elsewhere.

Each assignment has its numbers at a glance (:class:`Summary`), its misconception map
(:class:`MisconceptionMap`) and, where the submissions were read, its similar pairs
(:class:`Similarity`). :meth:`Insights.to_dict` is what the renderers (``grader.reports.insights``)
and the JSON form take.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Percent of the maximum score: ten bins, the last one closed (100% falls in 90-100).
HISTOGRAM_EDGES = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]


@dataclass
class Histogram:
    edges: list[float]  # percent of the maximum score, len(counts) + 1 edges
    counts: list[int]   # graded submissions per bin; a bin is [lo, hi), the last [90, 100]


@dataclass
class Ungradable:
    student: str
    error: str  # the gradebook's reason, in one line


@dataclass
class LateSubmission:
    student: str
    submitted_at: str   # ISO 8601, as the gradebook has it
    time_source: str    # where the time comes from (file_time, nbgrader_collect, ...)
    penalty: float      # the fraction of the score taken off
    score: float | None  # the score after the penalty (None: it could not be graded)


@dataclass
class GradingTime:
    total_s: float
    mean_s: float
    median_s: float
    max_s: float
    slowest: list[tuple[str, float]]  # (student, seconds), slowest first, at most five


@dataclass
class Summary:
    """One assignment's numbers at a glance. Scores are final (the late penalty taken off), in points."""

    max_score: float
    students: int                 # rows in the gradebook: graded and not
    graded: int
    mean: float | None            # None when nothing was graded
    median: float | None
    stdev: float | None           # population standard deviation
    minimum: float | None
    maximum: float | None
    histogram: Histogram
    ungradable: list[Ungradable]
    late: list[LateSubmission]
    untimed: int                  # rows without a submission time (no late penalty could apply)
    grading_time: GradingTime | None


@dataclass
class TaskRow:
    """One task of the misconception map; counts are students (each student once per cell)."""

    task: str
    graded: int                   # students whose submission was graded (the denominator of every share)
    passed: int
    pass_rate: float              # passed / graded, in [0, 1]
    statuses: dict[str, int]      # task status -> students (passed, failed, error, not_implemented, ...)
    kinds: dict[str, int]         # diagnosis kind -> students whose failure of this task carries it
    called_task: int              # failed, and the only thing said is that a task it calls fails too
    unnamed: int                  # failed (wrong values) with no kind of mistake named
    dominant: str | None          # the kind most students share, when a kind was named at all


@dataclass
class MisconceptionMap:
    kinds: list[str]              # the columns: every kind named in this assignment, in DiagnosisKind's order
    tasks: list[TaskRow]          # in course order


@dataclass
class Region:
    """A run of matching code in one side of a pair: the file and its lines (1-based, inclusive)."""

    file: str
    first_line: int
    last_line: int


@dataclass
class Pair:
    """Two students whose code for one assignment is alike beyond the skeleton."""

    a: str
    b: str
    score: float                  # shared fingerprints / the larger student's own fingerprints, in [0, 1]
    shared: int                   # fingerprints (winnowed k-grams of normalised tokens) both have
    own_a: int                    # a's own fingerprints (the skeleton's taken out)
    own_b: int
    covered_a: float              # the share of a's own code (normalised tokens) inside matching regions
    covered_b: float
    flagged: bool                 # similar enough to be worth a look
    regions_a: list[Region] = field(default_factory=list)  # where, for a flagged pair
    regions_b: list[Region] = field(default_factory=list)
    view_a: str = ""              # a's code as escaped HTML, matching regions marked (flagged pairs)
    view_b: str = ""


@dataclass
class Skipped:
    student: str
    why: str


@dataclass
class Similarity:
    compared: int                 # students whose code was fingerprinted
    no_own_code: list[str]        # nothing beyond the skeleton (an untouched skeleton): never paired
    skipped: list[Skipped]        # what could not be read, and why
    pairs: list[Pair]             # ranked, highest score first; at most ``top``
    flagged: int                  # pairs worth a look in all (more than ``pairs`` lists, where ``top`` cut them)
    pairs_compared: int           # every pair of students with own code
    flag_above: float             # a pair scoring at least this is flagged
    min_shared: int               # ... and sharing at least this many fingerprints
    noise: int                    # copydetect's noise threshold (k-gram length, in normalised characters)
    guarantee: int                # copydetect's guarantee threshold (window = guarantee - noise + 1)
    boilerplate: str              # the skeleton folder excluded as boilerplate ("" when there was none)
    seconds: float


@dataclass
class AssignmentInsights:
    id: str
    summary: Summary
    map: MisconceptionMap
    similarity: Similarity | None = None
    similarity_note: str = ""     # why there is no similarity section, when there is none


@dataclass
class Progress:
    available: bool
    why: str


@dataclass
class Insights:
    gradebook: str
    submissions: str | None
    generated_at: str
    assignments: list[AssignmentInsights]
    progress: Progress
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
