"""The expected-value cache: computed once, read back bit for bit, refused when stale, foreign or corrupt,
and never able to change a grade (cold, warm, corrupted or unusable: the same reports, the frozen report, the
same audit)."""
from __future__ import annotations

import json
import os
import stat

import pytest

from grader import cache as cache_folder, paths
from grader.judge import expected_cache, fixtures
from grader.judge.cases import computed_cases
from grader.reports.json import render
from grader.tasks import suites
from tests.helpers import COURSE, grade_folder

AID = "a01_neurons"
CFG = COURSE.assignment(AID)
SUITE = suites.load(AID)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))
    return folder


def never_computed(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("computed although the cache holds it")
    monkeypatch.setattr(expected_cache, "computed_cases", fail)


def counting(monkeypatch) -> list[str]:
    calls: list[str] = []

    def compute(course, cfg, suite, which):
        calls.append(which)
        return computed_cases(course, cfg, suite, which)
    monkeypatch.setattr(expected_cache, "computed_cases", compute)
    return calls


def same_plan(a, b) -> None:
    assert list(a[0]) == list(b[0])
    for tid in a[0]:
        assert [(c.suite, c.index) for c in a[0][tid]] == [(c.suite, c.index) for c in b[0][tid]]
        assert fixtures.differs([c.inputs for c in a[0][tid]], [c.inputs for c in b[0][tid]], tid) == ""
        assert fixtures.differs(a[1][tid], b[1][tid], tid) == ""


def test_the_first_grading_computes_and_keeps_them_the_next_reads_them_back_bit_for_bit(cache, monkeypatch):
    calls = counting(monkeypatch)
    cold = expected_cache.planned(COURSE, CFG, "all")
    assert calls == ["public", "hidden"]
    assert sorted(p.name for p in cache.iterdir()) == [f"expected-{AID}-hidden.bin", f"expected-{AID}-public.bin"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700  # hidden cases are kept here
    never_computed(monkeypatch)
    warm = expected_cache.planned(COURSE, CFG, "all")
    same_plan(cold, warm)
    same_plan(computed_cases(COURSE, CFG, SUITE, "all"), warm)  # "all" is the public cases, then the hidden
    public = expected_cache.planned(COURSE, CFG, "public")
    assert [c.suite for c in public[0][CFG.tasks[0].id]] == ["public"] * COURSE.suites["public"].cases


def test_a_folder_others_may_read_is_closed_before_hidden_cases_go_in(cache):
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)
    assert cache_folder.folder() == cache
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_not_used(cache, capsys):
    cache.mkdir(mode=0o700)
    os.chown(cache, 12345, 12345)
    assert cache_folder.folder() is None
    assert "belongs to another user" in capsys.readouterr().err


def test_a_changed_key_recomputes_and_replaces_the_entry(cache, monkeypatch):
    expected_cache.planned(COURSE, CFG, "public")
    entry = expected_cache.entry_path(cache, AID, "public")
    before = entry.read_bytes()
    monkeypatch.setattr(expected_cache, "_reference_digest", lambda aid: "an edited reference")
    calls = counting(monkeypatch)
    expected_cache.planned(COURSE, CFG, "public")
    assert calls == ["public"]
    assert json.loads(entry.read_bytes().split(b"\n", 1)[0])["key"]["reference"] == "an edited reference"
    assert entry.read_bytes() != before


@pytest.mark.parametrize("spoil", ["a flipped byte", "a forged key", "cut short", "another assignment's", "not one"])
def test_a_corrupt_or_foreign_entry_is_refused_and_computed_again(cache, monkeypatch, capsys, spoil):
    expected_cache.planned(COURSE, CFG, "public")
    entry = expected_cache.entry_path(cache, AID, "public")
    data = entry.read_bytes()
    head, body = data.split(b"\n", 1)
    if spoil == "a flipped byte":
        data = head + b"\n" + body[:-9] + bytes([body[-9] ^ 1]) + body[-8:]
    elif spoil == "a forged key":  # the content of one key under another: the digest covers the key
        header = json.loads(head)
        header["key"] = expected_cache.entry_key(COURSE, CFG, "public") | {"seed": 1}
        monkeypatch.setattr(expected_cache, "entry_key", lambda course, cfg, name: header["key"])
        data = json.dumps(header).encode() + b"\n" + body
    elif spoil == "cut short":
        data = data[:len(data) // 2]
    elif spoil == "another assignment's":
        other = COURSE.assignment("a02_mlp_backprop")
        expected_cache.planned(COURSE, other, "public")
        data = expected_cache.entry_path(cache, other.id, "public").read_bytes()
    else:
        data = b"\x00" * 100
    entry.write_bytes(data)
    calls = counting(monkeypatch)
    again = expected_cache.planned(COURSE, CFG, "public")
    assert calls == ["public"]
    same_plan(computed_cases(COURSE, CFG, SUITE, "public"), again)
    if spoil != "another assignment's":  # another key is stale, not broken: recomputed without a word
        assert "refused" in capsys.readouterr().err


def test_a_folder_that_cannot_be_made_costs_time_said_once_never_a_grade(tmp_path, monkeypatch, capsys):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "a file" / "cache"))
    calls = counting(monkeypatch)
    first = expected_cache.planned(COURSE, CFG, "public")
    expected_cache.planned(COURSE, CFG, "public")
    assert calls == ["public", "public"]
    same_plan(computed_cases(COURSE, CFG, SUITE, "public"), first)
    err = capsys.readouterr().err
    assert err.count("cannot be used") == 1 and "never points" in err


def test_an_entry_that_cannot_be_written_costs_time_only(cache, monkeypatch, capsys):
    cache.mkdir(mode=0o700)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(cache_folder.tempfile, "mkstemp", refuse)
    planned = expected_cache.planned(COURSE, CFG, "public")
    same_plan(computed_cases(COURSE, CFG, SUITE, "public"), planned)
    assert "cannot be written (Permission denied)" in capsys.readouterr().err
    assert list(cache.iterdir()) == []


def test_the_cache_folder_follows_xdg_and_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert paths.cache_dir() == tmp_path / "deepgrade"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored, as the XDG rules say
    assert paths.cache_dir() == paths.Path.home() / ".cache" / "deepgrade"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "mine"))
    assert paths.cache_dir() == tmp_path / "mine"


def _report(result) -> dict:
    report = json.loads(render(result))
    report.pop("graded_at")
    for a in report["assignments"]:
        for t in a["tasks"]:
            t.pop("time_s", None)
    return report


def test_cold_warm_corrupted_and_unusable_caches_give_the_same_report(tmp_path, monkeypatch):
    buggy = paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop"
    folder = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))
    cold = _report(grade_folder(buggy, suite="all", sandboxed=False))
    warm = _report(grade_folder(buggy, suite="all", sandboxed=False))
    _spoil(folder)
    corrupted = _report(grade_folder(buggy, suite="all", sandboxed=False))
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "a file" / "cache"))
    unusable = _report(grade_folder(buggy, suite="all", sandboxed=False))
    assert cold["score"] < cold["max_score"]
    assert cold == warm == corrupted == unusable


def _spoil(folder) -> None:
    """Every entry in ``folder`` with one byte of its arrays flipped: each fails its digest."""
    for entry in folder.iterdir():
        data = bytearray(entry.read_bytes())
        data[-5] ^= 0xFF
        entry.write_bytes(bytes(data))


def test_a_corrupted_cache_grades_the_buggy_example_as_its_frozen_report(tmp_path, monkeypatch):
    from tests.grader.judge.test_frozen_reports import FROZEN, drift
    buggy = paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop"
    folder = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))
    expected_cache.planned(COURSE, COURSE.assignment(buggy.name), "all")
    _spoil(folder)
    now = json.loads(render(grade_folder(buggy, suite="all")))  # sandboxed, as the frozen report was made
    now.pop("graded_at")
    assert drift(json.loads((FROZEN / "buggy.json").read_text()), now) == []


def test_the_audit_gives_the_same_verdicts_whatever_the_cache_holds(tmp_path, monkeypatch):
    from grader.quality import audit
    folder = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))
    cold = audit.audit(COURSE, ["a01.ltu_forward"], sample=0.2, extra_seeds=2)
    expected_cache.planned(COURSE, CFG, "all")
    warm = audit.audit(COURSE, ["a01.ltu_forward"], sample=0.2, extra_seeds=2)
    _spoil(folder)
    corrupted = audit.audit(COURSE, ["a01.ltu_forward"], sample=0.2, extra_seeds=2)
    assert cold[0].killed > 0
    assert cold == warm == corrupted
