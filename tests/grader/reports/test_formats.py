"""Each format renders the solutions, the buggy example and a broken submission, and says what the JSON says."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from grader.reports import GRADING_FORMATS, html, markdown, render
from grader.reports.markdown import COMMENT_LIMIT
from grader.reports.text import shown_points
from grader.results import CheckResult, GradingResult, Status

KINDS = ("solutions", "buggy", "broken")


def test_the_broken_submission_breaks_in_each_way(broken):
    statuses = {t.id: t.status for t in broken.tasks()}
    assert statuses == {"a02.sigmoid_forward": Status.NOT_IMPLEMENTED, "a02.relu_backward": Status.TIMEOUT,
                        "a02.mse_loss": Status.ERROR, "a02.affine_forward": Status.PASSED}


@pytest.mark.parametrize("kind", KINDS)
def test_every_format_renders_every_kind_and_json_loads_back(kind, gradings):
    result = gradings[kind]
    for fmt in GRADING_FORMATS:
        if fmt != "html":  # drawn once, in its own tests
            assert render(result, fmt).strip()
    data = json.loads(render(result, "json"))
    assert GradingResult.from_dict(data) == result


# JUnit: the structure of Jenkins' JUnit schema (junit-10.xsd), checked element by element.
JUNIT = {  # element: (required attributes, optional attributes, children in order with at most how many)
    "testsuites": (set(), {"name", "time", "tests", "failures", "errors", "disabled"}, [("testsuite", None)]),
    "testsuite": ({"name", "tests"}, {"failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname",
                                      "id", "package", "file", "log", "url", "version"},
                  [("properties", 1), ("testcase", None), ("system-out", 1), ("system-err", 1)]),
    "properties": (set(), set(), [("property", None)]),
    "property": ({"name", "value"}, set(), []),
    "testcase": ({"name"}, {"assertions", "time", "classname", "status"},
                 [("skipped", 1), ("error", None), ("failure", None), ("system-out", None), ("system-err", None)]),
    "failure": (set(), {"message", "type"}, []),
    "error": (set(), {"message", "type"}, []),
    "skipped": (set(), {"message"}, []),
    "system-out": (set(), set(), []),
    "system-err": (set(), set(), []),
}
NUMERIC = {"tests", "failures", "errors", "skipped", "disabled"}


def schema_errors(element: ET.Element, path: str = "") -> list[str]:
    path = f"{path}/{element.tag}"
    if element.tag not in JUNIT:
        return [f"{path}: unknown element"]
    required, optional, children = JUNIT[element.tag]
    errors = [f"{path}: missing @{a}" for a in sorted(required - set(element.attrib))]
    errors += [f"{path}: unknown @{a}" for a in sorted(set(element.attrib) - required - optional)]
    errors += [f"{path}: @{a} is not a count" for a in NUMERIC & set(element.attrib)
               if not element.attrib[a].isdigit()]
    if "time" in element.attrib and not re.fullmatch(r"\d+(\.\d+)?", element.attrib["time"]):
        errors.append(f"{path}: @time is not a decimal")
    order = [tag for tag, _ in children]
    positions = [order.index(c.tag) if c.tag in order else -1 for c in element]
    if -1 in positions:
        errors.append(f"{path}: unexpected child {element[positions.index(-1)].tag}")
    elif positions != sorted(positions):
        errors.append(f"{path}: children out of order")
    for tag, most in children:
        if most is not None and len(element.findall(tag)) > most:
            errors.append(f"{path}: more than {most} {tag}")
    if not children and len(element):
        errors.append(f"{path}: holds elements")
    return errors + [e for c in element for e in schema_errors(c, path)]


def test_the_schema_check_finds_what_is_wrong():
    bad = ET.fromstring('<testsuites><testsuite tests="x"><testcase name="t"><bogus/><system-out/><failure/>'
                        '</testcase></testsuite></testsuites>')
    assert schema_errors(bad) == ["/testsuites/testsuite: missing @name",
                                  "/testsuites/testsuite: @tests is not a count",
                                  "/testsuites/testsuite/testcase: unexpected child bogus",
                                  "/testsuites/testsuite/testcase/bogus: unknown element"]


@pytest.mark.parametrize("kind", KINDS)
def test_junit_fits_the_schema_and_counts_what_the_json_counts(kind, gradings):
    result = gradings[kind]
    data = json.loads(render(result, "json"))
    root = ET.fromstring(render(result, "junit", seconds=3.25))
    assert schema_errors(root) == []
    assert root.get("time") == "3.250"
    tasks = [t for a in data["assignments"] for t in a["tasks"]]
    assert int(root.get("tests")) == len(tasks)
    assert int(root.get("failures")) == sum(t["status"] in ("failed", "not_implemented") for t in tasks)
    assert int(root.get("errors")) == sum(t["status"] in ("error", "timeout") for t in tasks)
    for a, suite in zip(data["assignments"], root.findall("testsuite")):
        assert suite.get("name") == a["id"] and int(suite.get("tests")) == len(a["tasks"])
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert float(props["score"]) == a["score"] and float(props["late_penalty"]) == a["late_penalty"]
        for t, case in zip(a["tasks"], suite.findall("testcase")):
            assert case.get("name") == t["id"]
            failed = [c for c in t["checks"] if not c["passed"]]
            if t["status"] == "failed":  # one failure per failed check, with its diagnosis
                assert [f.get("message") for f in case.findall("failure")] == \
                    [CheckResult.from_dict(c).said for c in failed]
            elif t["status"] != "passed":
                (only,) = case.findall("error" if t["status"] in ("error", "timeout") else "failure")
                assert only.get("type") == t["status"] and only.get("message") == CheckResult.from_dict(failed[0]).said
            else:
                assert not case.findall("failure") and not case.findall("error")


def test_junit_keeps_a_students_control_characters_out_of_the_xml(broken):
    import copy
    result = copy.deepcopy(broken)
    result.assignments[0].tasks[0].feedback = "bell \x07 and escape \x1b[31m"
    text = render(result, "junit")
    assert "\\x07" in text and "\\x1b" in text
    ET.fromstring(text)


@pytest.mark.parametrize("kind", KINDS)
def test_gradescope_scores_add_up_and_hidden_cases_stay_hidden(kind, gradings):
    result = gradings[kind]
    data = json.loads(render(result, "gradescope", seconds=12.0))
    assert data["execution_time"] == 12.0 and data["stdout_visibility"] == "hidden"
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(result.score, abs=1e-6)
    assert data["score"] == result.score
    for t in data["tests"]:
        assert {"score", "max_score", "name", "number", "output", "visibility"} <= set(t)
        assert t["visibility"] in ("visible", "after_published")
    scored = [t for t in data["tests"] if t["max_score"] > 0]
    assert [t["name"] for t in scored] == [t.id for t in result.tasks()]
    assert all(t["visibility"] == "after_published" for t in scored)  # graded on the hidden cases too
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert len(visible) == len(result.tasks()) and all(t["max_score"] == 0 == t["score"] for t in visible)
    shown = data["output"] + "".join(t["output"] for t in visible)
    assert not re.search(r"hidden case \d", shown)
    hidden_failures = {t.id for t in result.tasks() for c in t.checks if not c.passed and c.suite == "hidden"}
    if kind == "buggy":  # mlp_backward's dW4 and sgd_step's b4 fail on a hidden case only
        assert hidden_failures >= {"a02.mlp_backward", "a02.sgd_step"}
        late = [t for t in data["tests"] if t["name"].endswith("late penalty")]
        assert len(late) == 1 and late[0]["score"] < 0 and late[0]["visibility"] == "after_published"
        assert any("hidden case 5: dW4" in t["output"] for t in scored)


def test_gradescope_on_the_public_suite_shows_every_test(buggy):
    import copy
    public = copy.deepcopy(buggy)
    public.suite = "public"
    data = json.loads(render(public, "gradescope"))
    assert "execution_time" not in data
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    assert len(data["tests"]) == len(public.tasks()) + 1  # and the late penalty


@pytest.mark.parametrize("kind", KINDS)
def test_markdown_lists_every_failed_task_with_its_diagnosis(kind, gradings):
    result = gradings[kind]
    text = render(result, "markdown")
    assert len(text) <= COMMENT_LIMIT
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(result.tasks())
    for t in result.tasks():
        row = next(r for r in rows if r.startswith(f"| `{t.id}` |"))
        assert t.status.value in row
        if t.status != Status.PASSED:
            first = next(c for c in t.checks if not c.passed)
            assert f"#### {markdown.ICON[t.status]} `{t.id}`: {t.status.value}" in text
            assert " ".join(first.message.split()) in text
    for a in result.assignments:
        assert f"| **total** | **{shown_points(a.score)}/{shown_points(a.max_score)}** |" in text
        if a.late_penalty:
            assert f"late penalty -{a.late_penalty:.0%}" in text


def test_markdown_is_cut_to_fit_a_comment_with_a_note(buggy):
    from grader.reports import markdown
    assert len(markdown.full(buggy)) > 2500
    text = markdown.render(buggy, limit=2500)
    assert len(text) <= 2500
    assert "Cut here to fit a pull-request comment (2,500 characters)" in text
    assert text.count("<details>") == text.count("</details>") and text.count("```") % 2 == 0
    assert all(f"| `{t.id}` |" in text for t in buggy.tasks())  # the table comes first and stays whole
    assert markdown.render(buggy) == markdown.full(buggy) + "\n"  # under GitHub's limit: whole


class Page(HTMLParser):
    """What a page holds: its tags, its images' sources, and whether anything is fetched from elsewhere."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("data:", "#")):
                self.external.append(value)
        if tag in ("link", "script", "iframe"):
            self.external.append(tag)


def test_html_is_one_page_with_tables_diagnoses_and_a_heatmap_per_failed_tensor_check(buggy, buggy_page):
    page = Page(buggy_page)
    assert page.external == []
    assert page.tags.count("table") == 2
    mapped = [c for t in buggy.tasks() for c in t.checks if c.error_map is not None]
    assert len(mapped) >= 4 and all(not c.passed for c in mapped)
    drawn = [c for c in mapped if not html.is_single_value(c.error_map)]  # a scalar's error is a number
    assert len(page.images) == len(drawn) and len(drawn) < len(mapped)
    assert buggy_page.count("|got - expected| / allowed = ") == len(mapped) - len(drawn)
    assert all(src.startswith("data:image/png;base64,iVBOR") for src in page.images)  # PNG's signature
    for t in buggy.tasks():
        for c in t.checks:
            if not c.passed:
                assert c.message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in buggy_page


def test_html_folds_the_students_output(broken):
    page = render(broken, "html")
    assert "<details><summary>Your code's output or traceback</summary><pre>" in page
    assert "ValueError: shapes confuse me" in page and "about to fail" in page
    assert page.count("<img") == 0  # nothing was compared: no heatmap


def test_csv_has_a_row_per_student_and_assignment(gradings):
    from grader.reports import csv
    text = render({"zoe": gradings["buggy"], "adam": gradings["solutions"]}, "csv")
    lines = text.splitlines()
    assert lines[0] == ",".join(csv.HEADER)
    assert lines[1] == "adam,a02_mlp_backprop,graded,30,0,30,30,"
    assert lines[2] == "zoe,a02_mlp_backprop,graded,20.875,4.175,16.7,30,"  # 20% off for two started days late
