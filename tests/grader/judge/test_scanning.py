"""The scan of an assignment's tasks: each file read once for all of them, and run in the fork server's scan
child where the grading process holds no torch, with the same findings in every language; a scan child that
fails leaves the scan to the grading process, one that hangs is killed and its tasks are refused."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import i18n, paths
from grader.judge import scan, scanning
from grader.sandbox import warm
from tests.grader.judge.test_scan_fails_closed import AID, BANNED, SUITE, VARIANTS, variant_copy
from tests.grader.sandbox.test_scan_resolves import MODULE_LEVEL, REFUSED, RELU

JOBS = [(SUITE.tasks[tid].module, SUITE.tasks[tid].function, tuple(banned)) for tid, banned in BANNED.items()]
needs_server = pytest.mark.skipif(not warm.available(), reason="the fork server needs Linux with pidfds")


def refused_copy(solutions, tmp_path: Path, body: str) -> Path:
    """a02's solutions with relu_forward's body replaced (tests/grader/sandbox/test_scan_resolves.py)."""
    folder = tmp_path / "refused" / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "layers.py"
    path.write_text(path.read_text().replace(RELU, body) + MODULE_LEVEL)
    return folder


def fixtures(solutions, tmp_path: Path) -> list[Path]:
    """Every variant of both scan test files, one folder each."""
    found = [variant_copy(solutions, tmp_path / f"v{i}", name) for i, name in enumerate(VARIANTS)]
    return found + [refused_copy(solutions, tmp_path / f"r{i}", body) for i, body in enumerate(REFUSED)]


def everything(found: list) -> list[str]:
    return [f"{type(v).__name__}{v!r}: {v.describe()}" for v in found]


@pytest.mark.parametrize("variant", [*VARIANTS, *REFUSED])
def test_one_reading_per_file_finds_what_a_scan_per_task_finds(variant, solutions, tmp_path):
    """Every finding of every task, in order, as each task's own scan finds it reading every file again."""
    folder = variant_copy(solutions, tmp_path, variant) if variant in VARIANTS else \
        refused_copy(solutions, tmp_path, variant)
    alone = [scan.scan(folder / f"{module}.py", function, banned) for module, function, banned in JOBS]
    assert any(alone)
    assert [everything(f) for f in scan.scan_all(folder, JOBS)] == [everything(f) for f in alone]


@needs_server
@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_scan_child_finds_what_this_process_finds(lang, solutions, tmp_path):
    assert warm.server() is not None
    folders = fixtures(solutions, tmp_path)
    with i18n.using(lang):
        here = {f: scanning.here(f, JOBS) for f in folders}
        child = {f: scanning.in_scan_child(f, JOBS) for f in folders}
    assert child == here
    assert sum(bool(s) for said in here.values() for s in said) > len(folders)
    if lang == "zh_CN":
        assert any("禁用" in s for said in here.values() for s in said if s)


@needs_server
def test_the_scan_child_follows_a_name_through_a_module_only_this_process_had_loaded(solutions, tmp_path):
    """rich is the grader's (its reports), not the fork server's: the child imports the installed modules this
    process holds, never the grader's own (nor, so, a submission's a process imported)."""
    import rich.console  # noqa: F401
    body = "    import rich.console\n    out = rich.console.sys.modules['torch'].relu(x)\n"
    folder = refused_copy(solutions, tmp_path, body)
    assert warm.server() is not None
    here = scanning.here(folder, JOBS)
    assert "sys.modules is not allowed" in here[list(BANNED).index("a02.relu_forward")]
    assert scanning.in_scan_child(folder, JOBS) == here
    sent = scanning.installed_modules()
    assert "rich.console" in sent and "yaml" in sent and not any(n.split(".")[0] in ("grader", "tests") for n in sent)


GRADE = """
import json, sys
from pathlib import Path
{start}
from grader.judge import scanning
found = scanning.first_findings(Path(sys.argv[1]), [tuple(j[:2]) + (tuple(j[2]),) for j in json.loads(sys.argv[2])])
print(json.dumps({{"found": found, "torch": "torch" in sys.modules}}))
"""


@needs_server
@pytest.mark.parametrize("server", [True, False])
def test_a_grading_process_without_torch_scans_in_its_fork_server_s_scan_child(server, solutions, tmp_path):
    """With a fork server started (as `grader grade` starts one) the scan leaves this process without torch;
    without one, the scan runs here and imports it. The findings are the same."""
    folder = variant_copy(solutions, tmp_path, "importlib")
    jobs = [*JOBS, ("layers", "relu_forward", ())]
    code = GRADE.format(start="from grader.sandbox import warm; warm.start_now()" if server else "")
    r = subprocess.run([sys.executable, "-c", code, str(folder), json.dumps(jobs)], cwd=paths.ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["torch"] is not server
    assert answer["found"] == [*scanning.here(folder, JOBS), None]
    assert "importlib is not allowed" in answer["found"][list(BANNED).index("a02.relu_forward")]


@needs_server
def test_the_scan_child_is_kept_for_the_next_scans(solutions, tmp_path):
    folder = variant_copy(solutions, tmp_path, "importlib")
    server = warm.server()
    first = scanning.in_scan_child(folder, JOBS)
    child = server._scanners["grader.judge.scanning"].proc
    assert scanning.in_scan_child(folder, JOBS) == first == scanning.here(folder, JOBS)
    assert server._scanners["grader.judge.scanning"].proc is child and child.poll() is None


def _made(monkeypatch) -> list:
    """The scan children made from now on."""
    made, real = [], warm._ScanChild.__init__

    def init(self, *args):
        real(self, *args)
        made.append(self)

    monkeypatch.setattr(warm._ScanChild, "__init__", init)
    return made


FAULTY = "tests.grader.judge.faulty_scan_child"


def _faulty(monkeypatch, fault: str) -> list[str]:
    """This process scans as one without torch would, through a scan child that fails as ``fault`` says."""
    real, calls = warm.ForkServer.scan, []

    def scan_child(self, entry, request, timeout):
        calls.append(entry)
        request = json.dumps({**json.loads(request), "fault": fault}).encode()
        return real(self, FAULTY, request, timeout)

    monkeypatch.setattr(warm.ForkServer, "scan", scan_child)
    monkeypatch.setattr(scanning, "torch_here", lambda: False)
    server = warm.server()
    assert server is not None
    kept = server._scanners.pop(FAULTY, None)  # an earlier test's, faulty in its own way
    if kept is not None:
        kept.close()
    return calls


@needs_server
@pytest.mark.parametrize("fault", ["dies", "raises", "nonsense"])
def test_a_scan_child_that_fails_leaves_the_scan_to_this_process(fault, monkeypatch, solutions, tmp_path):
    folder = variant_copy(solutions, tmp_path, "star import")
    calls, made = _faulty(monkeypatch, fault), _made(monkeypatch)
    for _ in range(2):
        found = scanning.first_findings(folder, JOBS)
        assert found == scanning.here(folder, JOBS) and all(found)
    assert calls == ["grader.judge.scanning"] * 2
    assert len(made) == (2 if fault == "dies" else 1)  # one that died is replaced at the next call


@needs_server
def test_a_scan_child_that_hangs_is_killed_and_every_task_it_had_is_refused(monkeypatch, solutions, tmp_path):
    folder = solutions(AID)
    _faulty(monkeypatch, "hangs")
    made = _made(monkeypatch)
    monkeypatch.setattr(scanning, "SCAN_TIMEOUT_S", 2.0)
    started = time.monotonic()
    found = scanning.first_findings(folder, [*JOBS, ("layers", "relu_forward", ())])
    assert time.monotonic() - started < 30
    said = "the banned-operation scan did not finish within 2 s, so the task is not run"
    assert found == [said] * len(JOBS) + [None]  # refused unscanned; nothing banned: nothing to scan
    assert len(made) == 1 and made[0].proc.poll() is not None  # killed
    assert FAULTY not in warm.server()._scanners  # the next call forks anew


def test_nothing_banned_is_not_scanned(monkeypatch, tmp_path):
    monkeypatch.setattr(scanning, "here", lambda folder, jobs: pytest.fail("scanned"))
    monkeypatch.setattr(scanning, "in_scan_child", lambda folder, jobs: pytest.fail("scanned"))
    assert scanning.first_findings(tmp_path, [("layers", "relu_forward", ())] * 2) == [None, None]


def test_the_scan_s_entry_and_the_wording_of_a_finding_import_no_torch():
    """A grading process without torch reaches the scan, words a finding the child's guard sent, and runs the
    sandbox's host side (its import-once step reads imports with the scan's reader)."""
    code = ("import sys; import grader.judge.scanning, grader.sandbox.resolve, grader.sandbox.session; "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
