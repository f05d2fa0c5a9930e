"""A class of a02 submissions: `grader batch` against `nbgrader autograde`, side by side in one run.

  class         --students a02 submissions (mixed: the solutions, the buggy example, the untouched
                skeleton, and malicious ones: one exits at import, one patches torch.allclose, one
                forks, one loops for 3 s, one prints a megabyte), graded with `grader batch --jobs
                --jobs` (sandboxed at the strongest level here): wall time, submissions per minute,
                and the peak memory of a worker process (from the batch's summary).
  nbgrader      the course's own a02 notebook (`grader release --notebooks`, `nbgrader
                generate_assignment`), solved, autograded by `nbgrader autograde` for --nb-students
                students: seconds per submission. Its grade cells grade in the sandbox too.
  grade         one submission with `grader grade` (a new process: interpreter, torch, fork server).
Usage: python benchmarks/bench_class.py [--students 50] [--jobs 2] [--nb-students 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AID = "a02_mlp_backprop"
ATTACKS = {  # appended to layers.py: each costs its own tasks, the rest of the submission is graded
    "exit_at_import": "import os as _os\n_os._exit(3)\n",
    "patch_allclose": "import torch as _t\n_t.allclose = lambda *a, **k: True\n",
    "fork": "\n\ndef relu_forward(x):\n    import os\n    if os.fork() == 0:\n        os._exit(0)\n"
            "    return x.clamp(min=0), x\n",
    "loop": "\n\ndef tanh_forward(x):\n    import time\n    time.sleep(3)\n    return x.tanh(), x.tanh()\n",
    "noise": "\n\ndef sigmoid_forward(x):\n    print('x' * 1_000_000)\n    return 1 / (1 + (-x).exp()), None\n",
}


def make_class(root: Path, n: int) -> Path:
    sol = root / "solutions"
    subprocess.run([sys.executable, "-m", "grader", "release", "--solutions", str(sol)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    klass = root / "class"
    kinds = ["solutions", "buggy", "skeleton", *ATTACKS]
    for i in range(n):
        kind = kinds[i % len(kinds)] if i < 2 * len(kinds) else ("solutions" if i % 2 else "buggy")
        dest = klass / f"s{i:03d}" / AID
        src = {"solutions": sol / AID, "buggy": ROOT / "examples" / "buggy_submission" / AID,
               "skeleton": ROOT / "assignments" / AID}.get(kind, sol / AID)
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "test_public.py"))
        if kind in ATTACKS:
            with open(dest / "layers.py", "a") as f:
                f.write(ATTACKS[kind])
    return klass


def batch(klass: Path, jobs: int, book: Path) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "grader", "batch", str(klass), "--gradebook", str(book), "--jobs",
                          str(jobs), "--assignment", AID, "-q"], cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"grader batch failed:\n{out.stdout}\n{out.stderr}")
    return took, out.stdout + out.stderr


def nbgrader(root: Path, students: int) -> float:
    course = root / "nbcourse"
    subprocess.run([sys.executable, "-m", "grader", "release", "--notebooks", str(course)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    for name in ("config", "data", "runtime"):
        env[f"JUPYTER_{name.upper()}_DIR"] = str(root / "jupyter" / name)
    run = dict(cwd=course, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", AID], **run)
    for i in range(students):
        dest = course / "submitted" / f"s{i:03d}" / AID
        dest.mkdir(parents=True)
        shutil.copy(course / "source" / AID / f"{AID}.ipynb", dest / f"{AID}.ipynb")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", AID], **run)
    return (time.perf_counter() - started) / students


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--nb-students", type=int, default=3)
    args = ap.parse_args()
    import torch
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        root = Path(tmp)
        klass = make_class(root, args.students)
        took, summary = batch(klass, args.jobs, root / "grades.sqlite")
        peak = re.search(r"peak memory[^\n]*", summary)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(klass / "s000" / AID), "-q"], check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        one = time.perf_counter() - started
        per_nb = nbgrader(root, args.nb_students)
        print(f"load after: {os.getloadavg()[0]:.1f}")
    per_batch = took / args.students
    print(f"\n| {AID}, one run | seconds per submission | submissions per minute |")
    print("| --- | ---: | ---: |")
    print(f"| `grader batch` of {args.students} (mixed, 5 malicious kinds), --jobs {args.jobs} | {per_batch:.2f} | "
          f"{60 / per_batch:.1f} |")
    print(f"| `grader grade` of one submission (new process) | {one:.2f} | {60 / one:.1f} |")
    print(f"| `nbgrader autograde` of {args.nb_students} solved notebooks | {per_nb:.2f} | {60 / per_nb:.1f} |")
    print(f"\nnbgrader / grader batch, per submission: {per_nb / per_batch:.1f}x")
    print(f"batch: {took:.1f} s wall for {args.students}; {peak.group(0) if peak else 'peak memory: not reported'}")


if __name__ == "__main__":
    main()
