"""Run an assignment's reference experiments and compare with the published numbers."""
from __future__ import annotations

import importlib
from pathlib import Path

from grader.course.config import Course
from grader.results import ExperimentRow


def has_experiments(aid: str) -> bool:
    return importlib.util.find_spec(f"reference.{aid}.experiments") is not None


def reproduce(course: Course, ids: list[str], plots: Path | None = None,
              progress=None) -> list[ExperimentRow]:
    chosen = [course.assignment(i) for i in ids] if ids else [a for a in course.assignments if a.available]
    rows = []
    for cfg in chosen:
        if not has_experiments(cfg.id):
            raise LookupError(f"{cfg.id} has no reproducible experiments yet")
        if progress:
            progress(f"reproducing {cfg.id}")
        module = importlib.import_module(f"reference.{cfg.id}.experiments")
        for r in module.run(plots):
            rows.append(ExperimentRow(cfg.id, r["quantity"], r["published"], r["ours"], bool(r["ok"])))
    return rows
