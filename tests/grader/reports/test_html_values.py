"""The HTML report draws an error map only where there is one to draw: a number for a scalar, whole-number ticks for indices."""
from __future__ import annotations

from grader.reports import html
from grader.results import CheckKind, CheckResult, ErrorMap


def failed(shape: list[int], values: list[list[float]]) -> CheckResult:
    return CheckResult("loss" if not shape else "dx", False, 0.5, 0.2, "values wrong", CheckKind.OUTPUT,
                       suite="public", case=1, error_map=ErrorMap(shape, values))


def test_a_scalar_is_a_number_not_a_picture():
    out = "".join(html._check(failed([], [[37.5]])))
    assert "<img" not in out
    assert "|got - expected| / allowed = 37.5 (beyond tolerance)" in out


def test_an_array_is_drawn_and_its_ticks_are_whole_indices():
    for shape, values in (([3], [[0.1, 5.0, 0.2]]), ([4, 7], [[float(i * j) for j in range(7)] for i in range(4)])):
        out = "".join(html._check(failed(shape, values)))
        assert '<img class="heatmap"' in out
        ax = html.heatmap_figure(failed(shape, values), ErrorMap(shape, values)).axes[0]
        ticks = [*ax.get_xticks(), *ax.get_yticks()]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
