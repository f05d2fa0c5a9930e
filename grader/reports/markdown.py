"""A pull request's summary of a GradingResult in GitHub Markdown: a table per assignment, then each
task that lost points with its diagnosis, short enough for one comment."""
from __future__ import annotations

from grader.reports.text import shown_points
from grader.results import GradingResult, Status, TaskResult

COMMENT_LIMIT = 65536   # characters GitHub takes in one comment
CELL_CHARS = 160        # of a diagnosis in a table cell; the full one is in the task's section
FEEDBACK_CHARS = 1500   # of the student's output in a task's section (its end: where a traceback says why)
ICON = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "💥", Status.TIMEOUT: "⏱️", Status.NOT_IMPLEMENTED: "⬜", Status.BANNED: "🚫"}


def _cell(text: str) -> str:
    """One line of a table cell: pipes escaped, newlines folded, long text cut."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS - 1] + "…"


def _fence(text: str) -> str:
    """A code block that ``text`` cannot close early."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text}\n{ticks}"


def _section(t: TaskResult) -> list[str]:
    lines = [f"#### {ICON[t.status]} `{t.id}`: {t.status.value}, {shown_points(t.score)}/{shown_points(t.max_score)}",
             ""]
    failing = [c for c in t.checks if not c.passed]
    shown = failing if t.status == Status.FAILED else failing[:1]  # a run that broke says the same for every check
    lines += [f"- **{c.name}**: {' '.join(c.said.split())}" for c in shown]
    if t.blocked_by:
        lines.append(f"- calls {', '.join(f'`{b}`' for b in t.blocked_by)}, which fail(s) too: look there first")
    lines += [f"- note: {n}" for n in t.notes]
    if t.feedback:
        tail = t.feedback[-FEEDBACK_CHARS:]
        lines += ["", "<details><summary>your code's output</summary>", "", _fence(tail), "", "</details>"]
    return lines + [""]


def full(result: GradingResult) -> str:
    """The summary without regard to its length."""
    lines = [f"## {result.submission}: {shown_points(result.score)} / {shown_points(result.max_score)}", "",
             f"{result.suite} suite, {result.device}"
             + (f"; submitted at {result.late.submitted_at}" if result.late else ""), ""]
    for a in result.assignments:
        late = f", late penalty -{a.late_penalty:.0%} (before it: {shown_points(a.raw_score)})" if a.late_penalty \
            else ""
        lines += [f"### {a.id}: {shown_points(a.score)} / {shown_points(a.max_score)}{late}", ""]
        if a.error is not None:
            lines += [f"Not graded: {_cell(a.message)}", ""]
            continue
        lines += ["| task | points | status | diagnosis |", "| --- | ---: | --- | --- |"]
        for t in a.tasks:
            failing = [c for c in t.checks if not c.passed]
            diagnosis = f"{failing[0].name}: {failing[0].said}" if failing else ""
            lines.append(f"| `{t.id}` | {shown_points(t.score)}/{shown_points(t.max_score)} | {ICON[t.status]} "
                         f"{t.status.value} | {_cell(diagnosis)} |")
        lines.append(f"| **total** | **{shown_points(a.score)}/{shown_points(a.max_score)}** | | "
                     f"{_cell(a.message)} |")
        lines.append("")
    if result.not_available:
        lines += [f"Not yet available (not graded): {', '.join(result.not_available)}", ""]
    if result.not_handed_in:
        lines += [f"Not in this submission (not graded): {', '.join(result.not_handed_in)}", ""]
    failed = [t for a in result.assignments if a.error is None for t in a.tasks if t.status != Status.PASSED]
    if failed:
        lines += ["### What went wrong", ""]
        for t in failed:
            lines += _section(t)
    return "\n".join(lines)


def render(result: GradingResult, limit: int = COMMENT_LIMIT) -> str:
    """The summary, cut at a line to fit ``limit`` characters, with a note saying so."""
    text = full(result) + "\n"
    if len(text) <= limit:
        return text
    note = (f"\n\n> Cut here to fit a pull-request comment ({limit:,} characters): "
            f"{len(text):,} characters in all. `grader grade --format html` or `--format json` has the rest.\n")
    kept = text[:limit - len(note)]
    kept = kept[:kept.rfind("\n")] if "\n" in kept else kept
    if kept.count("<details>") > kept.count("</details>"):  # an open fold would swallow the note
        kept = kept[:kept.rfind("<details>")].rstrip()
    if kept.count("```") % 2:
        kept = kept[:kept.rfind("```")].rstrip()
    return kept + note
