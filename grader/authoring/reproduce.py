"""Run an assignment's reference experiments and compare with the published numbers."""
from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from grader.course.config import Course


def has_experiments(aid: str) -> bool:
    return importlib.util.find_spec(f"reference.{aid}.experiments") is not None


def reproduce(course: Course, ids: list[str], plots: Path | None = None,
              progress=None) -> list[dict[str, Any]]:
    chosen = [course.assignment(i) for i in ids] if ids else [a for a in course.assignments if a.available]
    rows = []
    for cfg in chosen:
        if not has_experiments(cfg.id):
            raise LookupError(f"{cfg.id} has no reproducible experiments yet")
        if progress:
            progress(f"reproducing {cfg.id}")
        module = importlib.import_module(f"reference.{cfg.id}.experiments")
        for r in module.run(plots):
            rows.append({"assignment": cfg.id, "quantity": r["quantity"], "published": r["published"],
                         "ours": r["ours"], "ok": bool(r["ok"])})
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    return str(v)


def to_text(rows: list[dict[str, Any]], width: int = 120) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    table = Table(title=f"reproduced: {sum(r['ok'] for r in rows)} of {len(rows)} ok")
    for col in ("assignment", "quantity", "published", "ours", "ok"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["assignment"], r["quantity"], _fmt(r["published"]), _fmt(r["ours"]),
                      "ok" if r["ok"] else "MISMATCH")
    console.print(table)
    return buf.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2) + "\n"
