"""The terminal table (rich) of a GradingResult: one row per task, with the first failing check's diagnosis."""
from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.i18n import N_, _, ngettext
from grader.results import (KILL_RATE_FAIL_UNDER, AssignmentAudit, ExperimentRow, GradingResult, SandboxInfo, Status,
                            TaskResult)

STATUS_STYLE = {Status.PASSED: "green", Status.FAILED: "red", Status.ERROR: "red", Status.TIMEOUT: "magenta",
                Status.NOT_IMPLEMENTED: "yellow", Status.BANNED: "red"}
# What a status reads as for people; the machine name (JSON, gradebook) stays the status's value.
STATUS_WORDS = {Status.PASSED: N_("passed"), Status.FAILED: N_("failed"), Status.ERROR: N_("error"),
                Status.TIMEOUT: N_("timeout"), Status.NOT_IMPLEMENTED: N_("not_implemented"), Status.BANNED: N_("banned")}
SUITE_WORDS = {"public": N_("public suite"), "hidden": N_("hidden suite"), "all": N_("all suite")}


def status_word(status: Status) -> str:
    """``failed`` in English, ``未通过`` in Chinese: a status as people read it."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else str(status)


def suite_words(suite: str) -> str:
    """``public suite``, or its translation."""
    return _(SUITE_WORDS[suite]) if suite in SUITE_WORDS else _("{suite} suite", suite=suite)


def sandbox_words(sandbox: SandboxInfo) -> str:
    """:meth:`SandboxInfo.describe` in the current language (the level, ways and layers are names)."""
    layers = ", ".join(sandbox.layers)
    text = _("{level} isolation via {via} ({layers})", level=sandbox.level, via=sandbox.via, layers=layers) \
        if sandbox.via else _("{level} isolation ({layers})", level=sandbox.level, layers=layers)
    return text + (_("; not available here: {missing}", missing=", ".join(sandbox.missing)) if sandbox.missing else "")


def shown_points(x: float) -> str:
    """Points as people read them: ``20.67``, ``30``, never ``-0``."""
    return f"{round(x, 2) + 0.0:.2f}".rstrip("0").rstrip(".")


def points_lines(graded: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    """One line per assignment: its tasks' points over their maximum (``a02_mlp_backprop: 20.67 / 30
    points (17 tasks)``), in id order."""
    lines = []
    for aid in sorted(graded):
        tasks = graded[aid]
        score, most = sum(s for s, _ in tasks.values()), sum(m for _, m in tasks.values())
        lines.append(ngettext("{aid}: {score} / {most} points ({n} task)", "{aid}: {score} / {most} points ({n} tasks)",
                              len(tasks), aid=aid, score=shown_points(score), most=shown_points(most)))
    return lines


def render(result: GradingResult, width: int = 120, color: bool = False, every_task: bool = True) -> str:
    """The table; with ``every_task`` off, an assignment whose every task passed is one row."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False)
    table = Table(title=_("{submission}: {score} / {most} ({suite}, {device})", submission=result.submission,
                          score=shown_points(result.score), most=shown_points(result.max_score),
                          suite=suite_words(result.suite), device=result.device), show_lines=False, expand=False)
    table.add_column(_("assignment"))
    table.add_column(_("task"))
    table.add_column(_("points"), justify="right")
    table.add_column(_("status"))
    table.add_column(_("diagnosis"), overflow="fold")
    for a in result.assignments:
        if a.error is not None:  # nothing of it was graded: one row, not one per task
            table.add_row(a.id, _("all {n} tasks", n=len(a.tasks)), Text(f"0/{shown_points(a.max_score)}", style="bold"),
                          Text(status_word(Status.ERROR), style=STATUS_STYLE[Status.ERROR]), a.message,
                          end_section=True)
            continue
        if not every_task and a.tasks and all(t.status == Status.PASSED for t in a.tasks):
            table.add_row(a.id, _("all {n} tasks", n=len(a.tasks)),
                          Text(f"{shown_points(a.score)}/{shown_points(a.max_score)}", style="bold"),
                          Text(status_word(Status.PASSED), style=STATUS_STYLE[Status.PASSED]), a.message,
                          end_section=True)
            continue
        for i, t in enumerate(a.tasks):
            failing = [c for c in t.checks if not c.passed]
            diagnosis = failing[0].said if failing else ""
            if len(failing) > 1 and t.status == Status.FAILED:
                diagnosis += _(" (+{n} more)", n=len(failing) - 1)
            table.add_row(a.id if i == 0 else "", t.id, f"{shown_points(t.score)}/{shown_points(t.max_score)}",
                          Text(status_word(t.status), style=STATUS_STYLE.get(t.status, "")), diagnosis)
        total = f"{shown_points(a.score)}/{shown_points(a.max_score)}"
        table.add_row("", Text(_("total"), style="bold"), Text(total, style="bold"),
                      "", a.message, end_section=True)
    console.print(table)
    if result.sandbox is not None:
        console.print(_("sandbox: {sandbox}", sandbox=sandbox_words(result.sandbox)))
    if result.late is not None:
        console.print(_("submitted at {time} (time from {source})", time=result.late.submitted_at,
                        source=result.late.time_source))
    if result.not_available:
        console.print(_("not yet available (not graded): {ids}", ids=", ".join(result.not_available)))
    if result.not_handed_in:
        console.print(_("not in this submission (not graded, not in the total): {ids}",
                        ids=", ".join(result.not_handed_in)))
    return buf.getvalue()


WATCH_MARK = {Status.PASSED: "ok  ", Status.NOT_IMPLEMENTED: "todo"}  # any other status: FAIL


def task_lines(task: TaskResult, feedback: bool = False) -> list[str]:
    """A task's verdict and each failing check's diagnosis, one line each (a notebook's grade cell); with
    ``feedback``, the task's feedback after a blank line, where it has one (a pytest failure)."""
    lines = [_("{task}: {status}, {score}/{most} points", task=task.id, status=status_word(task.status),
               score=shown_points(task.score), most=shown_points(task.max_score))]
    lines += [f"  {c.name}: {c.said}" for c in task.checks if not c.passed]
    return lines + (["", task.feedback] if feedback and task.feedback else [])


def regrade_lines(result: GradingResult, seconds: float) -> list[str]:
    """``grader watch``'s regrade: one line per task (its mark, points, and status unless it passed or is
    still a stub), each failing check's diagnosis under it, and the public suite's total."""
    lines = []
    for a in result.assignments:
        if a.error is not None:
            lines.append(f"{a.id}: {a.message}")
            continue
        for t in a.tasks:
            lines.append(f"{WATCH_MARK.get(t.status, 'FAIL')} {t.id}  "
                         f"{shown_points(t.score)}/{shown_points(t.max_score)}"
                         + ("" if t.status in (Status.PASSED, Status.NOT_IMPLEMENTED) else f"  {status_word(t.status)}"))
            lines += [f"       {c.name}: {c.said}" for c in t.checks if not c.passed and
                      t.status != Status.NOT_IMPLEMENTED]
    lines.append(_("public suite: {score}/{most} points, graded in {seconds} s", score=shown_points(result.score),
                   most=shown_points(result.max_score), seconds=format(seconds, ".2f")))
    return lines


def render_audit(results: list[AssignmentAudit], fail_under: float = KILL_RATE_FAIL_UNDER) -> str:
    lines: list[str] = []
    for r in results:
        verdict = "ok" if r.kill_rate >= fail_under else f"UNDER {fail_under:g}%"
        lines.append(f"{r.id}: kill rate {r.kill_rate:.1f}% ({r.killed} killed, {r.killed_by_error} of them by an "
                     f"error; {r.survived} survived; {r.equivalent} suspected equivalent) {verdict}")
        if r.sample is not None:
            lines.append(f"  a SAMPLE: {r.sample.mutants} of {r.sample.of} mutants (--sample {r.sample.fraction:g}); "
                         "the whole audit's kill rate may differ")
        width = max([len(t.id) for t in r.tasks] + [4])
        lines.append(f"  {'task':<{width}}  killed  by error  survived  equivalent  kill rate")
        for t in r.tasks:
            lines.append(f"  {t.id:<{width}}  {t.killed:>6}  {t.killed_by_error:>8}  {t.survived:>8}  "
                         f"{t.equivalent:>10}  {t.kill_rate:>8.1f}%")
        for t in r.tasks:
            for o in t.survivors:
                lines.append(f"  survived: {o.task} [{o.operator}] {o.description}")
                lines.append(f"    {o.how}")
                lines += ["    " + d for d in o.diff.splitlines()]
        for t in r.tasks:
            for o in t.equivalents:
                lines.append(f"  suspected equivalent: {o.task} [{o.operator}] {o.description} "
                             f"({o.file}:{o.line})")
        if r.alternatives is not None:
            a = r.alternatives
            lines.append(f"  alternatives ({', '.join(a.files)}; replacing {', '.join(a.tasks) or 'no task'}): "
                         + ("all tasks full marks" if not a.false_failures else
                            f"{len(a.false_failures)} false failure(s)"))
            lines += [f"    false failure: {f.task}: {f.status}" + (f" ({f.check})" if f.check else "") + f": {f.message}"
                      for f in a.false_failures]
        else:
            lines.append("  alternatives: none")
        lines.append("")
    return "\n".join(lines)


def _value(v: Any) -> str:
    return f"{v:.10g}" if isinstance(v, float) else str(v)


def render_experiments(rows: list[ExperimentRow], width: int = 120) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    table = Table(title=f"reproduced: {sum(r.ok for r in rows)} of {len(rows)} ok")
    for col in ("assignment", "quantity", "published", "ours", "ok"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.assignment, r.quantity, _value(r.published), _value(r.ours), "ok" if r.ok else "MISMATCH")
    console.print(table)
    return buf.getvalue()
