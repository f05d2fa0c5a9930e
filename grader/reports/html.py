"""A feedback page of a GradingResult: one self-contained HTML file (inline CSS, images as data URIs).

Per assignment a table of its tasks; per task that lost points each failed check's diagnosis, a
heatmap of ``|got - expected| / allowed`` where values were compared, and the student's output
or traceback, folded. Nothing on the page is fetched from anywhere.
"""
from __future__ import annotations

import base64
import html
import io
import math

from grader.reports.text import shown_points
from grader.results import CheckResult, ErrorMap, GradingResult, Status, TaskResult

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1f2328; margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; }
th { background: #dde6f3; text-align: left; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; vertical-align: top; }
td.points { text-align: right; white-space: nowrap; } tr.total td { font-weight: 600; background: #f6f8fa; }
.badge { border-radius: 1em; padding: .05em .6em; font-size: .85em; white-space: nowrap; }
.passed { background: #dafbe1; } .failed, .error { background: #ffe1e1; } .timeout { background: #f3e1ff; }
.banned { background: #ffd8b5; }
.not_implemented { background: #fff4c2; }
.task { border: 1px solid #d0d7de; border-radius: 6px; padding: .4em 1em 1em; margin: 1em 0; }
.kind { background: #e8e0ff; border-radius: .3em; padding: 0 .3em; font-size: .85em; }
.check { margin: .6em 0; } .check code { background: #f6f8fa; padding: 0 .3em; }
.heatmap { display: block; margin: .5em 0; max-width: 100%; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: 13px; }
summary { cursor: pointer; color: #0969da; }
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _badge(status: Status) -> str:
    return f'<span class="badge {_e(status.value)}">{_e(status.value.replace("_", " "))}</span>'


def heatmap_png(check: CheckResult, error_map: ErrorMap) -> bytes:
    """The error map as a PNG: log-scaled, blue within tolerance, red beyond it (ratio above 1)."""
    buf = io.BytesIO()
    heatmap_figure(check, error_map).savefig(buf, format="png")
    return buf.getvalue()


def is_single_value(error_map: ErrorMap) -> bool:
    """A scalar (a loss) or a tensor of one element: a number says it, a picture of one cell does not."""
    return math.prod(error_map.shape) <= 1


def heatmap_figure(check: CheckResult, error_map: ErrorMap):
    """The figure :func:`heatmap_png` draws; its axes count elements, so every tick is a whole index."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.ticker import MaxNLocator
    from matplotlib.figure import Figure  # no pyplot: nothing global changes

    floor = 1e-3  # ratios below it (exact values included) share the lowest colour
    z = [[math.log10(max(v, floor)) for v in row] for row in error_map.values]  # (rows, cols)
    rows, cols = len(z), len(z[0])
    top = max(1.0, max(max(row) for row in z))
    height = 1.6 + min(3.4, 5.0 * rows / cols)  # inches: a vector is a strip, a square matrix a square
    fig = Figure(figsize=(6.4, height), dpi=80)
    fig.subplots_adjust(left=0.1, right=0.9, bottom=0.75 / height, top=1 - 0.4 / height)  # fixed: no layout pass
    ax = fig.add_subplot()
    image = ax.imshow(z, cmap="coolwarm", norm=TwoSlopeNorm(vcenter=0.0, vmin=math.log10(floor), vmax=top),
                      aspect="auto", interpolation="nearest")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("log10 |got - expected| / allowed")
    shape = str(tuple(error_map.shape)) if error_map.shape else "(a number)"
    where = f"{check.suite} case {check.case}" if check.suite is not None else "the failing case"
    ax.set_title(f"{check.name} {shape}, {where}: above 0 is out of tolerance", fontsize=10)
    folded = len(error_map.shape) > 2
    pooled = rows * cols < math.prod(error_map.shape)
    ax.set_xlabel("last dimension" + (" (each cell the worst of its block)" if pooled else ""))
    ax.set_ylabel("leading dimensions" if folded else "rows" if rows > 1 else "")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if rows == 1:
        ax.set_yticks([])
    return fig


def _check(check: CheckResult) -> list[str]:
    out = [f'<div class="check"><code>{_e(check.name)}</code> ({_e(check.kind)}): {_e(check.said)}']
    kinds = [d.kind for d in check.diagnoses if not d.kind.is_location]
    if kinds:
        out.append(" " + " ".join(f'<span class="kind">{_e(k.value.replace("_", " "))}</span>' for k in kinds))
    if check.max_abs_err is not None:
        out.append(f"<br>max abs error {check.max_abs_err:.3g}, max rel error {check.max_rel_err or 0.0:.3g}")
    if check.error_map is not None and is_single_value(check.error_map):
        ratio = check.error_map.values[0][0] if check.error_map.values and check.error_map.values[0] else 0.0
        out.append(f"<br>|got - expected| / allowed = {ratio:.3g} ({'within' if ratio <= 1 else 'beyond'} "
                   "tolerance)")
    elif check.error_map is not None:
        data = base64.b64encode(heatmap_png(check, check.error_map)).decode("ascii")
        out.append(f'<img class="heatmap" alt="heatmap of the error of {_e(check.name)}" '
                   f'src="data:image/png;base64,{data}">')
    return out + ["</div>"]


def _task(t: TaskResult) -> list[str]:
    out = [f'<section class="task" id="{_e(t.id)}"><h3>{_e(t.id)} {_badge(t.status)} '
           f"{shown_points(t.score)}/{shown_points(t.max_score)}</h3>"]
    failing = [c for c in t.checks if not c.passed]
    for c in failing if t.status == Status.FAILED else failing[:1]:  # a broken run says the same for every check
        out += _check(c)
    if t.blocked_by:
        out.append(f"<p>It calls {_e(', '.join(t.blocked_by))}, which fail(s) too: look there first.</p>")
    out += [f"<p>Note: {_e(n)}</p>" for n in t.notes]
    if t.feedback:
        out.append(f"<details><summary>Your code's output or traceback</summary><pre>{_e(t.feedback)}</pre></details>")
    return out + ["</section>"]


def render(result: GradingResult) -> str:
    title = f"{result.submission}: {shown_points(result.score)} / {shown_points(result.max_score)}"
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    meta = [f"{result.suite} suite", result.device]
    if result.late is not None:
        meta.append(f"submitted at {result.late.submitted_at}")
    if result.graded_at:
        meta.append(f"graded at {result.graded_at}")
    out.append(f'<p class="meta">{_e(", ".join(meta))}</p>')
    out += ['<table class="assignments"><tr><th>assignment</th><th>points</th><th>late penalty</th><th>note</th></tr>']
    for a in result.assignments:
        late = f"-{a.late_penalty:.0%}" if a.late_penalty else ""
        out.append(f'<tr><td><a href="#{_e(a.id)}">{_e(a.id)}</a></td><td class="points">'
                   f"{shown_points(a.score)}/{shown_points(a.max_score)}</td><td>{late}</td>"
                   f"<td>{_e(a.message)}</td></tr>")
    out.append("</table>")
    for a in result.assignments:
        out.append(f'<h2 id="{_e(a.id)}">{_e(a.id)}: {shown_points(a.score)} / {shown_points(a.max_score)}</h2>')
        if a.message:
            out.append(f"<p>{_e(a.message)}</p>")
        out.append('<table class="tasks"><tr><th>task</th><th>points</th><th>status</th><th>diagnosis</th></tr>')
        for t in a.tasks:
            failing = [c for c in t.checks if not c.passed]
            first = f"{failing[0].name}: {failing[0].said}" if failing else ""
            name = f'<a href="#{_e(t.id)}">{_e(t.id)}</a>' if t.status != Status.PASSED else _e(t.id)
            out.append(f"<tr><td>{name}</td><td class=\"points\">{shown_points(t.score)}/{shown_points(t.max_score)}"
                       f"</td><td>{_badge(t.status)}</td><td>{_e(first)}</td></tr>")
        late = f" (before the late penalty: {shown_points(a.raw_score)})" if a.late_penalty else ""
        out.append(f'<tr class="total"><td>total</td><td class="points">{shown_points(a.score)}/'
                   f"{shown_points(a.max_score)}</td><td></td><td>{_e(late.strip())}</td></tr></table>")
        if a.error is None:
            for t in a.tasks:
                if t.status != Status.PASSED:
                    out += _task(t)
    if result.not_available:
        out.append(f"<p>Not yet available (not graded): {_e(', '.join(result.not_available))}</p>")
    if result.not_handed_in:
        out.append(f"<p>Not in this submission (not graded): {_e(', '.join(result.not_handed_in))}</p>")
    if result.sandbox is not None:
        out.append(f'<p class="meta">sandbox: {_e(result.sandbox.describe())}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
