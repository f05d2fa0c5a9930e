"""A pull request's summary of a GradingResult in GitHub Markdown: a table per assignment, then each
task that lost points with its diagnosis, short enough for one comment."""
from __future__ import annotations

from grader.i18n import _
from grader.reports.text import shown_points, status_word, suite_words
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
    lines = [f"#### {ICON[t.status]} `{t.id}`: " + _("{status}, {score}/{most}", status=status_word(t.status),
                                                         score=shown_points(t.score), most=shown_points(t.max_score)),
             ""]
    failing = [c for c in t.checks if not c.passed]
    shown = failing if t.status == Status.FAILED else failing[:1]  # a run that broke says the same for every check
    lines += [f"- **{c.name}**: {' '.join(c.said.split())}" for c in shown]
    if t.blocked_by:
        lines.append("- " + _("calls {tasks}, which fail(s) too: look there first",
                              tasks=", ".join(f"`{b}`" for b in t.blocked_by)))
    lines += ["- " + _("note: {note}", note=n) for n in t.notes]
    if t.feedback:
        tail = t.feedback[-FEEDBACK_CHARS:]
        lines += ["", "<details><summary>" + _("your code's output") + "</summary>", "", _fence(tail), "", "</details>"]
    return lines + [""]


def full(result: GradingResult) -> str:
    """The summary without regard to its length."""
    lines = [f"## {result.submission}: {shown_points(result.score)} / {shown_points(result.max_score)}", "",
             f"{suite_words(result.suite)}, {result.device}"
             + (_("; submitted at {time}", time=result.late.submitted_at) if result.late else ""), ""]
    for a in result.assignments:
        late = _(", late penalty -{penalty} (before it: {raw})", penalty=format(a.late_penalty, ".0%"),
                 raw=shown_points(a.raw_score)) if a.late_penalty else ""
        lines += [f"### {a.id}: {shown_points(a.score)} / {shown_points(a.max_score)}{late}", ""]
        if a.error is not None:
            lines += [_("Not graded: {why}", why=_cell(a.message)), ""]
            continue
        lines += [f"| {_('task')} | {_('points')} | {_('status')} | {_('diagnosis')} |", "| --- | ---: | --- | --- |"]
        for t in a.tasks:
            failing = [c for c in t.checks if not c.passed]
            diagnosis = f"{failing[0].name}: {failing[0].said}" if failing else ""
            lines.append(f"| `{t.id}` | {shown_points(t.score)}/{shown_points(t.max_score)} | {ICON[t.status]} "
                         f"{status_word(t.status)} | {_cell(diagnosis)} |")
        lines.append(f"| **{_('total')}** | **{shown_points(a.score)}/{shown_points(a.max_score)}** | | "
                     f"{_cell(a.message)} |")
        lines.append("")
    if result.not_available:
        lines += [_("Not yet available (not graded): {ids}", ids=", ".join(result.not_available)), ""]
    if result.not_handed_in:
        lines += [_("Not in this submission (not graded): {ids}", ids=", ".join(result.not_handed_in)), ""]
    failed = [t for a in result.assignments if a.error is None for t in a.tasks if t.status != Status.PASSED]
    if failed:
        lines += ["### " + _("What went wrong"), ""]
        for t in failed:
            lines += _section(t)
    return "\n".join(lines)


def render(result: GradingResult, limit: int = COMMENT_LIMIT) -> str:
    """The summary, cut at a line to fit ``limit`` characters, with a note saying so."""
    text = full(result) + "\n"
    if len(text) <= limit:
        return text
    note = "\n\n> " + _("Cut here to fit a pull-request comment ({limit} characters): {n} characters in all. "
                         "`grader grade --format html` or `--format json` has the rest.", limit=format(limit, ","),
                         n=format(len(text), ",")) + "\n"
    kept = text[:limit - len(note)]
    kept = kept[:kept.rfind("\n")] if "\n" in kept else kept
    if kept.count("<details>") > kept.count("</details>"):  # an open fold would swallow the note
        kept = kept[:kept.rfind("<details>")].rstrip()
    if kept.count("```") % 2:
        kept = kept[:kept.rfind("```")].rstrip()
    return kept + note
