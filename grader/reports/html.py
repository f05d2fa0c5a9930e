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

from grader.i18n import N_, _, current
from grader.reports.text import sandbox_words, shown_points, status_word, suite_words
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
# A Chinese page names the CJK fonts of each system before the generic family, which may have no CJK glyphs.
STYLE_ZH = """
body { font-family: system-ui, "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "WenQuanYi Micro Hei", sans-serif; }
"""
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}
KIND_WORDS = {"output": N_("output"), "gradient": N_("gradient"), "property": N_("property")}


def _e(text: object) -> str:
    return html.escape(str(text))


def _badge(status: Status) -> str:
    return f'<span class="badge {_e(status.value)}">{_e(status_word(status).replace("_", " "))}</span>'


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
    out = [f'<div class="check"><code>{_e(check.name)}</code> ({_e(_(KIND_WORDS[check.kind.value]))}): {_e(check.said)}']
    kinds = [d.kind for d in check.diagnoses if not d.kind.is_location]
    if kinds:
        out.append(" " + " ".join(f'<span class="kind">{_e(k.value.replace("_", " "))}</span>' for k in kinds))
    if check.max_abs_err is not None:
        out.append("<br>" + _e(_("max abs error {abs}, max rel error {rel}", abs=format(check.max_abs_err, ".3g"),
                                  rel=format(check.max_rel_err or 0.0, ".3g"))))
    if check.error_map is not None and is_single_value(check.error_map):
        ratio = check.error_map.values[0][0] if check.error_map.values and check.error_map.values[0] else 0.0
        out.append("<br>" + _e(_("|got - expected| / allowed = {ratio} (within tolerance)", ratio=format(ratio, ".3g"))
                               if ratio <= 1 else
                               _("|got - expected| / allowed = {ratio} (beyond tolerance)", ratio=format(ratio, ".3g"))))
    elif check.error_map is not None:
        data = base64.b64encode(heatmap_png(check, check.error_map)).decode("ascii")
        out.append(f'<img class="heatmap" alt="{_e(_("heatmap of the error of {name}", name=check.name))}" '
                   f'src="data:image/png;base64,{data}">')
    return out + ["</div>"]


def _task(t: TaskResult) -> list[str]:
    out = [f'<section class="task" id="{_e(t.id)}"><h3>{_e(t.id)} {_badge(t.status)} '
           f"{shown_points(t.score)}/{shown_points(t.max_score)}</h3>"]
    failing = [c for c in t.checks if not c.passed]
    for c in failing if t.status == Status.FAILED else failing[:1]:  # a broken run says the same for every check
        out += _check(c)
    if t.blocked_by:
        out.append(f"<p>{_e(_('It calls {tasks}, which fail(s) too: look there first.', tasks=', '.join(t.blocked_by)))}"
                   "</p>")
    out += [f"<p>{_e(_('Note: {note}', note=n))}</p>" for n in t.notes]
    if t.feedback:
        summary = _("Your code's output or traceback")
        out.append(f"<details><summary>{html.escape(summary, quote=False)}</summary><pre>{_e(t.feedback)}</pre></details>")
    return out + ["</section>"]


def render(result: GradingResult) -> str:
    title = f"{result.submission}: {shown_points(result.score)} / {shown_points(result.max_score)}"
    lang = current()
    style = STYLE + (STYLE_ZH if lang == "zh_CN" else "")
    out = ['<!DOCTYPE html>', f'<html lang="{HTML_LANG.get(lang, "en")}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{style}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    meta = [suite_words(result.suite), result.device]
    if result.late is not None:
        meta.append(_("submitted at {time}", time=result.late.submitted_at))
    if result.graded_at:
        meta.append(_("graded at {time}", time=result.graded_at))
    out.append(f'<p class="meta">{_e(", ".join(meta))}</p>')
    out += ["<table class=\"assignments\"><tr>" + "".join(f"<th>{_e(h)}</th>" for h in (
        _("assignment"), _("points"), _("late penalty"), _("note"))) + "</tr>"]
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
        out.append("<table class=\"tasks\"><tr>" + "".join(f"<th>{_e(h)}</th>" for h in (
            _("task"), _("points"), _("status"), _("diagnosis"))) + "</tr>")
        for t in a.tasks:
            failing = [c for c in t.checks if not c.passed]
            first = f"{failing[0].name}: {failing[0].said}" if failing else ""
            name = f'<a href="#{_e(t.id)}">{_e(t.id)}</a>' if t.status != Status.PASSED else _e(t.id)
            out.append(f"<tr><td>{name}</td><td class=\"points\">{shown_points(t.score)}/{shown_points(t.max_score)}"
                       f"</td><td>{_badge(t.status)}</td><td>{_e(first)}</td></tr>")
        late = _(" (before the late penalty: {raw})", raw=shown_points(a.raw_score)) if a.late_penalty else ""
        out.append(f'<tr class="total"><td>{_e(_("total"))}</td><td class="points">{shown_points(a.score)}/'
                   f"{shown_points(a.max_score)}</td><td></td><td>{_e(late.strip())}</td></tr></table>")
        if a.error is None:
            for t in a.tasks:
                if t.status != Status.PASSED:
                    out += _task(t)
    if result.not_available:
        out.append(f"<p>{_e(_('Not yet available (not graded): {ids}', ids=', '.join(result.not_available)))}</p>")
    if result.not_handed_in:
        out.append(f"<p>{_e(_('Not in this submission (not graded): {ids}', ids=', '.join(result.not_handed_in)))}</p>")
    if result.sandbox is not None:
        out.append(f'<p class="meta">{_e(_("sandbox: {sandbox}", sandbox=sandbox_words(result.sandbox)))}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
