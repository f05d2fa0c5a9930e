"""Commands that grade nothing import no torch; what the course's loader looks up is kept in the cache folder."""
from __future__ import annotations

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
