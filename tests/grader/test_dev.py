"""The bootstrap: it says what it installs and how long that takes, and runs the grader and pytest in .venv."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from grader import paths


def load_dev():
    spec = importlib.util.spec_from_file_location("dev", paths.ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = load_dev()
needs_venv = pytest.mark.skipif(not dev.up_to_date(), reason=".venv is missing or out of date: python3 dev.py setup")


def test_setup_says_what_it_does_and_shows_pip_at_work(tmp_path, monkeypatch, capsys):
    ran: list[list[str]] = []

    def fake_run(cmd, **kwargs):
        ran.append(cmd)
        if "venv" in cmd:
            Path(cmd[-1]).mkdir(parents=True)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(dev, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(dev, "PY", tmp_path / ".venv" / "bin" / "python")
    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    dev.setup()
    out, err = capsys.readouterr()
    assert out == ""  # all of it on stderr: the command it sets up for keeps stdout
    assert "1.6 GB" in err and "a few minutes the first time" in err
    assert "[1/3] creating .venv" in err and "[3/3] installing" in err
    pips = [cmd for cmd in ran if "pip" in cmd]
    assert all("-q" not in pip for pip in pips)  # pip's own progress shows
    if sys.platform.startswith("linux"):  # torch's CPU build first, alone, then the rest under the same pin
        assert "[2/3] installing torch's CPU build" in err
        assert pips[0][-5:] == ["--timeout", "20", "--extra-index-url", dev.CPU_INDEX, "torch==2.13.0"]
        assert "--no-deps" in pips[0] and "-c" in pips[1] and "constraints.txt" in pips[1]
    assert (tmp_path / ".venv" / ".installed").read_text() == dev.digest()
    ran.clear()
    monkeypatch.setattr(dev, "PY", tmp_path / ".venv" / ".installed")  # any file: "installed"
    dev.setup()
    assert ran == []  # up to date: silent


def test_the_cuda_build_is_a_documented_switch_and_switching_reinstalls(monkeypatch):
    cpu = dev.digest()
    monkeypatch.setenv("DEEPGRADE_TORCH", "cuda")
    assert dev.torch_first() is None and dev.digest() != cpu  # PyPI's own torch, and .venv is set up again
    monkeypatch.setenv("DEEPGRADE_TORCH", "rocm")
    with pytest.raises(SystemExit, match="DEEPGRADE_TORCH must be cpu or cuda"):
        dev.torch_build()


@needs_venv
def test_dev_py_grader_runs_the_grader_in_the_venv(tmp_path):
    r = subprocess.run([sys.executable, str(paths.ROOT / "dev.py"), "grader", "validate"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "course.yaml: ok" in r.stdout


@needs_venv
def test_dev_py_pytest_runs_pytest_in_the_venv(tmp_path):
    r = subprocess.run([sys.executable, str(paths.ROOT / "dev.py"), "pytest", "--version"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "pytest" in r.stdout + r.stderr


def test_the_browser_step_installs_chromium_and_a_cjk_font_as_root_or_says_loudly_that_the_page_tests_will_skip(
        monkeypatch, capsys):
    ran, fonts = [], []  # the commands run; what fc-list knows of fonts with Chinese glyphs
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)

    def run(cmd, **kw):
        if cmd[0] == "fc-list":
            return subprocess.CompletedProcess(cmd, 0, "".join(fonts), "")
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(dev.subprocess, "run", run)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    dev.browser()
    assert ran == [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"],
                   ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fonts-noto-cjk"]]
    err = capsys.readouterr().err  # installed, yet still not found: said, not hidden
    assert "WARNING: Chromium is not installed" in err and "WARNING: no font with Chinese glyphs" in err
    ran.clear()
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000)  # an ordinary user: nothing to install with
    dev.browser()
    assert ran == [] and capsys.readouterr().err.count("will SKIP and prove nothing") == 2
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda name: {"chromium": "/usr/bin/chromium", "apt-get": "/usr/bin/apt-get"}
                        .get(name))
    dev.browser()  # Chromium there, no CJK font: the font alone is installed
    assert ran == [["apt-get", "update", "-qq"],
                   ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fonts-noto-cjk"]]
    capsys.readouterr()
    ran.clear()
    fonts.append("Noto Sans CJK SC\n")
    dev.browser()
    assert ran == [] and capsys.readouterr().err == ""
