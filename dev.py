"""Bootstrap: create .venv, install the pinned toolchain, then run the demo, the tests, the grader or pytest.

Usage (needs only Python 3.11+):
    python3 dev.py demo          # grade the reference solutions and a buggy example submission
    python3 dev.py test [ARGS]   # release --check, then the whole test suite (ARGS go to pytest); in a
                                 # student repository (no reference/), every assignment's public tests
    python3 dev.py grader ARGS   # the grader inside .venv, e.g. python3 dev.py grader validate
    python3 dev.py pytest ARGS   # pytest inside .venv, e.g. python3 dev.py pytest assignments/a02_mlp_backprop
    python3 dev.py setup         # only create/refresh .venv

Each sets .venv up first when it is missing or out of date: about 1.6 GB, a few minutes the first time.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def say(message: str) -> None:
    # Setting up talks on stderr, so that `dev.py grader ... --format json > out.json` stays clean.
    print(message, file=sys.stderr, flush=True)


def sh(*cmd: str | Path) -> None:
    say("+ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, stdout=sys.stderr)


CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # PyTorch's index of CPU-only builds


def torch_build() -> str:
    """``cpu`` (the default) or ``cuda``: ``DEEPGRADE_TORCH=cuda python3 dev.py setup`` takes the CUDA build
    for a machine with an NVIDIA GPU (on Linux, PyPI's torch is that build; about 5 GB installed)."""
    build = os.environ.get("DEEPGRADE_TORCH", "cpu").lower()
    if build not in ("cpu", "cuda"):
        sys.exit(f"DEEPGRADE_TORCH must be cpu or cuda, not {build!r}")
    return build


def torch_first() -> list[str] | None:
    """The command that installs the CPU build of torch alone, before the rest (None: no step needed).

    On Linux, PyPI's torch wheel is the CUDA build, which pulls several GB of NVIDIA libraries;
    PyTorch's CPU index has the same version as ``2.13.0+cpu``, which the pin ``torch==2.13.0``
    admits and pip prefers. Only torch is looked up there (``--no-deps``, few retries), so where
    that index cannot be reached pip goes on with the configured one at once. macOS and Windows
    wheels on PyPI are CPU builds already."""
    if not sys.platform.startswith("linux") or torch_build() == "cuda":
        return None
    pin = next(line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
               if line.strip().startswith("torch=="))
    return [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "--no-deps", "--retries", "1",
            "--timeout", "20", "--extra-index-url", CPU_INDEX, pin]


def cuda_requirements(requirements: list[str]) -> list[str]:
    """The CUDA packages among a torch wheel's requirements (none: the CPU build), extras left out."""
    names = []
    for requirement in requirements:
        name = requirement.split(";")[0].strip()
        for stop in "[<>=!~ ":
            name = name.split(stop)[0]
        if name.lower().startswith(("nvidia-", "cuda-")) and "extra ==" not in requirement:
            names.append(name)
    return names


def installed_cuda_requirements() -> list[str]:
    """:func:`cuda_requirements` of the torch installed in .venv."""
    code = "import importlib.metadata as m, json; print(json.dumps(m.requires('torch') or []))"
    out = subprocess.run([str(PY), "-c", code], cwd=ROOT, capture_output=True, text=True)
    try:
        return cuda_requirements(json.loads(out.stdout or "[]"))
    except ValueError:
        return []


def digest() -> str:
    """What .venv was installed from: the pins, the project's dependencies and the torch build."""
    pins = (ROOT / "constraints.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes() + torch_build().encode()
    return hashlib.sha256(pins).hexdigest()


def up_to_date() -> bool:
    stamp = VENV / ".installed"
    return stamp.exists() and stamp.read_text() == digest() and PY.exists()


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11+ is needed, this is {sys.version.split()[0]}")
    if up_to_date():
        return
    say(f"Setting up .venv with the pinned toolchain ({torch_build().upper()} build of torch and the rest; the CPU "
        "build is about 1.6 GB installed, DEEPGRADE_TORCH=cuda takes the CUDA one): this takes a few minutes "
        "the first time, and is skipped afterwards.")
    if not PY.exists():
        say("[1/3] creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    first = torch_first()
    if first is not None:
        say("[2/3] installing torch's CPU build (from PyTorch's CPU index where it can be reached)")
        sh(*first)
        cuda = installed_cuda_requirements()
        if cuda:  # the CPU index was not reached, and pip took the configured index's torch: the CUDA build
            say(f"torch's CPU build could not be had: PyTorch's CPU index ({CPU_INDEX}) was not reached, so pip "
                f"took the configured index's torch, the CUDA build. The next step adds its {len(cuda)} CUDA "
                "packages and their dependencies (about 5 GB installed in all, not 1.6 GB); the course runs on it "
                "all the same. For the CPU build instead: stop now (Ctrl-C), let this machine reach "
                "download.pytorch.org (or give pip a mirror of that index in PIP_EXTRA_INDEX_URL), remove .venv "
                "and run `python3 dev.py setup` again.")
    say("[3/3] installing the packages of constraints.txt: pip lists each one, then installs them all")
    sh(PY, "-m", "pip", "install", "--disable-pip-version-check", "-c", "constraints.txt", "-e", ".[test]")
    say("compiling the feedback's translations (grader/locale/*/LC_MESSAGES/deepgrade.po, with Babel)")
    sh(PY, "-m", "grader.i18n", "compile")
    (VENV / ".installed").write_text(digest())
    say(".venv is ready")


def demo() -> int:
    if not (ROOT / "reference").is_dir():
        print("demo grades the course's reference solutions, which a student repository does not hold: "
              "grade your own work with `python3 dev.py pytest assignments/<id>`", file=sys.stderr)
        return 2
    solutions = ROOT / "build" / "solutions"
    rc = subprocess.run([PY, "-m", "grader", "release", "--solutions", solutions], cwd=ROOT).returncode
    if rc:
        return rc
    print("\n== The reference solutions ==", flush=True)
    rc = subprocess.run([PY, "-m", "grader", "grade", solutions, "--passed-in-one-row"], cwd=ROOT).returncode
    if rc:
        return rc
    print("\n== examples/buggy_submission: a student's a02 with four bugs ==", flush=True)
    return subprocess.run([PY, "-m", "grader", "grade", ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop"],
                          cwd=ROOT).returncode


def has_browser() -> bool:
    import shutil
    return any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (without one, Chinese text draws as empty boxes)."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and bool(found.stdout.strip())


def browser() -> None:
    """Chromium, which the HTML report's test draws the page with, and a CJK font (Noto CJK), without which
    a Chinese page draws empty boxes: installed where this machine lets us (root with apt-get), else said
    loudly, since the tests that draw pages then skip and prove nothing."""
    import shutil
    wanted = [cmd for ok, cmd in ((has_browser(), ["chromium"]),
                                  (has_cjk_font(), ["--no-install-recommends", "fonts-noto-cjk"])) if not ok]
    if not wanted:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"Installing {' and '.join(cmd[-1] for cmd in wanted)} (Debian's packages) for the tests that draw the "
            "HTML report: once, about a minute")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in [["apt-get", "update", "-qq"]] + [["apt-get", "install", "-y", "-qq", *w] for w in wanted]:
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            if done.returncode:
                say(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
                break
    if not has_browser():
        say("WARNING: Chromium is not installed and could not be installed here, so the HTML report's test "
            "(tests/grader/reports/test_html_in_chromium.py) will SKIP and prove nothing. Install it "
            "(Debian: apt-get install chromium) to run it.")
    if not has_cjk_font():
        say("WARNING: no font with Chinese glyphs is installed and none could be installed here, so a Chinese "
            "report (--lang zh_CN) draws empty boxes in this machine's browsers, and the test that checks it "
            "(tests/grader/reports/test_html_in_chromium.py) will SKIP and prove nothing. Install one "
            "(Debian: apt-get install --no-install-recommends fonts-noto-cjk) to run it.")


def test(extra: list[str]) -> int:
    if (ROOT / "reference").is_dir():  # the course's own repository; a student repository has no reference
        browser()  # only the course's own tests draw a page
        rc = subprocess.run([PY, "-m", "grader", "release", "--check"], cwd=ROOT).returncode
        if rc:
            return rc
    workers = [] if "-n" in extra else ["-n", "2"]
    return subprocess.run([PY, "-m", "pytest", *workers, *extra], cwd=ROOT).returncode


def in_venv(module: str, args: list[str]) -> int:
    """``python -m module args`` with .venv's Python, in the caller's folder (so relative paths work)."""
    try:
        return subprocess.run([str(PY), "-m", module, *args]).returncode
    except KeyboardInterrupt:
        return 130


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup", "grader", "pytest"}:
        print(__doc__)
        return 2
    setup()
    if argv[0] == "demo":
        return demo()
    if argv[0] == "test":
        return test(argv[1:])
    if argv[0] in {"grader", "pytest"}:
        return in_venv(argv[0], argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
