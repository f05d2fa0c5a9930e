"""A class's gradings as one CSV for an LMS import: a row per student and assignment, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io

from grader.results import GradingResult, points

HEADER = ("student", "assignment", "status", "raw score", "late penalty", "final score", "max score", "reason")
GRADED, NOT_GRADED = "graded", "not graded"  # the status column: a not-graded row has no scores, and a reason
# A text cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets (OWASP's
# CSV injection list, with ASVS's NUL and a line feed); full-width forms are escaped too, to be safe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _number(x: float) -> str:
    """Points as the grader keeps them (four decimals at most), so the columns add up exactly."""
    return f"{points(x) + 0.0:.4f}".rstrip("0").rstrip(".")


def text(cell: str) -> str:
    """A text cell as a spreadsheet must show it, never run it: one that starts with a formula character
    gets a leading single quote, as OWASP says (``=2+5`` -> ``'=2+5``, ``-1`` -> ``'-1``). Numbers are
    written by :func:`_number` and stay numbers."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def render(gradings: dict[str, GradingResult]) -> str:
    """``gradings``: each student's grading. The late penalty is in points: raw score - penalty = final score.
    An assignment that could not be graded (a notebook that does not read, a folder not there, a
    grading that failed) is ``not graded``, with its reason and no score: never a zero that reads as one.
    Students, assignments and reasons are text cells (escaped by :func:`text`); the scores are numbers."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    out.writerow(HEADER)
    for student in sorted(gradings):
        for a in gradings[student].assignments:
            if a.error is not None:
                out.writerow((text(student), text(a.id), NOT_GRADED, "", "", "",
                              _number(a.max_score) if a.max_score else "",
                              text(f"{a.error}: {a.message}")))
                continue
            out.writerow((text(student), text(a.id), GRADED, _number(a.raw_score), _number(a.raw_score - a.score),
                          _number(a.score), _number(a.max_score), ""))
    return buf.getvalue()
