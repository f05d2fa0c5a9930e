"""What the diagnoses name, and what they cost: the held-out bug table, and the time they add.

1. Grades each bug of ``tests/diagnosis/bugs.py`` alone (in process, every suite) and prints, per
   kind, how many bugs the diagnoses name right, leave silent or name wrong.
2. For each bugged task, the time its diagnosis took: the relations (``hypotheses``) and the
   reference's near misses (``near_miss``), measured around those two steps; reports the median
   and the largest per failed task.
3. The time to grade a correct submission (every available assignment's solutions, in process,
   public suite), with the diagnosis steps as they are and with them replaced by no-ops, in
   turns: they run for failed checks only, so the ratio should be 1.

Usage: python benchmarks/bench_diagnosis.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from grader.judge import diagnose, near_miss, pipeline  # noqa: E402
from tests.diagnosis.test_kinds import classify, grade_bugs, render  # noqa: E402
from tests.helpers import COURSE, grade_folder, solutions_copy  # noqa: E402

SPENT: dict[str, float] = defaultdict(float)  # task id -> seconds in the diagnosis steps


def timed(module, name: str, task_of):
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            SPENT[task_of(args)] += time.perf_counter() - start
    setattr(module, name, wrapper)
    return real


@contextlib.contextmanager
def without_diagnoses():
    saved = pipeline.near_misses, diagnose.kinds_of
    pipeline.near_misses = lambda *a, **k: None
    diagnose.kinds_of = lambda *a, **k: []
    try:
        yield
    finally:
        pipeline.near_misses, diagnose.kinds_of = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}")
    timed(near_miss, "diagnose", lambda a: a[1].id)
    current = {"task": ""}
    real_check = pipeline.score_task

    def score_task(course, aid, task, *rest):
        current["task"] = task.id
        return real_check(course, aid, task, *rest)
    pipeline.score_task = score_task
    timed(diagnose, "kinds_of", lambda a: current["task"])
    results = grade_bugs()
    print(render(classify(results)))
    per_task = sorted(SPENT.values())
    print("slowest:", ", ".join(f"{t} {s * 1000:.0f} ms" for t, s in sorted(SPENT.items(), key=lambda kv: -kv[1])[:4]))
    print(f"diagnosis time per failed task: median {statistics.median(per_task) * 1000:.0f} ms, "
          f"largest {max(per_task) * 1000:.0f} ms, over {len(per_task)} tasks")
    pipeline.score_task = real_check

    with tempfile.TemporaryDirectory() as tmp:
        folders = [solutions_copy(Path(tmp), a.id) for a in COURSE.assignments if a.available]
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(args.repeat):
            for label in ("with", "without"):
                start = time.perf_counter()
                with without_diagnoses() if label == "without" else contextlib.nullcontext():
                    for folder in folders:
                        grade_folder(folder, sandboxed=False)
                times[label].append(time.perf_counter() - start)
    w, wo = statistics.median(times["with"]), statistics.median(times["without"])
    print(f"correct submissions, {len(folders)} assignments, public suite, in process: with diagnoses {w:.2f} s, "
          f"without {wo:.2f} s, ratio {w / wo:.3f} (medians of {args.repeat}, in turns)")


if __name__ == "__main__":
    main()
