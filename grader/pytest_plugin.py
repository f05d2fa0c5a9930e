"""pytest plugin: the points a student's public tests earned, per assignment, in pytest's terminal summary.

Each public test (:func:`grader.student.public_tests`) records its task's points on its report
(``user_properties``, which pytest-xdist carries back from its workers); this sums them per
assignment once the run ends: ``a02_mlp_backprop: 20.67 / 30 points (17 tasks)``. Registered by
the package's ``pytest11`` entry point, so it needs no conftest.
"""
from __future__ import annotations

from typing import Any

PROPERTY = "deepgrade_points"  # (assignment id, task id, points, max points)


def points_of(reports: list[Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """Assignment id -> task id -> (points, max points), from the call reports that carry them."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for report in reports:
        for name, value in getattr(report, "user_properties", ()):
            if name == PROPERTY and getattr(report, "when", "call") == "call":
                aid, task, score, max_score = value
                out.setdefault(aid, {})[task] = (float(score), float(max_score))
    return out


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001  (pytest's hook signature)
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    graded = points_of(reports)
    if graded:
        from grader import i18n  # only when a run ends: pytest's start stays as cheap as it was
        from grader.reports.text import points_lines
        with i18n.using(_language()):
            terminalreporter.section(i18n._("points"))
            for line in points_lines(graded):
                terminalreporter.write_line(line)


def _language() -> str:
    """The environment's language, else course.yaml's (the same choice the public tests made)."""
    from grader import i18n, paths
    from grader.course import config
    if i18n.from_environment() is None:
        try:
            return i18n.choose(None, config.load(paths.COURSE).language)
        except config.ConfigError:  # the public tests already failed saying why
            pass
    return i18n.choose()
