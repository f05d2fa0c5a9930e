"""Warm children: forked from a fork server that holds nothing of the grader's, one session each, same verdicts.

The rest of the sandbox's tests (the isolation levels, the adversarial suite at every level,
bounded cost) run against this path already: it is how every sandboxed grading starts its
children. These tests show what is particular to it.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

from grader.course.config import Limits
from grader.judge.cases import make_cases
from grader.sandbox import bundle as bundles
from grader.sandbox import levels, process, session, warm
from grader.sandbox.runner import Request
from grader.tasks import suites
from tests.helpers import COURSE, comparable, grade_folder

AID = "a02_mlp_backprop"
TASK = "a02.sigmoid_forward"
PREFIX = "GRADERMARK"
pytestmark = pytest.mark.skipif(not warm.available(), reason="the fork server needs Linux with pidfds")

# sigmoid_forward replaced by a search of this process's own memory: every anonymous region
# (heap, stack, anonymous mappings: where data a parent had would be), read in place for PREFIX + 32 hex digits.
SCANNER = f'''

import ctypes as _ctypes
import os as _os
import re as _re

TOKEN = _os.urandom(8).hex()  # made once per process: a second session in one process would repeat it


def markers():
    """Every PREFIX marker in this process's anonymous memory, and whether our own planted one was found."""
    planted = ("{PREFIX}-" + "ab" * 16).encode()  # the search must find this one (it is in memory now)
    found = set()
    pattern = _re.compile(b"{PREFIX}-[0-9a-f]{{32}}")
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:  # read in place (the sandbox's uid may not open /proc/self/mem)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        named = len(fields) > 5 and not fields[5].startswith("[")
        if not fields[1].startswith("r") or named or fields[5:6] in (["[vvar]"], ["[vsyscall]"], ["[vvar_vclock]"]):
            continue
        data = _ctypes.string_at(start, end - start)
        found.update(m.decode() for m in pattern.findall(data))
    return found, planted.decode() in found


def sigmoid_forward(x):
    found, works = markers()
    print("TOKEN", TOKEN)
    print("SEARCH", "works" if works else "broken")
    for marker in sorted(found):
        print("FOUND", marker)
    return 1 / (1 + (-x).exp()), None
'''


@pytest.fixture
def scanner(solutions, tmp_path) -> Path:
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    with open(folder / "layers.py", "a") as f:
        f.write(SCANNER)
    return folder


def _run_scanner(folder: Path) -> list[str]:
    """Run the scanning task once in a fresh sandboxed session; the lines it printed."""
    task = suites.load(AID).tasks[TASK]
    case = make_cases(COURSE, task, "public")[0]
    runner = session.SandboxRunner("cpu", levels.detect("cpu"))
    responses = runner.run(folder, AID, [Request(TASK, 0, case.inputs, module=task.module)],
                           {TASK: Limits(120.0, 4096)})
    response = responses[(TASK, 0)]
    assert response.status.value == "ok", (response.status, response.message, response.stdout)
    return response.stdout.splitlines()


def test_a_warm_child_holds_no_marker_of_the_graders_process(scanner):
    """A marker only the grader's process holds (beside the reference it imported) is not in a
    child's memory; the same search finds it in the grader's process, and finds its own."""
    marker = f"{PREFIX}-{secrets.token_hex(16)}"
    import reference.a02_mlp_backprop.layers as ref
    ref.GRADER_ONLY = marker  # held by the reference module in the grader's process...
    held = [marker.encode() * 2]  # ...and as plain bytes on its heap, before the fork server starts
    warm.shutdown()
    try:
        lines = _run_scanner(scanner)
        assert warm._server is not None and warm._server.alive()  # the child came from a fork server
    finally:
        del ref.GRADER_ONLY
    assert "SEARCH works" in lines, lines
    assert f"FOUND {marker}" not in lines
    spec = importlib.util.spec_from_file_location("scanner_here", scanner / "layers.py")
    here = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(here)
    found, works = here.markers()  # the same search in the grader's own process
    assert works and marker in found
    assert held


def test_a_submission_the_scan_child_read_is_not_in_a_child_forked_after_it(scanner, solutions, tmp_path):
    """The server forks the scan child and never reads what it scans: a marker in another submission that a
    scan child has just read (its finding shows it did) is not in the memory of a sandboxed child forked next."""
    from grader.judge import scanning
    marker = f"{PREFIX}-{secrets.token_hex(16)}"
    other = tmp_path / "other" / AID
    shutil.copytree(solutions(AID), other)
    with open(other / "layers.py", "a") as f:
        f.write(f"\n\ndef sigmoid_forward(x):\n    import importlib  # {marker}\n    return x, None\n")
    task = suites.load(AID).tasks[TASK]
    banned = next(t.banned for t in COURSE.assignment(AID).tasks if t.id == TASK)
    server = warm.server()
    said = scanning.in_scan_child(other, [(task.module, task.function, tuple(banned))])
    assert said and "importlib is not allowed" in said[0]
    lines = _run_scanner(scanner)
    assert warm._server is server and server.alive()  # the same server forked both
    assert "SEARCH works" in lines, lines
    assert f"FOUND {marker}" not in lines


def test_each_session_gets_a_child_of_its_own(scanner):
    tokens = [line for run in range(2) for line in _run_scanner(scanner) if line.startswith("TOKEN")]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


def test_warm_and_cold_children_give_the_same_report(solutions):
    folder = solutions(AID)
    assert comparable(grade_folder(folder).to_dict()) == comparable(_graded(folder, warm_children=False))


def _graded(folder: Path, warm_children: bool) -> dict:
    from grader.judge.pipeline import grade
    runner = session.SandboxRunner("cpu", levels.detect("cpu"), warm=warm_children)
    result = grade(folder, COURSE, [AID], runner=runner)
    result.sandbox = levels.detect("cpu").info()
    return result.to_dict()


def test_a_fork_server_that_died_is_replaced(solutions):
    server = warm.server()
    assert server is not None
    os.killpg(server.proc.pid, 9)
    server.proc.wait(timeout=60)
    result = _graded(solutions(AID), warm_children=True)
    assert result["score"] == result["max_score"] > 0
    assert warm._server is not None and warm._server is not server and warm._server.alive()


def test_without_a_fork_server_children_start_cold(solutions, monkeypatch):
    monkeypatch.setattr(warm, "available", lambda: False)
    warm.shutdown()
    result = _graded(solutions(AID), warm_children=True)
    assert result["score"] == result["max_score"] > 0
    assert warm._server is None


def test_no_process_is_left_after_shutdown():
    server = warm.server()
    assert server is not None
    pid = server.proc.pid
    warm.shutdown()
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]
    assert sys.modules["grader.sandbox.warm"]._server is None


def _levels() -> list[levels.Isolation]:
    """Every level this machine gives, each way it gives it."""
    best = levels.detect("cpu")
    found = [best, levels.Isolation("process", ())]
    if best.via == "root" and levels.detect("cpu", "user-namespace").level != "process":
        found.append(levels.detect("cpu", "user-namespace"))
    return found


@pytest.mark.parametrize("iso", _levels(), ids=lambda iso: f"{iso.level}-{iso.via}")
def test_the_isolation_probe_holds_in_a_forked_child(iso):
    server = warm.server()
    assert server is not None
    assert warm.probe(server, iso, "cpu")


def test_a_probe_that_does_not_hold_in_a_forked_child_fails():
    best = levels.detect("cpu")
    if "filesystem" not in best.layers:
        pytest.skip("needs the file-system layer")
    server = warm.server()
    assert not warm.probe(server, best, "cpu", hidden=[bundles.site_dirs()[0]])  # bound, never hidden


def test_where_the_probe_fails_in_a_forked_child_children_start_cold(solutions, monkeypatch):
    warm.shutdown()
    monkeypatch.setattr(warm, "probe", lambda server, iso, device: False)
    started = []
    real = process.subprocess.Popen
    monkeypatch.setattr(process.subprocess, "Popen", lambda *a, **k: started.append(a) or real(*a, **k))
    result = _graded(solutions(AID), warm_children=True)
    assert result["score"] == result["max_score"] > 0
    assert any("grader.sandbox.inside.child" in a[0][-2] for a in started)  # children started cold
    assert warm._server is not None and not any(warm._server.verified.values())
    warm.shutdown()


def test_a_forked_child_that_does_not_start_is_followed_by_a_cold_one(solutions, monkeypatch):
    real_fork = warm.ForkServer.fork

    def broken(self, config, env, limits, fds, probe=None):
        if probe is None:  # every session child fails before it is ready (its suite cannot be imported)
            config = {**config, "assignment": "no_such_assignment"}
        return real_fork(self, config, env, limits, fds, probe)

    monkeypatch.setattr(warm.ForkServer, "fork", broken)
    started = []
    real = process.subprocess.Popen
    monkeypatch.setattr(process.subprocess, "Popen", lambda *a, **k: started.append(a) or real(*a, **k))
    result = _graded(solutions(AID), warm_children=True)
    assert result["score"] == result["max_score"] > 0
    assert any("grader.sandbox.inside.child" in a[0][-2] for a in started)  # the cold ones that followed


def test_the_fork_server_leaves_no_folder_behind_even_when_killed():
    warm.shutdown()
    server = warm.server()
    assert server is not None and not server._dir.exists()  # removed by the server once it has imported
    os.killpg(server.proc.pid, 9)
    server.proc.wait(timeout=60)
    warm.shutdown()


