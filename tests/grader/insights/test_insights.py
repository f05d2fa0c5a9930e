"""grader insights on a class made for it: the copy is found and the honest pair is not, the skeletons are
never paired, each buggy task's kind of mistake is in the map, and the JSON's numbers are the gradebook's."""
from __future__ import annotations

import ast
import json
import shutil
import sqlite3
import statistics

import pytest

from grader import cli
from grader.batch.gradebook import Gradebook
from grader.insights import InsightsError, analyse
from grader.insights.similarity import Code, compare
from grader.reports.insights import render_html, render_json
from tests.grader.insights.classroom import AID, DOMINANT


def _pair(insights, a, b):
    pairs = insights.assignments[0].similarity.pairs
    return next((p for p in pairs if {p.a, p.b} == {a, b}), None)


def test_the_disguised_copy_really_is_disguised(classroom):
    ann, ben = (classroom.folder / s / AID / "layers.py" for s in ("ann", "ben"))
    a, b = ann.read_text(), ben.read_text()
    assert "#" in a and "#" not in b  # comments gone
    order = [n.name for n in ast.parse(a).body if isinstance(n, ast.FunctionDef)]
    assert [n.name for n in ast.parse(b).body if isinstance(n, ast.FunctionDef)] == order[::-1]
    assert "dx = dout @ w.T" in a and "dx = dout @ w.T" not in b  # locals renamed


def test_the_copy_is_the_top_pair_far_above_two_honest_solutions(insights):
    sim = insights.assignments[0].similarity
    top = sim.pairs[0]
    assert {top.a, top.b} == {"ann", "ben"} and top.flagged, sim.pairs[:3]
    assert top.score > 0.6 and 0.0 <= top.score <= 1.0
    honest = [_pair(insights, "ann", "cat"), _pair(insights, "ben", "cat")]
    assert all(p is None or p.score < top.score / 5 for p in honest), honest
    assert [(p.a, p.b) for p in sim.pairs if p.flagged] == [(top.a, top.b)]  # nothing else is worth a look
    assert {r.file for r in top.regions_a} >= {"layers.py", "mlp.py"}
    assert "<mark>" in top.view_a and "<mark>" in top.view_b


def test_untouched_skeletons_have_no_code_of_their_own_and_are_never_paired(insights):
    sim = insights.assignments[0].similarity
    assert sim.no_own_code == ["dan", "eve", "fay"]
    assert not [p for p in sim.pairs if {p.a, p.b} & {"dan", "eve", "fay"}]
    assert [(s.student, s.why) for s in sim.skipped] == [("zed", "zed.zip is not a readable .zip archive")]


def test_each_buggy_tasks_dominant_kind_is_in_the_map(insights):
    rows = {t.task: t for t in insights.assignments[0].map.tasks}
    for task, kind in DOMINANT.items():
        assert rows[task].dominant == kind.value, rows[task]
        assert rows[task].kinds[kind.value] == 2 and rows[task].passed == 3
    assert rows["a02.softplus_forward"].kinds == {"not_finite": 1}
    assert "backward" not in insights.assignments[0].map.kinds  # a location is not a kind of mistake


def test_the_json_numbers_are_the_gradebooks(classroom, tmp_path):
    out = tmp_path / "insights.json"
    assert cli.main(["insights", str(classroom.gradebook), "--submissions", str(classroom.folder), "--skeletons",
                     str(classroom.skeleton.parent), "--format", "json", "--output", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    db = sqlite3.connect(classroom.gradebook)
    rows = db.execute("SELECT student, status, score, max_score, late_penalty, error, seconds FROM submissions").fetchall()
    grades = db.execute("SELECT task, status FROM grades").fetchall()
    db.close()
    (a,) = data["assignments"]
    s = a["summary"]
    scores = [r[2] for r in rows if r[1] == "graded"]
    assert (s["students"], s["graded"]) == (len(rows), len(scores)) == (10, 9)
    assert s["mean"] == pytest.approx(statistics.fmean(scores), abs=1e-4)
    assert s["median"] == statistics.median(scores) and s["maximum"] == max(scores) == 30.0
    assert sum(s["histogram"]["counts"]) == len(scores)
    assert s["histogram"]["counts"][0] == sum(1 for x in scores if x < 3.0)  # the skeletons: 0 of 30
    assert s["ungradable"] == [{"student": r[0], "error": r[5]} for r in rows if r[1] == "failed"]
    assert {x["student"]: x["penalty"] for x in s["late"]} == {r[0]: r[4] for r in rows if r[4]} == \
        {"eve": 0.2, "hal": 0.2}
    assert s["grading_time"]["total_s"] == pytest.approx(sum(r[6] for r in rows))
    for t in a["map"]["tasks"]:
        mine = [st for task, st in grades if task == t["task"]]
        assert t["graded"] == len(mine) and t["passed"] == mine.count("passed")
        assert t["statuses"] == {st: mine.count(st) for st in set(mine)}
    assert "view_a" not in json.dumps(a["similarity"])  # the page's HTML stays on the page
    assert a["similarity"]["pairs"][0]["regions_a"][0]["first_line"] >= 1
    assert data["progress"]["available"] is False


def test_student_code_is_escaped_on_the_page(tmp_path):
    evil = "def f(x):\n    y = x + 1  # </pre><script>alert(1)</script>\n    z = y * 2 + x * 3 - y / 4\n" \
           "    w = [z, y, x]\n    return sorted(w, key=lambda v: v * z + y)\n" * 3
    codes = [Code(s, "# ==== m.py\n" + evil, [(0, "m.py")]) for s in ("p", "q")]
    sim = compare(codes, None, [], min_shared=1)
    assert sim.pairs[0].flagged and sim.pairs[0].score == 1.0
    page = render_html({"gradebook": "g", "submissions": "s", "generated_at": "now", "seconds": 0.0,
                        "progress": {"available": False, "why": "no history"}, "assignments": []})
    assert "<script" not in page
    assert "<script" not in sim.pairs[0].view_a and "&lt;script&gt;" in sim.pairs[0].view_a


def test_clear_errors_and_the_gradebook_left_as_it_was(classroom, tmp_path, capsys):
    def fails(*args: str) -> str:
        assert cli.main(["insights", *args, "--format", "json", "-q"]) == 2
        return capsys.readouterr().err

    assert "no such gradebook" in fails(str(tmp_path / "nothing.sqlite"))
    assert not (tmp_path / "nothing.sqlite").exists()
    assert cli.main(["insights", str(tmp_path / "nothing.sqlite"), "-q"]) == 2  # before the --output it needs
    assert "no such gradebook" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    assert "not a gradebook" in fails(str(text))
    empty_file = tmp_path / "empty.sqlite"
    empty_file.write_bytes(b"")
    assert "not a gradebook of this grader" in fails(str(empty_file))
    assert empty_file.read_bytes() == b""  # no schema written into it
    Gradebook(tmp_path / "new.sqlite").close()
    assert "no submissions in the gradebook" in fails(str(tmp_path / "new.sqlite"))
    assert "no such folder" in fails(str(classroom.gradebook), "--submissions", str(tmp_path / "missing"))
    assert "not in the gradebook" in fails(str(classroom.gradebook), "--assignment", "a01_neurons")
    with pytest.raises(InsightsError, match="no such gradebook"):
        analyse(tmp_path / "nope.sqlite")


def test_without_submissions_there_is_no_similarity_and_it_says_why(classroom):
    found = analyse(classroom.gradebook).assignments[0]
    assert found.similarity is None and "--submissions" in found.similarity_note
    data = json.loads(render_json(analyse(classroom.gradebook).to_dict()))
    assert data["assignments"][0]["similarity"] is None


def test_the_page_says_what_it_found_in_careful_words(insights):
    page = render_html(insights.to_dict())
    assert "similar, worth a look" in page and "plagiar" not in page.lower()
    assert "Progress over time" in page and "Not available" in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert "<script" not in page and "<link" not in page
    assert "has a sign error in a02.tanh_backward" in page or "has a missing sum error in a02.affine_backward" in page


def test_a_submission_laid_out_otherwise_is_still_read(classroom, tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(classroom.folder / "ann" / AID, folder / "ann")  # the files at the top, no a02 folder
    shutil.make_archive(str(folder / "ben"), "zip", classroom.folder / "ben")  # a zip with a02 inside
    (folder / "notes.txt").write_text("not a submission")
    found = analyse(classroom.gradebook, folder, skeletons=classroom.skeleton.parent).assignments[0].similarity
    assert found.compared == 2 and {found.pairs[0].a, found.pairs[0].b} == {"ann", "ben"}
    assert [s.student for s in found.skipped] == ["notes"]
