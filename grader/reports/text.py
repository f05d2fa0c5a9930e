"""Renderers of a GradingResult: a terminal table (rich) and JSON. They only read the result."""
from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.results import GradingResult

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "red", "timeout": "magenta",
                "not_implemented": "yellow"}


def _num(x: float) -> str:
    return f"{x:g}"


def to_text(result: GradingResult, width: int = 120, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False)
    table = Table(title=f"{result.submission}: {_num(result.score)} / {_num(result.max_score)} "
                        f"({result.suite} suite, {result.device})", show_lines=False, expand=False)
    table.add_column("assignment")
    table.add_column("task")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("diagnosis", overflow="fold")
    for a in result.assignments:
        if a.message and a.score == 0 and all(t.status == "error" and t.checks and
                                              t.checks[0].message == a.message for t in a.tasks):
            # The whole assignment could not be graded (its folder is missing): one row, not one per task.
            table.add_row(a.id, f"all {len(a.tasks)} tasks", Text(f"0/{_num(a.max_score)}", style="bold"),
                          Text("error", style=STATUS_STYLE["error"]), a.message, end_section=True)
            continue
        for i, t in enumerate(a.tasks):
            failing = [c for c in t.checks if not c.passed]
            diagnosis = failing[0].message if failing else ""
            if len(failing) > 1 and t.status == "failed":
                diagnosis += f" (+{len(failing) - 1} more)"
            table.add_row(a.id if i == 0 else "", t.id, f"{_num(t.score)}/{_num(t.max_score)}",
                          Text(t.status, style=STATUS_STYLE.get(t.status, "")), diagnosis)
        table.add_row("", Text("total", style="bold"), Text(f"{_num(a.score)}/{_num(a.max_score)}", style="bold"),
                      "", a.message, end_section=True)
    console.print(table)
    if result.sandbox:
        sb = result.sandbox
        missing = f"; not available here: {', '.join(sb['missing'])}" if sb.get("missing") else ""
        via = f" via {sb['via']}" if sb.get("via") else ""
        console.print(f"sandbox: {sb['level']} isolation{via} ({', '.join(sb['layers'])}{missing})")
    if result.not_available:
        console.print(f"not yet available (not graded): {', '.join(result.not_available)}")
    return buf.getvalue()


def to_json(result: GradingResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


RENDERERS = {"text": to_text, "json": to_json}
