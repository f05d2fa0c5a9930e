"""Grading does not drift: the JSON of the solutions and of the buggy example match frozen copies.

The frozen copies were made before the grader was reorganised; a field may be added to the
report, but no field they hold may change value, apart from the timestamp, a task's running
time, rounding noise in the error sizes of a check (a least-squares solve differs in the last
bits from run to run), and ``where`` of a check that passed (only a failure says where). When a change to a suite or a
message is intended, regenerate them and say why in the commit.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.reports.json import render
from tests.helpers import COURSE

FROZEN = Path(__file__).parent / "frozen"
AVAILABLE = [a.id for a in COURSE.assignments if a.available]


NOISE = 1e-9  # error sizes below this are rounding


def drift(frozen, now, path: str = "") -> list[str]:
    """Where ``now`` differs from ``frozen``, ignoring keys that only ``now`` has."""
    if isinstance(frozen, dict):
        if not isinstance(now, dict):
            return [f"{path}: no longer an object"]
        out = []
        for k, v in frozen.items():
            if k not in now:
                out.append(f"{path}.{k}: missing")
            elif k == "where" and frozen.get("passed") is True or k == "time_s":
                continue
            elif k.endswith("_err") and isinstance(v, float) and isinstance(now[k], float) and \
                    (abs(v - now[k]) <= NOISE or abs(v - now[k]) <= 1e-6 * abs(v)):
                continue
            else:
                out += drift(v, now[k], f"{path}.{k}")
        return out
    if isinstance(frozen, list):
        if not isinstance(now, list) or len(now) != len(frozen):
            return [f"{path}: length {len(frozen)} -> {len(now) if isinstance(now, list) else now!r}"]
        return [d for i, (a, b) in enumerate(zip(frozen, now)) for d in drift(a, b, f"{path}[{i}]")]
    return [] if frozen == now else [f"{path}: {frozen!r:.120} -> {now!r:.120}"]


def test_drift_finds_a_changed_value_and_a_missing_key_but_allows_new_keys():
    frozen = {"a": [{"x": 1, "y": "m"}], "b": 2}
    assert drift(frozen, {"a": [{"x": 1, "y": "m", "new": 0}], "b": 2, "c": 3}) == []
    assert drift(frozen, {"a": [{"x": 2, "y": "m"}]}) == [".a[0].x: 1 -> 2", ".b: missing"]
    check = {"passed": True, "where": [0, 1], "max_abs_err": 1e-14}
    assert drift(check, {"passed": True, "where": None, "max_abs_err": 3e-14}) == []
    assert drift(check, {"passed": True, "where": None, "max_abs_err": 0.1}) == [".max_abs_err: 1e-14 -> 0.1"]


@pytest.mark.parametrize("aid", AVAILABLE)
def test_solutions_report_matches_the_frozen_one(aid, graded_solutions):
    frozen = json.loads((FROZEN / "solutions.json").read_text())
    assignment = next(a for a in frozen["assignments"] if a["id"] == aid)
    now = json.loads(render(graded_solutions(aid)))
    assert now["assignments"][0]["score"] == now["assignments"][0]["max_score"]
    assert drift(assignment, now["assignments"][0]) == []


def test_buggy_example_report_matches_the_frozen_one(graded_buggy):
    frozen = json.loads((FROZEN / "buggy.json").read_text())
    now = json.loads(render(graded_buggy))
    now.pop("graded_at")
    assert drift(frozen, now) == []
