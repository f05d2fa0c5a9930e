"""The README's examples are true: the numbers and lines it shows are those the commands it names print."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from grader import cli, paths
from grader.results import CheckResult

README = (paths.ROOT / "README.md").read_text(encoding="utf-8")
BUGGY = paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The buggy example graded as the README's commands grade it, in JSON and JUnit."""
    out = tmp_path_factory.mktemp("readme")
    assert cli.main(["grade", str(BUGGY), "-q", "--format", "json", "--output", str(out / "r.json")]) == 0
    assert cli.main(["grade", str(BUGGY), "-q", "--format", "junit", "--output", str(out / "r.xml")]) == 0
    return json.loads((out / "r.json").read_text()), ET.parse(out / "r.xml").getroot()


def json_example() -> str:
    section = README[README.index("## JSON report"):]
    return section[section.index("```\n") + 4:section.index("\n```", section.index("```\n") + 4)]


def test_the_json_examples_numbers_are_a_real_gradings(graded):
    data, _ = graded
    example = json_example()
    score, top = re.search(r'"score": ([\d.]+), "max_score": ([\d.]+)', example).groups()
    assert (float(score), float(top)) == (data["score"], data["max_score"])
    assert re.search(r'"suite": "(\w+)", "device"', example).group(1) == data["suite"]
    task = re.search(r'\{"id": "(a02\.\w+)", "score": ([\d.]+), "max_score": ([\d.]+)', example).groups()
    real = next(t for t in data["assignments"][0]["tasks"] if t["id"] == task[0])
    assert (real["score"], real["max_score"]) == (float(task[1]), float(task[2]))
    message = re.search(r'"message": "(backward: [^"]+)"', example).group(1)
    check = next(c for c in real["checks"] if not c["passed"])
    assert check["message"] == message
    kind = re.search(r'\{"kind": "(\w+)"', example).group(1)
    assert kind in [d["kind"] for d in check["diagnoses"]]


def test_the_quickstarts_failure_lines_are_what_the_public_tests_print(graded):
    data, _ = graded
    shown = re.search(r"```\n   (a02\.\w+): failed, (\d+)/(\d+) points\n     (\w+): (backward: [^\n]+)\n   ```", README)
    assert shown is not None, "the Quickstart's example of a failed public test"
    tid, score, top, name, said = shown.groups()
    task = next(t for t in data["assignments"][0]["tasks"] if t["id"] == tid)
    assert (task["status"], task["score"], task["max_score"]) == ("failed", float(score), float(top))
    check = CheckResult.from_dict(next(c for c in task["checks"] if c["name"] == name))
    assert check.said == said


def test_junit_testcases_carry_their_tasks_time_as_the_readme_says(graded):
    data, root = graded
    assert "each `testcase`'s is\n  its task's" in README
    times = {c.get("name"): float(c.get("time")) for c in root.iter("testcase")}
    tasks = {t["id"]: t["time_s"] for t in data["assignments"][0]["tasks"]}
    assert times.keys() == tasks.keys() and all(t >= 0 for t in times.values())
