"""The insights of one gradebook (and, given, the submissions it was graded from), as plain data."""
from __future__ import annotations

import datetime as dt
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from grader import paths
from grader.insights import similarity
from grader.insights.model import AssignmentInsights, Insights, Progress, Similarity, Skipped
from grader.insights.statistics import InsightsError, misconception_map, read_gradebook, summary

NO_PROGRESS = ("The gradebook keeps one current row per student and assignment: a new grading replaces the "
               "student's rows, so there is no earlier score to set against the last one. Progress over time "
               "needs a history of submissions, which grader batch does not record.")


def analyse(gradebook: Path, submissions: Path | None = None, assignments: list[str] | None = None,
            skeletons: Path = paths.ASSIGNMENTS, *, flag_above: float = similarity.FLAG_ABOVE,
            min_shared: int = similarity.MIN_SHARED, top: int = similarity.TOP,
            step: Callable[[str], None] | None = None) -> Insights:
    """Each assignment of ``gradebook`` (or of ``assignments``) at a glance, its misconception map and,
    where ``submissions`` is the class's folder, its similar pairs (``skeletons/<id>/`` is the skeleton
    released, excluded as boilerplate). Raises :class:`InsightsError` when it cannot be done at all."""
    started = time.perf_counter()
    if submissions is not None and not submissions.is_dir():
        raise InsightsError(f"{submissions}: no such folder (the class's submissions, as grader batch read them)")
    if step is not None:
        step("reading the gradebook")
    rows, grades = read_gradebook(gradebook)
    if not rows:
        raise InsightsError(f"{gradebook}: no submissions in the gradebook (grade the class with grader batch)")
    held = sorted({r["assignment"] for r in rows})
    chosen = held
    if assignments:
        unknown = [a for a in assignments if a not in held]
        if unknown:
            raise InsightsError(f"{', '.join(unknown)}: not in the gradebook (it holds {', '.join(held)})")
        chosen = [a for a in held if a in assignments]
    entries = _entries(submissions) if submissions is not None else None
    found = []
    for aid in chosen:
        mine = [r for r in rows if r["assignment"] == aid]
        item = AssignmentInsights(aid, summary(mine), misconception_map(mine, [g for g in grades
                                                                                 if g["assignment"] == aid]))
        if entries is None:
            item.similarity_note = "not compared: give the class's submissions with --submissions DIR"
        else:
            item.similarity = similar(aid, entries, skeletons, flag_above=flag_above, min_shared=min_shared,
                                      top=top, step=step)
        found.append(item)
    return Insights(str(gradebook), str(submissions) if submissions is not None else None,
                    dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), found,
                    Progress(False, NO_PROGRESS), round(time.perf_counter() - started, 3))


def _entries(folder: Path):
    from grader.batch.jobs import BatchError, discover
    try:
        return discover(folder)
    except BatchError as e:
        raise InsightsError(str(e)) from None


def similar(aid: str, entries, skeletons: Path, *, flag_above: float = similarity.FLAG_ABOVE,
            min_shared: int = similarity.MIN_SHARED, top: int = similarity.TOP,
            step: Callable[[str], None] | None = None) -> Similarity:
    """The similar pairs of ``aid`` among ``entries`` (grader batch's entries of the submissions folder):
    each entry's folder for ``aid`` found as grading finds it (a folder, a .zip, a notebook's
    %%writefile cells), its .py files read."""
    from grader.judge.cases import GradingError
    from grader.judge.submission import open_submission

    cfg = SimpleNamespace(id=aid)  # all that locating an assignment's folder reads of its configuration
    modules = _modules(aid)
    skipped: list[Skipped] = []
    codes = []
    for entry in entries:
        if step is not None:
            step(f"reading {entry.student}'s {aid}")
        if entry.problem:
            skipped.append(Skipped(entry.student, entry.problem))
            continue
        if entry.kind == "zip" and not zipfile.is_zipfile(entry.path):
            skipped.append(Skipped(entry.student, f"{entry.path.name} is not a readable .zip archive"))
            continue
        try:
            with open_submission(entry.path, [cfg], True, {aid: modules}) as located:
                folder = located.folders.get(aid)
                if folder is None:
                    why = located.problems.get(aid, (None, f"holds no {aid} folder"))[1]
                    skipped.append(Skipped(entry.student, why))
                    continue
                code = similarity.read_code(entry.student, folder, skipped)
        except (GradingError, OSError) as e:
            skipped.append(Skipped(entry.student, str(e)))
            continue
        if code is None:
            skipped.append(Skipped(entry.student, f"no .py file in its {aid} folder"))
        else:
            codes.append(code)
    skeleton = skeletons / aid
    return similarity.compare(codes, skeleton if skeleton.is_dir() else None, skipped, flag_above=flag_above,
                              min_shared=min_shared, top=top, step=step)


def _modules(aid: str) -> list[str]:
    """The assignment's module names (layers, mlp): what a folder of its files under another name holds."""
    try:
        from grader.tasks import suites
        return sorted({t.module for t in suites.load(aid).tasks.values()})
    except Exception:  # an assignment this checkout has no suite for: the folder's name must say it
        return []
