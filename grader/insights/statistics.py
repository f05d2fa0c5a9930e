"""A gradebook read (never written) and its numbers: per assignment the class at a glance and the
misconception map.

The gradebook is opened read-only: a file that is not one is refused, and nothing is created or
changed, not even an empty SQLite file's schema.
"""
from __future__ import annotations

import json
import sqlite3
import statistics
from pathlib import Path
from typing import Any

from grader.batch.gradebook import SCHEMA_VERSION
from grader.insights.model import (HISTOGRAM_EDGES, GradingTime, Histogram, LateSubmission, MisconceptionMap,
                                   Summary, TaskRow, Ungradable)
from grader.results import DiagnosisKind, Status, points


class InsightsError(Exception):
    """The insights cannot be made at all (no such gradebook, not a gradebook, nothing in it, no such folder)."""


def read_gradebook(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every ``submissions`` row and every ``grades`` row of the gradebook at ``path``, read-only."""
    if not path.exists():
        raise InsightsError(f"{path}: no such gradebook")
    if not path.is_file():
        raise InsightsError(f"{path}: not a gradebook (not a file)")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InsightsError(f"{path}: cannot be opened ({e})") from None
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version != SCHEMA_VERSION or not {"submissions", "grades"} <= tables:
            raise InsightsError(f"{path}: not a gradebook of this grader (schema {version}, tables "
                                f"{', '.join(sorted(tables)) or 'none'}; expected schema {SCHEMA_VERSION} with "
                                "submissions and grades): write one with grader batch")
        return _rows(db, "SELECT * FROM submissions ORDER BY assignment, student"), \
            _rows(db, "SELECT * FROM grades ORDER BY assignment, student, task")
    except sqlite3.DatabaseError as e:
        raise InsightsError(f"{path}: not a gradebook ({e})") from None
    finally:
        db.close()


def _rows(db: sqlite3.Connection, query: str) -> list[dict[str, Any]]:
    cursor = db.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor]


def summary(rows: list[dict[str, Any]]) -> Summary:
    """One assignment's submissions rows at a glance."""
    graded = [r for r in rows if r["status"] == "graded"]
    scores = [r["score"] for r in graded]
    max_score = max((r["max_score"] or 0.0 for r in graded), default=0.0) or \
        max((_stored_max(r) for r in rows), default=0.0)
    counts = [0] * (len(HISTOGRAM_EDGES) - 1)
    for r in graded:
        percent = 100.0 * r["score"] / r["max_score"] if r["max_score"] else 0.0
        counts[_bin(percent)] += 1
    seconds = sorted(((r["seconds"], r["student"]) for r in rows if r["seconds"] is not None),
                     key=lambda s: (-s[0], s[1]))
    timing = None
    if seconds:
        values = [s for s, _ in seconds]
        timing = GradingTime(round(sum(values), 3), round(statistics.fmean(values), 3),
                             round(statistics.median(values), 3), round(values[0], 3),
                             [(student, round(s, 3)) for s, student in seconds[:5]])
    late = [LateSubmission(r["student"], r["submitted_at"], r["time_source"], r["late_penalty"], r["score"])
            for r in graded if r["late_penalty"]]
    return Summary(
        max_score=max_score, students=len(rows), graded=len(graded),
        mean=points(statistics.fmean(scores)) if scores else None,
        median=points(statistics.median(scores)) if scores else None,
        stdev=points(statistics.pstdev(scores)) if scores else None,
        minimum=min(scores) if scores else None, maximum=max(scores) if scores else None,
        histogram=Histogram(list(HISTOGRAM_EDGES), counts),
        ungradable=[Ungradable(r["student"], r["error"]) for r in rows if r["status"] != "graded"],
        late=late, untimed=sum(1 for r in rows if not r["submitted_at"]), grading_time=timing)


def _bin(percent: float) -> int:
    for i in range(len(HISTOGRAM_EDGES) - 2, -1, -1):
        if percent >= HISTOGRAM_EDGES[i]:
            return i
    return 0


def _stored_max(row: dict[str, Any]) -> float:
    try:
        return float(json.loads(row["result"])["max_score"]) if row["result"] else 0.0
    except (ValueError, KeyError, TypeError):
        return 0.0


def misconception_map(rows: list[dict[str, Any]], grades: list[dict[str, Any]]) -> MisconceptionMap:
    """Per task (in the order the results list them): its pass rate and the kinds of mistake its failures
    were diagnosed with, each student counted once per kind."""
    statuses: dict[str, dict[str, int]] = {}
    for g in grades:  # the grades table: one row per graded student and task
        by = statuses.setdefault(g["task"], {})
        by[g["status"]] = by.get(g["status"], 0) + 1
    order: list[str] = []
    kinds: dict[str, dict[str, int]] = {}
    called: dict[str, int] = {}
    unnamed: dict[str, int] = {}
    for r in rows:
        if r["status"] != "graded" or not r["result"]:
            continue
        for task in json.loads(r["result"]).get("tasks", []):
            tid = task["id"]
            if tid not in order:
                order.append(tid)
            if task["status"] == Status.PASSED:
                continue
            named, location = set(), set()
            for check in task.get("checks", []):
                if check.get("passed"):
                    continue
                for d in check.get("diagnoses", []):
                    kind = DiagnosisKind(d["kind"])
                    (location if kind.is_location else named).add(kind.value)
            for kind in named:
                kinds.setdefault(tid, {})[kind] = kinds.setdefault(tid, {}).get(kind, 0) + 1
            if not named and (DiagnosisKind.CALLED_TASK.value in location or task.get("blocked_by")):
                called[tid] = called.get(tid, 0) + 1
            elif not named and task["status"] == Status.FAILED:
                unnamed[tid] = unnamed.get(tid, 0) + 1
    order += [t for t in statuses if t not in order]
    seen = {k for by in kinds.values() for k in by}
    columns = [k.value for k in DiagnosisKind if not k.is_location and k.value in seen]
    tasks = []
    for tid in order:
        by = statuses.get(tid, {})
        graded = sum(by.values())
        passed = by.get(Status.PASSED.value, 0)
        counted = kinds.get(tid, {})
        dominant = max(columns, key=lambda k: counted.get(k, 0)) if counted else None
        tasks.append(TaskRow(tid, graded, passed, round(passed / graded, 4) if graded else 0.0,
                             dict(sorted(by.items())), {k: counted[k] for k in columns if k in counted},
                             called.get(tid, 0), unnamed.get(tid, 0), dominant))
    return MisconceptionMap(columns, tasks)
