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


# What a torch wheel requires: PyPI's CUDA build of 2.13.0 on Linux, and the CPU build of PyTorch's CPU index.
CUDA_WHEEL = ['filelock', 'typing-extensions>=4.10.0', 'sympy>=1.13.3', 'jinja2', 'fsspec>=0.8.5',
              'cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3; '
              'platform_system == "Linux"', 'cuda-bindings<14,>=13.0.3; platform_system == "Linux" and '
              'python_version < "3.15"', 'nvidia-cudnn-cu13==9.20.0.48; platform_system == "Linux"',
              'nvidia-nccl-cu13==2.29.7; platform_system == "Linux"', 'triton==3.7.1; platform_system == "Linux"',
              'optree>=0.13.0; extra == "optree"', 'pyyaml; extra == "pyyaml"']
CPU_WHEEL = ['filelock', 'typing-extensions>=4.10.0', 'sympy>=1.13.3', 'networkx>=2.5.1', 'jinja2',
             'fsspec>=0.8.5', 'optree>=0.13.0; extra == "optree"', 'pyyaml; extra == "pyyaml"']


def test_a_cuda_build_is_told_from_a_cpu_build_by_what_it_requires():
    assert dev.cuda_requirements(CUDA_WHEEL) == ["cuda-toolkit", "cuda-bindings", "nvidia-cudnn-cu13",
                                                 "nvidia-nccl-cu13"]
    assert dev.cuda_requirements(CPU_WHEEL) == []
    assert dev.cuda_requirements(['nvidia-ml-py; extra == "monitoring"']) == []  # an extra pulls nothing


@needs_venv
def test_this_venv_holds_the_cpu_build():
    assert dev.installed_cuda_requirements() == []


def test_where_the_cpu_index_is_not_reached_setup_says_it_is_taking_the_cuda_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dev, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(dev, "PY", tmp_path / ".venv" / "bin" / "python")
    monkeypatch.setattr(dev.sys, "platform", "linux")
    monkeypatch.delenv("DEEPGRADE_TORCH", raising=False)
    def fake_run(cmd, **kwargs):
        if "venv" in cmd:
            Path(cmd[-1]).mkdir(parents=True, exist_ok=True)
        return subprocess.CompletedProcess(cmd, 0)
    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    monkeypatch.setattr(dev, "installed_cuda_requirements", lambda: dev.cuda_requirements(CUDA_WHEEL))
    dev.setup()
    err = capsys.readouterr().err
    said = err.index("torch's CPU build could not be had")
    assert "its 4 CUDA packages" in err and "remove .venv" in err and dev.CPU_INDEX in err
    assert err.index("[2/3]") < said < err.index("[3/3]")  # before the CUDA libraries are downloaded
    monkeypatch.setattr(dev, "installed_cuda_requirements", lambda: [])
    (tmp_path / ".venv" / ".installed").unlink()
    dev.setup()
    assert "could not be had" not in capsys.readouterr().err


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
