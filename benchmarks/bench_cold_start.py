"""Cold starts against a bare torch import, measured side by side in one run (medians of --repeat).

  torch         `python -I -S -c "import torch"` (site-packages on the path): the floor of a cold
                grading, which must import torch once, in the sandboxed child.
  a02 cold      `grader grade` of a02's solutions, public suite, from a new process, with an empty
                cache folder (the reference computes the expected values, course.yaml's banned
                names are looked up, the suites' tasks listed).
  a02 warm      the same with the cache folder the cold run filled.
  course        `grader grade --suite all --jobs 2` of the solutions of every available assignment,
                from a new process, warm cache.
  child start   a sandboxed child from nothing to ready (isolation entered, a02's suite imported),
                forked from the fork server (as bench_warm.py measures it).
  batch         `grader batch --jobs 2` of --students copies of a02's solutions, per submission, against
                `nbgrader autograde` of the course's a02 notebook, solved, per notebook (when nbgrader
                is installed), with the same warm cache.
  pytest        `pytest assignments/a02_mlp_backprop` (the skeleton's public tests: the student's loop).
  --against DIR the a02 and course gradings and pytest also from another checkout (a commit before a change,
                `git worktree add ../base <commit>`), in turns with this one, with a cache folder of its own.
Every ratio is against the bare torch import of the same run.
Usage: python benchmarks/bench_cold_start.py [--repeat 5] [--students 20] [--nb-students 3] [--against DIR]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AID = "a02_mlp_backprop"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _timing import median_of  # noqa: E402  (benchmarks/_timing.py, beside this script)


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--students", type=int, default=20, help="submissions in the batch (default: %(default)s)")
    ap.add_argument("--nb-students", type=int, default=3, help="notebooks nbgrader grades (default: %(default)s)")
    ap.add_argument("--against", metavar="DIR", help="another checkout, timed in turns with this one")
    args = ap.parse_args()
    other = Path(args.against).resolve() if args.against else None
    import torch  # this script's own: the versions it reports, the site-packages the bare import needs

    site = str(Path(torch.__file__).resolve().parent.parent)
    grader = [sys.executable, "-m", "grader"]
    rows: dict[str, list[float]] = {k: [] for k in ("torch", "a02 cold", "a02 warm", "course", "pytest")}
    before: dict[str, list[float]] = {k: [] for k in ("a02 warm", "course", "pytest")}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"torch {torch.__version__}; load at the start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        root = Path(tmp)
        env = dict(os.environ, DEEPGRADE_CACHE_DIR=str(root / "cache"))
        # The other checkout keeps its own cache folder: its entries are written under its own keys, and in a
        # shared folder each checkout's run would replace the other's, leaving neither a warm cache.
        theirs = dict(os.environ, DEEPGRADE_CACHE_DIR=str(root / "cache-other"))
        subprocess.run(grader + ["release", "--solutions", str(root / "solutions")], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, env=env)
        a02 = str(root / "solutions" / AID)
        course = grader + ["grade", str(root / "solutions"), "--suite", "all", "--jobs", "2", "-q"]
        for where, cache in [(ROOT, env)] + ([(other, theirs)] if other is not None else []):
            timed(course, cache, where)  # untimed: each checkout's cache folder filled once, so "warm" is warm
        for i in range(args.repeat):  # side by side: one of each per round
            rows["torch"].append(timed([sys.executable, "-I", "-S", "-c",
                                        f"import sys; sys.path.append({site!r}); import torch"], env))
            cold = dict(env, DEEPGRADE_CACHE_DIR=str(root / f"cold-{i}"))
            rows["a02 cold"].append(timed(grader + ["grade", a02, "--assignment", AID, "-q"], cold))
            rows["a02 warm"].append(timed(grader + ["grade", a02, "--assignment", AID, "-q"], env))
            rows["course"].append(timed(course, env))
            student = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "assignments/" + AID]
            rows["pytest"].append(timed(student, env, ok=(0, 1)))
            if other is not None:
                before["a02 warm"].append(timed(grader + ["grade", a02, "--assignment", AID, "-q"], theirs, other))
                before["course"].append(timed(course, theirs, other))
                before["pytest"].append(timed(student, theirs, other, ok=(0, 1)))
        starts = child_starts(root / "solutions" / AID, args.repeat, env)
        per_batch, per_nb = batch_and_nbgrader(root, args.students, args.nb_students, env)
    floor = statistics.median(rows["torch"])
    print(f"load at the end {os.getloadavg()[0]:.1f}\n")
    print("| what | median s (runs) | / bare torch import |")
    print("| --- | ---: | ---: |")
    names = {"torch": "`python -I -S -c \"import torch\"`",
             "a02 cold": f"`grader grade` {AID}, public suite, new process, cold cache",
             "a02 warm": f"`grader grade` {AID}, public suite, new process, warm cache",
             "course": "`grader grade --suite all --jobs 2`, every assignment, new process, warm cache"}
    names["pytest"] = f"`pytest assignments/{AID}` (the skeleton's public tests)"
    for key, label in names.items():
        print(f"| {label} | {median_of(rows[key], 2)} | {statistics.median(rows[key]) / floor:.2f}x |")
        if before.get(key):
            print(f"| the same, --against checkout | {median_of(before[key], 2)} | "
                  f"{statistics.median(before[key]) / floor:.2f}x |")
    if starts:
        print(f"| warm child start, {AID} (fork server running) | {statistics.median(starts) * 1000:.0f} ms "
              f"({', '.join(f'{t * 1000:.0f}' for t in starts)}) | |")
    print(f"| `grader batch --jobs 2`, {args.students} submissions, per submission | {per_batch:.3f} | |")
    if per_nb is not None:
        print(f"| `nbgrader autograde`, {args.nb_students} solved notebooks, per notebook | {per_nb:.2f} | |")
        print(f"\nnbgrader autograde / grader batch, per submission: {per_nb / per_batch:.1f}x")
    else:
        print("\nnbgrader is not installed in this environment: no comparison")


def child_starts(submission: Path, repeat: int, env: dict[str, str]) -> list[float]:
    """bench_warm.py's child start, in a process of its own (it holds the fork server)."""
    code = ("import json, sys\nfrom bench_warm import child_start\nfrom grader.sandbox import levels, warm\n"
            "iso = levels.choose('cpu'); warm.server()\n"
            f"print(json.dumps([child_start(iso, __import__('pathlib').Path({str(submission)!r}), True) "
            f"for _ in range({repeat})]))\nwarm.shutdown()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "benchmarks", env=dict(env, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"child start not measured: {done.stderr[-500:]}")
        return []
    import json
    return json.loads(done.stdout.splitlines()[-1])


def batch_and_nbgrader(root: Path, students: int, nb_students: int, env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds per submission: ``grader batch --jobs 2`` of ``students`` copies of a02's solutions, and
    ``nbgrader autograde`` of the solved notebook (None where nbgrader is not installed)."""
    klass = root / "class"
    for i in range(students):
        shutil.copytree(root / "solutions" / AID, klass / f"s{i:03d}" / AID,
                        ignore=shutil.ignore_patterns("__pycache__", "test_public.py"))
    took = timed([sys.executable, "-m", "grader", "batch", str(klass), "--gradebook", str(root / "grades.sqlite"),
                  "--jobs", "2", "--assignment", AID, "-q"], env)
    per_nb = None
    if shutil.which("nbgrader", path=str(Path(sys.executable).parent)):
        from bench_class import nbgrader
        per_nb = nbgrader(root, nb_students)
    return took / students, per_nb


if __name__ == "__main__":
    main()
