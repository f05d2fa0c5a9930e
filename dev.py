"""Bootstrap: create .venv, install the pinned toolchain, then run the demo or the tests.

Usage (needs only Python 3.11+):
    python3 dev.py demo    # grade the reference solutions and a buggy example submission
    python3 dev.py test    # release --check, then the whole test suite
    python3 dev.py setup   # only create/refresh .venv
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def sh(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11+ is needed, this is {sys.version.split()[0]}")
    stamp = VENV / ".installed"
    digest = hashlib.sha256(
        (ROOT / "constraints.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PY.exists():
        return
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    sh(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check",
       "-c", "constraints.txt", "-e", ".[test]")
    stamp.write_text(digest)


def demo() -> int:
    solutions = ROOT / "build" / "solutions"
    rc = subprocess.run([PY, "-m", "grader", "release", "--solutions", solutions], cwd=ROOT).returncode
    if rc:
        return rc
    print("\n== The reference solutions ==", flush=True)
    rc = subprocess.run([PY, "-m", "grader", "grade", solutions], cwd=ROOT).returncode
    if rc:
        return rc
    print("\n== examples/buggy_submission: a student's a02 with four bugs ==", flush=True)
    return subprocess.run([PY, "-m", "grader", "grade", ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop"],
                          cwd=ROOT).returncode


def test(extra: list[str]) -> int:
    rc = subprocess.run([PY, "-m", "grader", "release", "--check"], cwd=ROOT).returncode
    if rc:
        return rc
    workers = [] if "-n" in extra else ["-n", "2"]
    return subprocess.run([PY, "-m", "pytest", *workers, *extra], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    setup()
    if argv[0] == "demo":
        return demo()
    if argv[0] == "test":
        return test(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
