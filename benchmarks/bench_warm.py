"""Warm children against cold ones, measured side by side in one run (medians of --repeat).

  child start   one sandboxed child, from nothing to ready for requests (the session's bundle laid out,
                isolation entered, the assignment's suite imported): forked from the fork server (warm) or
                started as a fresh ``python -I -S`` (cold); warm also with the child's code copied into the
                session's bundle, as the levels without a private file system have it, in place of the
                process's one read-only copy (medians of --starts, in turns). This is the per-assignment
                overhead of a grading.
  course        one submission (the reference solutions), every available assignment, every suite,
                sandboxed at the strongest level here, in one grader process: warm and cold runners
                (the warm run's fork server already started, as in a batch worker or `grader watch`),
                one assignment at a time and two at once,
                and from the command line (`python -m grader grade --suite all`, interpreter and
                torch import included).
  student loop  `grader watch`'s regrade of a02's public suite after an edit (the file touched
                between runs), in the warm process.
Usage: python benchmarks/bench_warm.py [--repeat 5] [--starts 20] [--skip-cli]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from _timing import median_of  # benchmarks/_timing.py, beside this script

from grader import paths
from grader.course import config
from grader.course.config import Limits
from grader.judge.cases import remember_expected
from grader.judge.pipeline import grade
from grader.sandbox import bundle as bundles
from grader.sandbox import levels, process, session, warm
from grader.sandbox.inside.messages import Ready

ROOT = Path(__file__).resolve().parent.parent
AID = "a02_mlp_backprop"


def child_start(iso: levels.Isolation, submission: Path, warm_child: bool, shared: bool = True) -> float:
    """Seconds from nothing to a ready child: the session's bundle laid out as a session lays it out (``shared``:
    the process's one copy of the child's code where the level allows it; else a copy of the session's own,
    as where it does not), then the child started."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        root = Path(tmp)
        code = bundles.shared_code(iso.layers) if shared else None  # made once per process
        started = time.perf_counter()  # from nothing: the session's bundle laid out, then the child
        bundle = bundles.make(root, AID, submission, code)
        child = process.Child(root, bundle, AID, "cpu", Limits(60.0, 4096), 120, iso, warm_child, code)
        ready = child.receive(120.0)
        took = time.perf_counter() - started
        child.kill()
    assert isinstance(ready, Ready), ready
    return took


def layout_time(iso: levels.Isolation, submission: Path, shared: bool) -> float:
    """Seconds to lay out a session's bundle (suite, submission copy, and the child's code shared or copied)."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        code = bundles.shared_code(iso.layers) if shared else None
        started = time.perf_counter()
        bundles.make(Path(tmp), AID, submission, code)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--starts", type=int, default=20, help="warm child starts of each kind (cold ones: --repeat)")
    ap.add_argument("--skip-cli", action="store_true", help="leave out the command-line course grading")
    args = ap.parse_args()
    torch.set_num_threads(1)
    course = config.load(paths.COURSE)
    iso = levels.choose("cpu")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}; sandbox: {iso.describe()}")
    with tempfile.TemporaryDirectory(prefix="bench-solutions-") as tmp:
        subprocess.run([sys.executable, "-m", "grader", "release", "--solutions", tmp], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        solutions = Path(tmp)
        warm.server()  # started once, as in a worker
        starts: dict[tuple[bool, bool], list[float]] = {(True, True): [], (True, False): [], (False, True): []}
        for w, shared in starts:  # untimed: the process's shared code made, the caches warm
            child_start(iso, solutions / AID, w, shared)
        for i in range(args.starts):
            for w, shared in (list(starts) if i % 2 else list(starts)[::-1]):  # in turns, each first half the time
                if w or i < args.repeat:
                    starts[(w, shared)].append(child_start(iso, solutions / AID, w, shared))
        print("\n| child start from nothing (s), median (runs) | warm | warm, the child's code copied per session "
              "| cold | cold / warm |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(f"| {AID} | {median_of(starts[(True, True)])} | {median_of(starts[(True, False)])} | "
              f"{median_of(starts[(False, True)])} | "
              f"{statistics.median(starts[(False, True)]) / statistics.median(starts[(True, True)]):.0f}x |")
        layouts = {shared: [layout_time(iso, solutions / AID, shared) for _ in range(args.starts)]
                   for shared in (True, False)}
        print(f"\n| laying out {AID}'s session bundle (ms), median of {args.starts} | child's code shared | copied |")
        print("| --- | ---: | ---: |")
        print(f"| | {statistics.median(layouts[True]) * 1000:.2f} | {statistics.median(layouts[False]) * 1000:.2f} |")

        course_times: dict[str, list[float]] = {"warm": [], "warm, 2 jobs": [], "cold": []}
        for _ in range(max(1, args.repeat // 2)):
            for name in course_times:
                runner = session.SandboxRunner("cpu", iso, warm=name != "cold")
                started = time.perf_counter()
                result = grade(solutions, course, suite="all", runner=runner, jobs=2 if "2 jobs" in name else 1)
                course_times[name].append(time.perf_counter() - started)
                assert result.score == result.max_score, (name, result.score, result.max_score)
        cli: list[float] = []
        if not args.skip_cli:
            for _ in range(max(1, args.repeat // 2)):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "grader", "grade", str(solutions), "--suite", "all", "-q",
                                "--jobs", "2"],
                               check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
                cli.append(time.perf_counter() - started)
        n = sum(a.available for a in course.assignments)
        print(f"\n| one submission, {n} assignments, all suites (s) | median (runs) |")
        print("| --- | ---: |")
        print(f"| in one process, warm children | {median_of(course_times['warm'])} |")
        print(f"| in one process, warm children, 2 assignments at once (`--jobs 2`) | "
              f"{median_of(course_times['warm, 2 jobs'])} |")
        print(f"| in one process, cold children | {median_of(course_times['cold'])} |")
        if cli:
            print(f"| `grader grade --suite all --jobs 2` (command line: interpreter, imports, fork server) | "
                  f"{median_of(cli)} |")

        loop: list[float] = []
        runner = session.SandboxRunner("cpu", iso)
        layers = solutions / AID / "layers.py"
        remember_expected()  # as grader watch does
        grade(solutions / AID, course, [AID], runner=runner)  # the first grading of a watch session
        for _ in range(args.repeat):
            layers.write_text(layers.read_text() + "\n")  # an edit
            started = time.perf_counter()
            result = grade(solutions / AID, course, [AID], runner=runner)
            loop.append(time.perf_counter() - started)
            assert result.score == result.max_score
        print(f"\n| student loop: regrade {AID} public suite after an edit (s) | median (runs) |")
        print("| --- | ---: |")
        print(f"| warm (grader watch) | {median_of(loop)} |")
    warm.shutdown()


if __name__ == "__main__":
    main()
