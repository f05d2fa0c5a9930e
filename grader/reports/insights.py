"""A class's insights (``grader insights``) as one self-contained HTML page, or as JSON.

It takes the plain data of ``grader.insights`` (``Insights.to_dict()``): per assignment the class at
a glance (a histogram drawn by matplotlib, inlined as a data URI), the misconception map (tasks x kinds
of mistake, each cell coloured by the share of the class), and the pairs of similar submissions with
their matching regions side by side. Nothing on the page is fetched from anywhere; it prints.
"""
from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1f2328; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 2px solid #d0d7de; }
h3 { margin-top: 1.4em; } .meta, .note { color: #57606a; }
table { border-collapse: collapse; margin: .6em 0 1em; }
th { background: #dde6f3; text-align: left; }
th, td { border: 1px solid #d0d7de; padding: .25em .55em; vertical-align: top; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.glance { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
.histogram { max-width: 100%; }
table.map th.kind { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-weight: 500; }
table.map td.cell { text-align: center; min-width: 2.2em; }
.bar { display: inline-block; height: .7em; background: #2da44e; vertical-align: middle; margin-right: .4em; }
.pair { border: 1px solid #d0d7de; border-radius: 6px; padding: .4em 1em 1em; margin: 1em 0; break-inside: avoid-page; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.sides pre { background: #f6f8fa; padding: .6em; overflow-x: auto; font-size: 12px; line-height: 1.35; margin: 0;
             max-height: 40em; overflow-y: auto; white-space: pre-wrap; word-break: break-word; }
mark { background: #ffd33d; } .ln { color: #8c959f; display: inline-block; width: 3em; user-select: none; }
.file { font-weight: 700; color: #0969da; } .gap { color: #8c959f; }
.flag { background: #fff4c2; border-radius: 1em; padding: 0 .6em; font-size: .85em; }
@media print {
  body { max-width: none; margin: 0; font-size: 11px; }
  .sides pre { max-height: none; overflow: visible; }
  h2 { break-before: page; } h2:first-of-type { break-before: auto; }
}
"""

HISTOGRAM_COLOUR = "#3b6fb6"


def render_json(data: dict[str, Any]) -> str:
    """The insights as JSON: every number of the page; a pair's code views (HTML) are left out, its matching
    regions are there as files and lines."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("view_a", "view_b")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return json.dumps(strip(data), indent=2) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text))


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _percent(share: float) -> str:
    return f"{100.0 * share:.0f}%"


def histogram_png(summary: dict[str, Any], title: str) -> bytes:
    """The score distribution as a bar chart: students per tenth of the maximum score."""
    from matplotlib.figure import Figure  # no pyplot: nothing global changes

    edges, counts = summary["histogram"]["edges"], summary["histogram"]["counts"]
    fig = Figure(figsize=(5.6, 2.8), dpi=90)
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.2, top=0.88)
    ax = fig.add_subplot()
    lefts = edges[:-1]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    ax.bar(lefts, counts, width=widths, align="edge", color=HISTOGRAM_COLOUR, edgecolor="white")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xticks(edges)
    ax.set_xlabel("score, % of the maximum (after late penalties)")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _glance(aid: str, s: dict[str, Any]) -> list[str]:
    out = ['<div class="glance"><table class="stats"><tbody>']
    rows = [("students", s["students"]), ("graded", s["graded"]),
            ("could not be graded", len(s["ungradable"])), ("late", len(s["late"])),
            ("maximum score", _num(s["max_score"])), ("mean", _num(s["mean"])), ("median", _num(s["median"])),
            ("standard deviation", _num(s["stdev"])), ("lowest", _num(s["minimum"])),
            ("highest", _num(s["maximum"]))]
    t = s["grading_time"]
    if t:
        rows += [("grading time, total", f"{_num(t['total_s'], 1)} s"),
                 ("grading time, median", f"{_num(t['median_s'], 1)} s"),
                 ("grading time, longest", f"{_num(t['max_s'], 1)} s")]
    out += [f'<tr><th>{_e(k)}</th><td class="n">{_e(v)}</td></tr>' for k, v in rows]
    out.append("</tbody></table>")
    data = base64.b64encode(histogram_png(s, f"{aid}: {s['graded']} graded")).decode("ascii")
    out.append(f'<img class="histogram" alt="histogram of the scores of {_e(aid)}" '
               f'src="data:image/png;base64,{data}">')
    out.append("</div>")
    if s["ungradable"]:
        out.append("<h4>Could not be graded</h4><table><tr><th>student</th><th>why</th></tr>")
        out += [f"<tr><td>{_e(u['student'])}</td><td>{_e(u['error'])}</td></tr>" for u in s["ungradable"]]
        out.append("</table>")
    if s["late"]:
        out.append("<h4>Late</h4><table><tr><th>student</th><th>handed in</th><th>time from</th>"
                   "<th>penalty</th><th>score</th></tr>")
        out += [f"<tr><td>{_e(x['student'])}</td><td>{_e(x['submitted_at'])}</td><td>{_e(x['time_source'])}</td>"
                f'<td class="n">{_percent(x["penalty"])}</td><td class="n">{_num(x["score"])}</td></tr>'
                for x in s["late"]]
        out.append("</table>")
    if s["untimed"]:
        out.append(f'<p class="note">{s["untimed"]} submission(s) without a time: no late penalty could apply.</p>')
    if t and t["slowest"]:
        slow = ", ".join(f"{_e(student)} {_num(sec, 1)} s" for student, sec in t["slowest"])
        out.append(f'<p class="note">Slowest to grade: {slow}.</p>')
    return out


MISTAKE = (207, 34, 46)   # a kind of mistake: red, darker as more of the class makes it
STATUS = (110, 119, 129)   # not implemented, broken: grey, it is no misconception


def _cell(count: int, graded: int, colour: tuple[int, int, int] = MISTAKE) -> str:
    if not count:
        return '<td class="cell"></td>'
    share = count / graded if graded else 0.0
    alpha = 0.15 + 0.85 * min(1.0, share)
    ink = "#ffffff" if alpha > 0.55 else "#1f2328"
    r, g, b = colour
    return (f'<td class="cell" style="background: rgba({r}, {g}, {b}, {alpha:.2f}); color: {ink}" '
            f'title="{count} of {graded} ({_percent(share)})">{count}</td>')


def _map(m: dict[str, Any]) -> list[str]:
    kinds = m["kinds"]
    out = ['<table class="map"><thead><tr><th>task</th><th>passed</th>']
    out += [f'<th class="kind">{_e(k.replace("_", " "))}</th>' for k in kinds]
    out.append('<th class="kind">a called task fails</th><th class="kind">no kind named</th>'
               '<th class="kind">not implemented</th><th class="kind">error, timeout, banned</th></tr></thead><tbody>')
    for t in m["tasks"]:
        graded, statuses = t["graded"], t["statuses"]
        width = round(60 * t["pass_rate"])
        out.append(f'<tr><td>{_e(t["task"])}</td><td class="n"><span class="bar" style="width: {width}px"></span>'
                   f'{_percent(t["pass_rate"])} ({t["passed"]}/{graded})</td>')
        out += [_cell(t["kinds"].get(k, 0), graded) for k in kinds]
        broken = sum(statuses.get(k, 0) for k in ("error", "timeout", "banned"))
        out += [_cell(t["called_task"], graded), _cell(t["unnamed"], graded),
                _cell(statuses.get("not_implemented", 0), graded, STATUS), _cell(broken, graded, STATUS)]
        out.append("</tr>")
    out.append("</tbody></table>")
    headline = [t for t in m["tasks"] if t["dominant"]]
    if headline:
        worst = max(headline, key=lambda t: t["kinds"][t["dominant"]])
        n = worst["kinds"][worst["dominant"]]
        out.append(f'<p>Most shared mistake: {_percent(n / worst["graded"])} of the class ({n} of {worst["graded"]}) '
                   f'has a {_e(worst["dominant"].replace("_", " "))} error in {_e(worst["task"])}.</p>')
    return out


def _similarity(aid: str, sim: dict[str, Any] | None, note: str) -> list[str]:
    if sim is None:
        return [f'<p class="note">{_e(note)}</p>']
    flagged = [p for p in sim["pairs"] if p["flagged"]]
    out = [f'<p>{sim["compared"]} submissions read, {sim["pairs_compared"]} pairs compared in '
           f'{_num(sim["seconds"], 1)} s. A pair is <b>similar, worth a look</b> when its score (the share of '
           f'fingerprints both have, over the larger of the two students\' own) is at least {_num(sim["flag_above"])} '
           f'and they share at least {sim["min_shared"]} fingerprints. Similar code is a reason to look, never a '
           "verdict: short functions and standard formulas come out alike, and the skeleton's code "
           + (f"({_e(sim['boilerplate'])}) " if sim["boilerplate"] else "")
           + "is never counted.</p>"]
    if not sim["boilerplate"]:
        out.append(f'<p class="note">No skeleton of {_e(aid)} was found: nothing was excluded as boilerplate, so '
                   "the skeleton's own docstrings and signatures count as shared code.</p>")
    if flagged:
        more = f" (the first {len(flagged)} shown: raise --top to list more)" if sim["flagged"] > len(flagged) else ""
        out.append(f"<p><b>{sim['flagged']} pair(s) similar, worth a look</b>{more}.</p>")
    else:
        out.append("<p>No pair is similar enough to be worth a look.</p>")
    if sim["pairs"]:
        out.append("<table><tr><th>rank</th><th>students</th><th>score</th><th>fingerprints shared</th>"
                   "<th>own code matched (first)</th><th>own code matched (second)</th><th></th></tr>")
        for rank, p in enumerate(sim["pairs"], 1):
            mark = '<span class="flag">similar, worth a look</span>' if p["flagged"] else ""
            link = f'<a href="#{_e(aid)}-{rank}">{_e(p["a"])} and {_e(p["b"])}</a>' if p["flagged"] else \
                f'{_e(p["a"])} and {_e(p["b"])}'
            out.append(f'<tr><td class="n">{rank}</td><td>{link}</td><td class="n">{p["score"]:.2f}</td>'
                       f'<td class="n">{p["shared"]}</td><td class="n">{_percent(p["covered_a"])}</td>'
                       f'<td class="n">{_percent(p["covered_b"])}</td><td>{mark}</td></tr>')
        out.append("</table>")
    if sim["no_own_code"]:
        out.append(f'<p class="note">Nothing beyond the skeleton, never paired: {_e(", ".join(sim["no_own_code"]))}.'
                   "</p>")
    if sim["skipped"]:
        out.append("<p class=\"note\">Not read:</p><ul class=\"note\">")
        out += [f"<li>{_e(s['student'])}: {_e(s['why'])}</li>" for s in sim["skipped"]]
        out.append("</ul>")
    for rank, p in enumerate(sim["pairs"], 1):
        if not p["flagged"]:
            continue
        out.append(f'<section class="pair" id="{_e(aid)}-{rank}"><h4>{rank}. {_e(p["a"])} and {_e(p["b"])}: '
                   f'score {p["score"]:.2f}, similar, worth a look</h4>'
                   f'<p class="note">Marked: the code both have (after names, strings, comments and layout are set '
                   f'aside), {_percent(p["covered_a"])} of {_e(p["a"])}\'s own code and '
                   f'{_percent(p["covered_b"])} of {_e(p["b"])}\'s.</p><div class="sides">'
                   f'<div><b>{_e(p["a"])}</b><pre>{p["view_a"]}</pre></div>'
                   f'<div><b>{_e(p["b"])}</b><pre>{p["view_b"]}</pre></div></div></section>')
    return out


def render_html(data: dict[str, Any]) -> str:
    """The insights as one self-contained page: inline CSS, the histograms as data URIs, no script."""
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Class insights: {_e(data['gradebook'])}</title><style>{STYLE}</style></head><body>",
           "<h1>Class insights</h1>",
           f'<p class="meta">Gradebook {_e(data["gradebook"])}'
           + (f', submissions {_e(data["submissions"])}' if data["submissions"] else "")
           + f', made {_e(data["generated_at"])} in {_num(data["seconds"], 1)} s.</p>']
    for a in data["assignments"]:
        aid = a["id"]
        out.append(f'<h2 id="{_e(aid)}">{_e(aid)}</h2><h3>The class at a glance</h3>')
        out += _glance(aid, a["summary"])
        out.append("<h3>Misconception map</h3>"
                   '<p class="note">Each cell counts the students whose failure of the task was diagnosed with that '
                   "kind of mistake (a student once per cell); the darker, the larger the share of the class.</p>")
        out += _map(a["map"])
        out.append("<h3>Similar submissions</h3>")
        out += _similarity(aid, a["similarity"], a["similarity_note"])
    progress = data["progress"]
    out.append(f'<h2 id="progress">Progress over time</h2><p>{"" if progress["available"] else "Not available. "}'
               f'{_e(progress["why"])}</p>')
    out.append("</body></html>\n")
    return "\n".join(out)
