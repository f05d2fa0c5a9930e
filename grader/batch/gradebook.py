"""The gradebook: one SQLite file (write-ahead log) holding each student's current grade, per assignment and task.

Two tables. ``submissions`` has a row per (student, assignment): what was graded (the entry's
name, its content hash, when it was handed in and how that is known), the grading's key (grader
version, suite, device), whether it was graded or failed to grade and why, the raw score, the
late penalty, the final score, the assignment's full result as JSON, and where and how long it
was graded. ``grades`` has a row per (student, assignment, task): its score, maximum and status.
A row is current: when a student's submission changes (another content hash or time) or the
grader does, the next grading replaces the student's rows for that assignment, in the same
transaction that writes the new ones.

Only the coordinating process writes, one transaction per submission (every row of it, or
none), so a batch killed at any moment leaves each submission either fully recorded or not
at all, and the next batch grades exactly those not recorded.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from grader.batch.jobs import BatchError, Job, Outcome
from grader.results import AssignmentError, AssignmentResult, GradingResult, Late, SandboxInfo, points

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE submissions (
    student        TEXT NOT NULL,
    assignment     TEXT NOT NULL,
    source         TEXT NOT NULL,   -- the entry graded: alice/, bob.zip, carol.ipynb
    content_hash   TEXT,            -- sha256 of what was graded (NULL: it could not be read)
    grader_version TEXT NOT NULL,
    suite          TEXT NOT NULL,
    device         TEXT NOT NULL,
    submitted_at   TEXT,            -- ISO 8601 with its zone (NULL: no time found, no late penalty)
    time_source    TEXT NOT NULL,   -- where submitted_at comes from: nbgrader_collect, file_time, ... (none: no time)
    status         TEXT NOT NULL CHECK (status IN ('graded', 'failed')),
    error          TEXT NOT NULL DEFAULT '',  -- failed: why, in one line
    detail         TEXT NOT NULL DEFAULT '',  -- failed: the traceback, when grading raised
    raw_score      REAL,            -- what the tasks earned
    late_penalty   REAL,            -- the fraction taken off under the late policy
    score          REAL,            -- raw_score less the penalty
    max_score      REAL,
    result         TEXT,            -- the assignment's result as JSON (the report's "assignments" entry)
    sandbox        TEXT,            -- the isolation it ran under, as JSON
    graded_at      TEXT NOT NULL,
    seconds        REAL,            -- wall time of the whole submission's grading in its worker
    worker         TEXT NOT NULL DEFAULT '',  -- host:pid
    PRIMARY KEY (student, assignment)
);
CREATE TABLE grades (
    student    TEXT NOT NULL,
    assignment TEXT NOT NULL,
    task       TEXT NOT NULL,
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    status     TEXT NOT NULL,
    PRIMARY KEY (student, assignment, task),
    FOREIGN KEY (student, assignment) REFERENCES submissions (student, assignment)
);
"""


@dataclass(frozen=True)
class Key:
    """What, besides the submission itself, a grading depends on."""

    grader_version: str
    suite: str
    device: str


class Gradebook:
    """An open gradebook: created on first use (``create``), refused when the file is something else."""

    def __init__(self, path: Path, create: bool = True):
        self.path = path
        if not create and not path.is_file():
            raise BatchError(f"{path}: no such gradebook")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")  # a committed grading survives even the machine dying
            self._schema()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise BatchError(f"{path}: not a gradebook ({e})") from None

    def _schema(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION or not {"submissions", "grades"} <= tables:
            raise BatchError(f"{self.path}: not a gradebook of this grader (schema {version}, tables "
                             f"{', '.join(sorted(tables)) or 'none'}; expected schema {SCHEMA_VERSION})")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything in the block is written, or nothing (a kill in the middle leaves nothing of it)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def is_graded(self, job: Job, ids: list[str], key: Key) -> bool:
        """Whether every one of ``ids`` has a graded row for this very submission, time and key."""
        rows = {r[0]: r[1:] for r in self.db.execute(
            "SELECT assignment, content_hash, submitted_at, grader_version, suite, device FROM submissions "
            "WHERE student = ? AND status = 'graded'", (job.student,))}
        def wanted(aid: str) -> tuple:
            stamp = job.stamps.get(aid)
            return job.content_hash, stamp.iso if stamp else None, key.grader_version, key.suite, key.device
        return all(rows.get(aid) == wanted(aid) for aid in ids)

    def record(self, job: Job, outcome: Outcome, ids: list[str], key: Key) -> None:
        """One submission's grading (or why it failed), every row of it in one transaction, replacing
        the student's earlier rows for these assignments."""
        grading = outcome.result
        graded = {a.id: a for a in grading.assignments} if grading else {}
        sandbox = json.dumps(dataclasses.asdict(grading.sandbox) if grading.sandbox else None) if grading else None
        graded_at = grading.graded_at if grading else _now()
        with self.transaction():
            for aid in ids:
                self._forget(job.student, aid)
                stamp = job.stamps.get(aid)
                row = {"student": job.student, "assignment": aid, "source": job.name,
                       "content_hash": job.content_hash or None, "grader_version": key.grader_version,
                       "suite": key.suite, "device": key.device, "submitted_at": stamp.iso if stamp else None,
                       "time_source": stamp.source if stamp else "none", "graded_at": graded_at,
                       "seconds": outcome.seconds, "worker": outcome.worker}
                a = graded.get(aid)
                if a is None:
                    row.update(status="failed", error=outcome.error or f"{aid} is not in the grading",
                               detail=outcome.detail)
                elif a.error:  # nothing of it could be graded (a notebook that does not read): no score
                    row.update(status="failed", error=not_graded(a), result=_json(a), sandbox=sandbox)
                    a = None
                else:
                    row.update(status="graded", raw_score=a.raw_score, late_penalty=a.late_penalty, score=a.score,
                               max_score=a.max_score, result=_json(a), sandbox=sandbox)
                self._insert("submissions", row)
                for t in a.tasks if a is not None else []:
                    self._insert("grades", {"student": job.student, "assignment": aid, "task": t.id,
                                            "score": t.score, "max_score": t.max_score, "status": str(t.status)})

    def _forget(self, student: str, aid: str) -> None:
        self.db.execute("DELETE FROM grades WHERE student = ? AND assignment = ?", (student, aid))
        self.db.execute("DELETE FROM submissions WHERE student = ? AND assignment = ?", (student, aid))

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        names = ", ".join(row)
        self.db.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    def submissions(self) -> list[dict[str, Any]]:
        """Every submissions row, by student and assignment."""
        cursor = self.db.execute("SELECT * FROM submissions ORDER BY student, assignment")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor]

    def grades(self) -> list[dict[str, Any]]:
        """Every task's row, by student, assignment and task."""
        cursor = self.db.execute("SELECT * FROM grades ORDER BY student, assignment, task")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor]

    def gradings(self) -> tuple[dict[str, GradingResult], list[dict[str, Any]]]:
        """Each student's graded assignments as one grading (what the CSV export renders), and the rows
        of those that failed to grade."""
        by_student: dict[str, list[dict[str, Any]]] = {}
        failed = []
        for row in self.submissions():
            by_student.setdefault(row["student"], []).append(row)
            if row["status"] != "graded":
                failed.append(row)
        gradings = {}
        for student, rows in by_student.items():
            assignments = [_assignment(r) for r in rows]
            stamps = [(dt.datetime.fromisoformat(r["submitted_at"]), r["time_source"])
                      for r in rows if r["submitted_at"]]
            latest = max(stamps, key=lambda s: s[0]) if stamps else None
            sandbox = next((json.loads(r["sandbox"]) for r in rows if r["sandbox"]), None)
            gradings[student] = GradingResult(
                points(sum(a.score for a in assignments)), points(sum(a.max_score for a in assignments)),
                assignments, rows[0]["suite"], rows[0]["device"], rows[0]["source"],
                late=Late(latest[0].isoformat(), latest[1]) if latest else None,
                graded_at=max(r["graded_at"] for r in rows),
                sandbox=SandboxInfo(**sandbox) if sandbox else None)
        return gradings, failed


def _assignment(row: dict[str, Any]) -> AssignmentResult:
    """A submissions row as the assignment's result: a failed one keeps its reason and has no score."""
    if row["status"] == "graded":
        return AssignmentResult.from_dict(json.loads(row["result"]))
    stored = AssignmentResult.from_dict(json.loads(row["result"])) if row["result"] else None
    return AssignmentResult(row["assignment"], 0.0, stored.max_score if stored else 0.0,
                            error=stored.error if stored else AssignmentError.GRADING_FAILED, message=row["error"])


def not_graded(assignment: AssignmentResult) -> str:
    """Why an assignment of a grading could not be graded, in one line (its ``error`` and message)."""
    return f"{assignment.error}: {assignment.message or 'not graded'}"


def _json(assignment: AssignmentResult) -> str:
    """The assignment's result as the report's JSON has it (its "assignments" entry)."""
    return json.dumps(dataclasses.asdict(assignment))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
