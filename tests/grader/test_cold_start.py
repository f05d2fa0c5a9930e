"""Commands that grade nothing import no torch; what the course's loader looks up is kept in the cache folder."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import paths
from grader.course import config
from grader.tasks import catalogue

FROZEN = Path(__file__).parent / "judge" / "frozen" / "solutions.json"


def imported(args: list[str], cache_folder: Path, code: str | None = None) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules a new ``python -X importtime`` process imported running ``grader ARGS`` (or ``code``)."""
    env = dict(os.environ, **{paths.CACHE_ENV: str(cache_folder)})
    command = [sys.executable, "-X", "importtime"] + (["-c", code] if code else ["-m", "grader", *args])
    done = subprocess.run(command, cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return names, done


@pytest.fixture
def warm(tmp_path) -> Path:
    """A cache folder that a first ``grader validate`` filled (the banned names looked up, the suites' catalogue)."""
    folder = tmp_path / "cache"
    names, done = imported(["validate"], folder)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "names.json").is_file() and (folder / catalogue.FILE).is_file()
    return folder


def test_help_imports_no_torch(tmp_path):
    names, done = imported(["--help"], tmp_path / "cache")
    assert done.returncode == 0 and "validate" in done.stdout
    assert "torch" not in names and "grader.judge.pipeline" not in names


def test_validate_imports_no_torch_nor_scipy_once_the_names_were_looked_up(warm):
    names, done = imported(["validate"], warm)
    assert done.returncode == 0 and ": ok (" in done.stdout, done.stderr[-2000:]
    assert "torch" not in names and "scipy" not in names and "grader.judge.cases" in names


def test_export_imports_no_torch(tmp_path, warm):
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(FROZEN, results / "ada.json")
    names, done = imported(["export", str(results)], warm)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[0].startswith("student,") and "ada" in done.stdout
    assert "torch" not in names


def test_a_kept_table_never_lets_a_misspelt_ban_through(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    config._known_names.cache_clear()
    assert config.resolves("torch.nn.functional.relu") and not config.resolves("torch.nn.functional.relux")
    config._known_names.cache_clear()  # a new process: the table is read back
    monkeypatch.setattr(config, "_resolves", lambda name: pytest.fail(f"{name} looked up again"))
    assert config.resolves("torch.nn.functional.relu") and not config.resolves("torch.nn.functional.relux")
    config._known_names.cache_clear()


def test_a_corrupt_table_is_refused_and_looked_up_again(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(folder))
    config._known_names.cache_clear()
    config.resolves("torch.autograd.*")
    table = folder / "names.json"
    head, body = table.read_bytes().split(b"\n", 1)
    table.write_bytes(head + b"\n" + body.replace(b"true", b"false"))  # the bytes no longer match the digest
    config._known_names.cache_clear()
    looked = []
    real = config._resolves
    monkeypatch.setattr(config, "_resolves", lambda name: looked.append(name) or real(name))
    assert config.resolves("torch.autograd.*")
    assert looked == ["torch.autograd.*"] and "refused" in capsys.readouterr().err
    config._known_names.cache_clear()


def graded(args: list[str], cache_folder: Path) -> tuple[bool, subprocess.CompletedProcess]:
    """Whether a new process running ``grader ARGS`` held torch when it was done, and how it ended."""
    code = (f"import sys\nfrom grader import cli\nrc = cli.main({args!r})\n"
            "print('torch loaded:', 'torch' in sys.modules, file=sys.stderr)\nsys.exit(rc)\n")
    env = dict(os.environ, **{paths.CACHE_ENV: str(cache_folder)})
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    assert last in ("torch loaded: True", "torch loaded: False"), done.stderr[-2000:]
    return last.endswith("True"), done


def test_a_grading_with_its_expected_values_cached_imports_no_torch(tmp_path, solutions):
    """The grading process of a passing submission, the expected values cached: torch only in its children."""
    folder = tmp_path / "cache"
    args = ["grade", str(solutions("a02_mlp_backprop")), "--suite", "all", "--format", "json", "-q"]
    first, done = graded(args, folder)  # fills the cache: the reference runs here, with torch
    assert done.returncode == 0 and first, done.stderr[-2000:]
    again, warm = graded(args, folder)
    assert warm.returncode == 0 and not again, warm.stderr[-2000:]
    assert json.loads(warm.stdout)["score"] == json.loads(done.stdout)["score"] == \
        json.loads(done.stdout)["max_score"] > 0


def test_a_failed_check_loads_torch_to_diagnose_it_and_says_the_same(tmp_path):
    """The buggy example (four seeded bugs) graded twice: the second time with the expected values cached,
    the grading process loads torch only for the diagnoses; both reports are the same."""
    folder = tmp_path / "cache"
    args = ["grade", str(paths.ROOT / "examples" / "buggy_submission"), "--assignment", "a02_mlp_backprop",
            "--format", "json", "-q"]
    _, cold = graded(args, folder)
    loaded, warm = graded(args, folder)
    assert loaded  # the diagnoses' relations run on torch
    strip = ("graded_at", "time_s")

    def report(text: str) -> dict:
        data = json.loads(text)
        for a in data["assignments"]:
            for t in a["tasks"]:
                t.pop("time_s", None)
        return {k: v for k, v in data.items() if k not in strip}
    assert cold.returncode == warm.returncode == 0 and report(cold.stdout) == report(warm.stdout)
    assert 0 < json.loads(warm.stdout)["score"] < json.loads(warm.stdout)["max_score"]


def test_a_batch_with_its_expected_values_cached_imports_no_torch_outside_the_sandbox(tmp_path, solutions):
    """A batch's coordinator, and its workers' module (what multiprocessing's forkserver preloads), hold no torch:
    the workers grade as `grader grade` does, torch in their sandboxed children only."""
    klass = tmp_path / "class"
    for student in ("ada", "bob"):
        shutil.copytree(solutions("a02_mlp_backprop"), klass / student / "a02_mlp_backprop")
    folder = tmp_path / "cache"
    args = ["batch", str(klass), "--gradebook", str(tmp_path / "grades.sqlite"), "--assignment", "a02_mlp_backprop",
            "--jobs", "2", "-q", "--force"]
    _, done = graded(args, folder)  # fills the cache (a worker computes the expected values, with torch)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded, again = graded(args, folder)
    assert again.returncode == 0 and "graded 2 of 2" in again.stdout + again.stderr, again.stderr[-2000:]
    assert not loaded
    env = dict(os.environ, **{paths.CACHE_ENV: str(folder)})
    worker = subprocess.run([sys.executable, "-c", "import sys, grader.batch.worker; print('torch' in sys.modules)"],
                            cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert worker.stdout.strip() == "False", worker.stderr[-2000:]
