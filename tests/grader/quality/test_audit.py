"""Tests of grader audit: every available suite kills every mutant it grades, alternatives get full marks.

CI audits a deterministic sample of the mutants (``CI_SAMPLE`` of each task's, at least one per
operator) and every alternative; ``pytest -m slow`` audits every mutant with the same assertions.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import time

import pytest
import torch

from grader import cli, paths
from grader.quality import audit
from grader.reports.json import render as to_json
from grader.tasks import suites
from grader.judge.compare import Tolerance, compare
from grader.quality.inprocess import Timeout
from grader.quality.mutate import Mutant, mutants, sample
from grader.reports import render
from grader.results import Status
from grader.tasks.model import Suite
from tests.helpers import COURSE, grade_folder, lost_tasks, seeded_bug

AVAILABLE = [a.id for a in COURSE.assignments if a.available]
WITH_ALTERNATIVES = [aid for aid in AVAILABLE if (audit.ALTERNATIVES / aid).is_dir()]
# CI's share of each task's mutants (one per operator first): 3,525 of the 11,159, about 110 s of CPU
# against about 260 s for all of them, so about a minute on two idle cores; the same mutants on every
# machine (mutate.sample). Raise it only with the suite's time budget in mind.
CI_SAMPLE = 0.3
AUDITS = [pytest.param(CI_SAMPLE, id="sample"), pytest.param(None, id="whole", marks=pytest.mark.slow)]


@pytest.fixture(scope="session", params=AUDITS)
def audited(request, tmp_path_factory):
    """One audit of every available assignment, in parallel, in its JSON form: CI's sample of the
    mutants, or (``-m slow``) all of them; every alternative either way.

    Under pytest-xdist the first worker to get here runs it and the others read its file.
    """
    fraction = request.param
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # this run's folder, common to its workers
    cache = shared / f"audit-{'whole' if fraction is None else fraction}.json"
    with open(shared / "audit.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.exists():
            cache.write_text(to_json(audit.audit(COURSE, jobs=2, sample=fraction)))
    return {r["id"]: r for r in json.loads(cache.read_text())}


@pytest.fixture(scope="module")
def a02_pair():
    """Every mutant of two a02 tasks, audited serially: small enough to run whole in CI."""
    return audit.audit(COURSE, ["a02.affine_backward", "a02.relu_backward"], jobs=1)


@pytest.mark.parametrize("aid", AVAILABLE)
def test_suite_kills_every_mutant_it_grades(audited, aid):
    r = audited[aid]
    assert r["killed"] > 0, f"{aid}: no mutants were graded"
    survivors = [f"{o['task']} [{o['operator']}] {o['description']}\n{o['diff']}"
                 for t in r["tasks"] for o in t["survivors"]]
    assert r["survived"] == 0 and r["kill_rate"] == 100.0, \
        f"{aid}: kill rate {r['kill_rate']}%; survivors:\n" + "\n".join(survivors)
    for key in ("killed", "survived", "equivalent"):
        assert r[key] == sum(t[key] for t in r["tasks"])


@pytest.mark.parametrize("aid", AVAILABLE)
def test_the_report_says_whether_it_graded_a_sample_and_of_how_many(audited, aid, request):
    r = audited[aid]
    graded = r["killed"] + r["survived"] + r["equivalent"]
    if request.node.callspec.params["audited"] is None:
        assert r["sample"] is None
    else:
        assert r["sample"]["fraction"] == CI_SAMPLE and r["sample"]["mutants"] == graded
        assert CI_SAMPLE * r["sample"]["of"] <= graded < r["sample"]["of"]


@pytest.mark.parametrize("aid", AVAILABLE)
def test_alternative_implementations_lose_no_points_in_the_audit(audited, aid):
    alternatives = audited[aid]["alternatives"]
    if alternatives is None:
        pytest.skip(f"{aid} has no alternatives under tests/alternatives/ yet")
    assert alternatives["tasks"] and alternatives["false_failures"] == []


def test_a02_mutants_are_all_killed_or_equivalent_at_the_kinks(a02_pair):
    [r] = a02_pair
    assert r.survived == 0 and r.sample is None
    equivalents = {(o.task, o.description) for t in r.tasks for o in t.equivalents}
    # x > 0 and x >= 0 differ only at the kink, which the suite keeps inputs away from.
    assert ("a02.relu_backward", "> -> >=") in equivalents
    tasks = {t.id: t for t in r.tasks}
    assert tasks["a02.affine_backward"].killed >= 15


def test_a_helpers_mutants_are_graded_through_its_callers_in_a_row_of_its_own(audited):
    r = audited["a02_mlp_backprop"]
    made = mutants(paths.REFERENCE / "a02_mlp_backprop")
    graded = made if r["sample"] is None else sample(made, r["sample"]["fraction"])
    assert r["sample"] is None or r["sample"]["of"] == len(made)
    tasks = {t["id"]: t for t in r["tasks"]}
    # affine_activation_backward is no task of course.yaml: mlp_backward composes pairs of it
    helper = tasks["a02.affine_activation_backward"]
    assert helper["killed"] + helper["equivalent"] == sum(m.task == helper["id"] for m in graded) >= 3
    assert helper["killed"] >= 3 and tasks["a02.mlp_backward"]["killed"] >= 3


@pytest.mark.parametrize("aid", WITH_ALTERNATIVES)
def test_alternatives_score_full_marks_in_the_sandboxed_grader(aid, solutions, tmp_path):
    folder = tmp_path / aid
    shutil.copytree(solutions(aid), folder)
    audit.apply_alternatives(folder, audit.ALTERNATIVES / aid)
    result = grade_folder(folder, suite="all")
    assert lost_tasks(result) == set()
    assert result.score == result.max_score


def test_a_gap_in_a_suite_shows_as_a_survivor_with_its_diff(monkeypatch):
    """Without the inputs-unchanged requirement, relu_forward's suite misses x.clamp_(min=0)."""
    real = suites.load("a02_mlp_backprop")
    module = __import__("grader.tasks.suites.a02_mlp_backprop", fromlist=["elementwise"])
    weak = Suite("a02_mlp_backprop")
    weak.tasks.update(real.tasks)
    del weak.tasks["a02.relu_forward"]
    weak.call("relu_forward", "layers", module.elementwise(0.0), inputs_unchanged=False)
    weak.tasks = {t: weak.tasks[t] for t in real.tasks}
    monkeypatch.setattr(audit.suites, "load", lambda aid: weak)
    [r] = audit.audit(COURSE, ["a02.relu_forward"], jobs=1, alternatives=None)
    [task] = r.tasks
    assert task.id == "a02.relu_forward" and task.survived == 1 and r.kill_rate < 100
    [survivor] = task.survivors
    assert survivor.operator == "in-place" and "clamp_" in survivor.diff
    assert "input x" in survivor.how  # where it differs from the reference on the extra seeds
    assert r.alternatives is None


def test_wrong_or_banned_alternatives_are_false_failures(tmp_path):
    folder = tmp_path / "a02_mlp_backprop"
    folder.mkdir()
    (folder / "layers.py").write_text("import torch\n\n\ndef relu_forward(x):\n    return x.abs(), x\n\n\n"
                                      "def tanh_forward(x):\n    return torch.nn.Tanh()(x), x\n")
    [r] = audit.audit(COURSE, ["a02.sigmoid_backward"], jobs=1, alternatives=tmp_path)
    assert r.alternatives.tasks == ["a02.tanh_forward", "a02.relu_forward"]
    failures = {f.task: f for f in r.alternatives.false_failures}
    assert set(failures) >= {"a02.relu_forward", "a02.tanh_forward"}
    banned = failures["a02.tanh_forward"]
    assert banned.status == Status.BANNED and not banned.check  # refused by the scan, before it ran
    assert "banned operation torch.nn.Tanh" in banned.message  # as the sandbox's scan says
    wrong = failures["a02.relu_forward"]
    assert wrong.status == Status.FAILED and wrong.check == "out"
    assert not r.ok
    assert f"false failure: a02.relu_forward: failed (out): {wrong.message}" in render([r], "text")


def test_cli_json_has_one_object_per_assignment_with_counts_and_tasks(capsys):
    rc = cli.main(["audit", "a02.relu_backward", "a02.tanh_forward", "--format", "json", "--jobs", "1", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    [a02] = out
    assert a02["id"] == "a02_mlp_backprop"
    assert {"killed", "survived", "equivalent", "kill_rate", "tasks", "alternatives"} <= set(a02)
    assert [t["id"] for t in a02["tasks"]] == ["a02.tanh_forward", "a02.relu_backward"]
    for t in a02["tasks"]:
        assert {"id", "killed", "survived", "equivalent", "kill_rate", "survivors", "equivalents"} <= set(t)
    assert a02["killed"] == sum(t["killed"] for t in a02["tasks"]) > 0


def test_a_sampled_audit_says_so_in_its_text_report_and_only_then(a02_pair, capsys):
    assert cli.main(["audit", "a02.relu_backward", "--sample", "0.5", "--jobs", "1", "-q"]) == 0
    text = capsys.readouterr().out
    # relu_backward: 9 mutants by 7 operators, so one of each; half would be 5
    assert "a SAMPLE: 7 of 9 mutants (--sample 0.5)" in text
    assert "a02.relu_backward" in text and "SAMPLE" not in render(a02_pair, "text")


@pytest.mark.parametrize("fraction", ["0", "1.5", "nan"])
def test_cli_refuses_a_sample_that_is_no_fraction(capsys, fraction):
    assert cli.main(["audit", "a02.relu_backward", "--sample", fraction]) == 2
    assert "--sample must be a fraction in (0, 1]" in capsys.readouterr().err


def test_cli_rejects_unknown_and_unavailable_ids(capsys):
    assert cli.main(["audit", "a99"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
    missing = next((a.id for a in COURSE.assignments if not a.available), None)
    if missing:
        assert cli.main(["audit", missing]) == 2
        assert "not available" in capsys.readouterr().err


def test_an_in_place_update_of_an_input_loses_the_task(solutions, tmp_path):
    folder = seeded_bug(solutions("a02_mlp_backprop"), tmp_path, "layers.py",
                        "    dx = dout * (x > 0).to(dout.dtype)\n", "    dx = dout.mul_((x > 0).to(dout.dtype))\n")
    result = grade_folder(folder)
    assert lost_tasks(result) == {"a02.relu_backward"}
    task = next(t for t in result.assignments[0].tasks if t.id == "a02.relu_backward")
    assert task.status == "failed"
    check = next(c for c in task.checks if c.name == "inputs_unchanged")
    assert check.kind == "property" and "relu_backward changed its input dout in place" in check.message
    assert all(c.passed for c in task.checks if c.name != "inputs_unchanged")


def test_compare_accepts_a_non_contiguous_reference():
    expected = torch.randn(2, 3, 4, 5, dtype=torch.float64).permute(0, 3, 1, 2)  # a view, not contiguous
    assert compare("out", expected.contiguous(), expected, Tolerance(1e-7, 1e-9)).passed
    wrong = compare("out", -expected.contiguous(), expected, Tolerance(1e-7, 1e-9))
    assert not wrong.passed and "values wrong" in wrong.message


def test_a_mutant_that_hangs_is_killed_by_its_time_limit(monkeypatch):
    source = (paths.REFERENCE / "a02_mlp_backprop" / "layers.py").read_text()
    old = "    out = torch.clamp(x, min=0.0)\n"
    assert source.count(old) == 1
    hang = Mutant("a02.relu_forward", "layers.py", "layers", "delete", 60, "loops forever",
                  source.replace(old, "    while True:\n        pass\n"), "")
    monkeypatch.setattr(audit, "mutants", lambda reference_dir, operators: [hang])
    monkeypatch.setattr(audit, "MIN_TIMEOUT_S", 1.0)
    [r] = audit.audit(COURSE, ["a02.relu_forward"], jobs=1, alternatives=None)
    assert (r.killed, r.survived, r.equivalent, r.killed_by_error) == (1, 0, 0, 1)


def test_a_mutant_is_bounded_by_its_cpu_time_and_by_the_clock_only_as_a_backstop(monkeypatch):
    timers: list[tuple[int, float]] = []  # (which timer, seconds) of each limit set
    setitimer = signal.setitimer

    def recording(which, seconds, *interval):
        if seconds:
            timers.append((which, seconds))
        return setitimer(which, seconds, *interval)
    monkeypatch.setattr(signal, "setitimer", recording)
    with audit.bounded(0.2):
        time.sleep(0.4)  # twice its CPU time on the clock, next to no CPU: not stopped
    assert timers == [(signal.ITIMER_REAL, audit.MIN_WALL_S), (signal.ITIMER_PROF, 0.2)]  # the clock: >= 30 s
    cpu = time.process_time()
    with pytest.raises(Timeout), audit.bounded(0.2):
        while True:
            pass
    # stopped by its CPU time, long before the clock's 30 s (other threads' CPU counts too, so no floor)
    assert time.process_time() - cpu < 1.0
    monkeypatch.setattr(audit, "MIN_WALL_S", 1.0)
    monkeypatch.setattr(audit, "WALL_FACTOR", 2)
    timers.clear()
    with pytest.raises(Timeout), audit.bounded(0.2):
        time.sleep(60)  # waits instead of computing, so no CPU limit stops it: the clock's backstop does
    assert timers == [(signal.ITIMER_REAL, 1.0), (signal.ITIMER_PROF, 0.2)]  # max(MIN_WALL_S, 2 x 0.2)


def test_the_audit_is_a_function_of_its_inputs(a02_pair):
    ids = ["a02.affine_backward", "a02.relu_backward"]
    assert to_json(audit.audit(COURSE, ids, jobs=2)) == to_json(a02_pair)


def test_a_timeout_lost_where_python_only_reports_it_comes_again():
    """A Timeout raised in a gc callback or a __del__ is only reported: the limit must fire again, or code
    running in the grading process (a mutant, the near-miss search) would run on without one."""
    from grader.quality import inprocess

    lost = []
    with pytest.raises(inprocess.Timeout):
        with inprocess.time_limit(0.05, cpu=True):
            while True:
                try:
                    sum(range(1000))
                except inprocess.Timeout:
                    if lost:
                        raise
                    lost.append(1)  # the first one lands where it is only reported
    assert lost == [1]
