"""How often the diagnoses name the true kind of a realistic bug: the held-out table of bugs.py, each
bug graded alone, in process, on every suite.

A bug's verdict comes from the diagnoses of the check it breaks: ``right`` when they name its true
kind, ``wrong`` when they name another kind (a location kind, which says where rather than what,
is never wrong), else ``silent``. Every bug must cost its task points; no diagnosis may be wrong;
the share of right ones must reach ``TARGET``.

``grade_bugs`` and ``classify`` are for other code too (a benchmark prints the same table).
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from grader.results import CheckResult, DiagnosisKind, TaskResult
from tests.diagnosis.bugs import BUGS, Bug
from tests.helpers import grade_folder, seeded_bugs, solutions_copy

TARGET = 0.90  # the share of bugs whose diagnoses must name the true kind
RIGHT, SILENT, WRONG = "right", "silent", "wrong"
AIDS = sorted({b.aid for b in BUGS})


def grade_bug(bug: Bug, solutions: Path, dest: Path) -> TaskResult:
    """Grade (in process, every suite) a copy of the assignment folder ``solutions`` with ``bug``
    alone applied, in a folder under ``dest``; returns the bugged task's result."""
    folder = seeded_bugs(solutions, dest, [(bug.file, bug.old, bug.new)])
    result = grade_folder(folder, suite="all", sandboxed=False)
    return next(t for t in result.assignments[0].tasks if t.id == bug.task)


def grade_bugs(bugs: Iterable[Bug] = BUGS, workdir: Path | None = None) -> dict[Bug, TaskResult]:
    """Each bug graded alone (one solutions copy per assignment, one bugged copy per bug, under
    ``workdir`` or a temporary folder removed afterwards): ``{bug: its task's result}``."""
    bugs = list(bugs)
    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="diagnosis-")) if temporary else Path(workdir)
    try:
        made = {aid: solutions_copy(root / "solutions", aid) for aid in sorted({b.aid for b in bugs})}
        return {bug: grade_bug(bug, made[bug.aid], root / f"bug{i}") for i, bug in enumerate(bugs)}
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


def broken_check(bug: Bug, task: TaskResult) -> CheckResult | None:
    """The check ``bug`` names, when it failed."""
    return next((c for c in task.checks if c.name == bug.check and not c.passed), None)


def verdict(bug: Bug, task: TaskResult) -> tuple[str, list[DiagnosisKind]]:
    """``right``, ``silent`` or ``wrong``, and the kinds the broken check's diagnoses gave."""
    check = broken_check(bug, task)
    kinds = check.kinds() if check is not None else []
    if bug.kind in kinds:
        return RIGHT, kinds
    if any(k != bug.kind and not k.is_location for k in kinds):
        return WRONG, kinds
    return SILENT, kinds


def classify(results: Mapping[Bug, TaskResult]) -> dict:
    """Verdicts of graded bugs (``{bug: its task's result}``, as :func:`grade_bugs` gives), counted.

    Returns ``{"kinds": {kind: {"bugs", "right", "silent", "wrong"}}`` (kinds in DiagnosisKind's
    order), ``"total"`` (the same counts over every bug), ``"right_rate"`` (right / bugs),
    ``"bugs"``: one ``{"bug", "task", "check", "kind", "verdict", "given", "why"}`` per bug, and
    ``"undetected"``: the names of bugs whose task lost no points or whose check did not fail."""
    rows, undetected = [], []
    for bug, task in results.items():
        if task.score >= task.max_score or broken_check(bug, task) is None:
            undetected.append(bug.name)
        said, given = verdict(bug, task)
        rows.append({"bug": bug.name, "task": bug.task, "check": bug.check, "kind": bug.kind.value, "verdict": said,
                     "given": [k.value for k in given], "why": bug.why})
    kinds: dict[str, dict[str, int]] = {}
    for kind in DiagnosisKind:
        mine = [r for r in rows if r["kind"] == kind.value]
        if mine:
            kinds[kind.value] = _counts(mine)
    total = _counts(rows)
    rate = total[RIGHT] / total["bugs"] if total["bugs"] else 0.0
    return {"kinds": kinds, "total": total, "right_rate": rate, "bugs": rows, "undetected": undetected}


def _counts(rows: list[dict]) -> dict[str, int]:
    return {"bugs": len(rows), **{v: sum(r["verdict"] == v for r in rows) for v in (RIGHT, SILENT, WRONG)}}


def render(summary: dict) -> str:
    """The table of :func:`classify`'s counts: kind | bugs | right | silent | wrong, the totals and the right rate."""
    lines = [f"{'kind':<13}| {'bugs':>4} | {'right':>5} | {'silent':>6} | {'wrong':>5}"]
    lines.append("-" * len(lines[0]))
    for kind, c in [*summary["kinds"].items(), ("total", summary["total"])]:
        if kind == "total":
            lines.append("-" * len(lines[0]))
        lines.append(f"{kind:<13}| {c['bugs']:>4} | {c[RIGHT]:>5} | {c[SILENT]:>6} | {c[WRONG]:>5}")
    lines.append(f"right rate {summary['right_rate']:.1%} (target {TARGET:.0%})")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def graded(solutions, tmp_path_factory):
    """``graded(aid)`` -> ``{bug: its task's result}`` for that assignment's bugs, each graded alone
    (once per module: the parametrized tests and the summaries share them)."""
    made: dict[str, dict[Bug, TaskResult]] = {}

    def get(aid: str) -> dict[Bug, TaskResult]:
        if aid not in made:
            made[aid] = {bug: grade_bug(bug, solutions(aid), tmp_path_factory.mktemp(f"bug-{aid}"))
                         for bug in BUGS if bug.aid == aid}
        return made[aid]
    return get


@pytest.fixture(scope="module")
def summary(graded) -> dict:
    return classify({bug: task for aid in AIDS for bug, task in graded(aid).items()})


def test_the_table_is_well_formed():
    assert len(BUGS) >= 66 and len(AIDS) >= 11
    assert len({b.name for b in BUGS}) == len(BUGS), "two bugs of one task, check and kind"
    assert all(not b.kind.is_location for b in BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_each_bug_costs_its_task(bug, graded):
    task = graded(bug.aid)[bug]
    assert task.score < task.max_score, f"{bug.name} ({bug.why}) cost {bug.task} nothing"
    assert broken_check(bug, task) is not None, \
        f"{bug.name} ({bug.why}): {bug.check} did not fail; failing: {[c.name for c in task.checks if not c.passed]}"


def test_no_diagnosis_names_a_wrong_kind(summary):
    wrong = [f"{r['bug']} ({r['why']}): diagnosed as {', '.join(r['given'])}"
             for r in summary["bugs"] if r["verdict"] == WRONG]
    assert not wrong, "diagnoses that name the wrong kind:\n" + "\n".join(wrong)


def test_the_right_rate_reaches_the_target(summary):
    assert summary["right_rate"] >= TARGET, render(summary)


def test_print_the_table(summary, request):
    text = render(summary)
    silent = [f"  {r['bug']}: {r['why']}" for r in summary["bugs"] if r["verdict"] == SILENT]
    print("\n" + text + ("\nsilent:\n" + "\n".join(silent) if silent else ""))
    request.node.add_report_section("call", "diagnosis kinds", text)
