"""A class's gradings as one CSV for an LMS import: a row per student and assignment."""
from __future__ import annotations

import csv
import io

from grader.results import GradingResult, points

HEADER = ("student", "assignment", "raw score", "late penalty", "final score")


def _number(x: float) -> str:
    """Points as the grader keeps them (four decimals at most), so the columns add up exactly."""
    return f"{points(x):.4f}".rstrip("0").rstrip(".")


def render(gradings: dict[str, GradingResult]) -> str:
    """``gradings``: each student's grading. The late penalty is in points: raw score - penalty = final score."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(HEADER)
    for student in sorted(gradings):
        for a in gradings[student].assignments:
            out.writerow((student, a.id, _number(a.raw_score), _number(a.raw_score - a.score), _number(a.score)))
    return buf.getvalue()
