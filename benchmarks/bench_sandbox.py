"""What the sandbox's isolation costs per graded assignment: each level side by side, in one run.

Grades the a02 solutions in this process (public suite, CPU) under every isolation level the
machine gives, and each way to the best one (root's, and the user namespace an ordinary
user's laptop takes), in turns (process, full, process, full, ...), after one warm-up grading
each, and reports medians. Also the start-up of one sandboxed child (spawn to "ready", torch
imported), a bare child that only sets its layers up (no torch: the isolation's own cost),
and the one-off probe that detects the levels.
Usage: python benchmarks/bench_sandbox.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import paths  # noqa: E402
from grader.course import config  # noqa: E402
from grader.course.config import Limits  # noqa: E402
from grader.sandbox import bundle as bundles  # noqa: E402
from grader.sandbox import levels, process, session  # noqa: E402
from grader.sandbox.inside import isolation  # noqa: E402
from grader.sandbox.inside.messages import Ready  # noqa: E402
from grader.judge.pipeline import grade  # noqa: E402
from grader.authoring.release import release  # noqa: E402

AID = "a02_mlp_backprop"


def child_start(level: levels.Isolation, submission: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        root = Path(tmp)
        bundle = bundles.make(root, AID, submission)
        start = time.perf_counter()
        child = process.Child(root, bundle, AID, "cpu", Limits(60, 4096), 120, level)
        ready = child.receive(session.STARTUP_TIMEOUT_S)
        took = time.perf_counter() - start
        child.kill()
        assert isinstance(ready, Ready), child.output_tail()
        return took


def bare_start(level: levels.Isolation) -> float:
    """Spawn, set the layers up, verify them and exit, without torch: the isolation's own cost."""
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        bundle = bundles.make(root, None, None)
        plan = bundles.layout(root, bundle, level.layers, level.via, "cpu", [])
        cfg = json.dumps({"paths": [str(bundle / "_grader")], "isolation": plan, "hidden": []})
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-I", "-S", "-c", levels.PROBE, cfg], capture_output=True, cwd=root)
        took = time.perf_counter() - start
        assert sorted(json.loads(out.stdout)) == sorted(level.layers), out.stderr
        return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    best = levels.detect("cpu")
    probe = time.perf_counter() - start
    configs = {"process": ("process", "auto")}  # label: (level, way in)
    if best.level != "process":
        for via in isolation.VIAS:
            if levels.detect("cpu", via).level == best.level:
                configs[f"{best.level} via {via}"] = (best.level, via)
    labels = list(configs)
    course = config.load(paths.COURSE)
    with tempfile.TemporaryDirectory() as tmp:
        release(paths.REFERENCE, Path(tmp), [AID], solutions=True)
        sub = Path(tmp) / AID
        grading: dict[str, list[float]] = {lvl: [] for lvl in labels}
        starts: dict[str, list[float]] = {lvl: [] for lvl in labels}
        bare: dict[str, list[float]] = {lvl: [] for lvl in labels}
        for turn in range(args.repeat + 1):
            for lvl in labels:
                t0 = time.perf_counter()
                level, via = configs[lvl]
                result = grade(sub, course, [AID], runner=session.runner_for("cpu", level, via=via))
                took = time.perf_counter() - t0
                assert result.score == result.max_score, (lvl, result.score)
                iso = levels.choose("cpu", level, via=via)
                s = child_start(iso, sub)
                b = statistics.median(bare_start(iso) for _ in range(5))
                if turn:  # the first turn warms caches up
                    grading[lvl].append(took)
                    starts[lvl].append(s)
                    bare[lvl].append(b)
    print(f"machine: {platform.machine()}, python {platform.python_version()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; best level here: {best.describe()}")
    print(f"probe at start-up (once per grader process): {probe:.2f} s")
    print("| isolation | grade a02, public suite (s) | child start to ready, torch imported (s) "
          "| bare child: spawn, layers, exit (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for lvl in labels:
        print(f"| {lvl} | {statistics.median(grading[lvl]):.2f} | {statistics.median(starts[lvl]):.2f} "
              f"| {1000 * statistics.median(bare[lvl]):.0f} |")
    base = statistics.median(grading["process"])
    for lvl in labels[1:]:
        top = statistics.median(grading[lvl])
        print(f"isolation cost per graded assignment, {lvl}: {top - base:+.2f} s ({(top - base) / base:+.0%})")


if __name__ == "__main__":
    main()
