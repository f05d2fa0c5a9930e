"""The static banned-operation scan of an assignment's tasks, side by side in one run (medians of --repeat).

  one process   every task of the assignment scanned in a process that holds torch: one scan per task,
                each reading every file again (``scan.scan``, as the grading did), against one call for
                all of them (``scan.scan_all``: each file's reading shared); for the same submission
                again (every cache warm) and for a new one (the per-content caches cleared).
  new process   a grading process that holds no torch: ``scanning.first_findings`` through its fork
                server's scan child (the server ready; the first call forks the child, the next ones
                find it kept), against the same call in a process without a server, which imports
                torch and the scan for it (its first call, imports included).
Usage: python benchmarks/bench_scan.py [--repeat 7] [--assignment a02_mlp_backprop ...]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from _timing import median_times  # noqa: E402  (benchmarks/_timing.py, beside this script)

from grader import paths  # noqa: E402
from grader.authoring.release import release  # noqa: E402
from grader.course.config import load  # noqa: E402
from grader.judge import scan  # noqa: E402
from grader.sandbox import resolve  # noqa: E402
from grader.tasks import suites  # noqa: E402

NEW_PROCESS = """
import json, sys, time
from pathlib import Path
if sys.argv[3] == "server":
    from grader.sandbox import warm
    warm.start_now()
    warm.running()
from grader.judge import scanning
jobs = [tuple(j[:2]) + (tuple(j[2]),) for j in json.loads(sys.argv[2])]
times = []
for _ in range(int(sys.argv[4])):
    start = time.perf_counter()
    scanning.first_findings(Path(sys.argv[1]), jobs)
    times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "torch": "torch" in sys.modules}))
"""


def jobs_of(aid: str) -> list[tuple[str, str, tuple[str, ...]]]:
    suite = suites.load(aid)
    return [(suite.tasks[t.id].module, suite.tasks[t.id].function, tuple(t.banned))
            for t in load(paths.COURSE).assignment(aid).tasks]


def new_submission() -> None:
    """What a submission not seen before finds: no file parsed, no file's or function's facts known."""
    resolve._parsed.cache_clear()
    scan._file_facts.cache_clear()
    scan._function_facts.cache_clear()


def in_new_process(folder: Path, jobs: list, server: bool, calls: int) -> dict:
    r = subprocess.run([sys.executable, "-c", NEW_PROCESS, str(folder), json.dumps(jobs),
                        "server" if server else "none", str(calls)], cwd=paths.ROOT, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(paths.ROOT)})
    if r.returncode:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--assignment", nargs="*", default=["a02_mlp_backprop", "a04_cnn", "a11_transformer"])
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        for aid in args.assignment:
            release(paths.REFERENCE, Path(tmp), [aid], solutions=True)
            folder = Path(tmp) / aid
            jobs = jobs_of(aid)
            per_task = lambda: [scan.scan(folder / f"{m}.py", f, b) for m, f, b in jobs]  # noqa: E731
            one_call = lambda: scan.scan_all(folder, jobs)  # noqa: E731
            warm = median_times({"per task": per_task, "one call": one_call}, (), args.repeat)
            fresh = median_times({"per task": lambda: (new_submission(), per_task()),
                                  "one call": lambda: (new_submission(), one_call())}, (), args.repeat)
            print(f"{aid}, {len(jobs)} tasks, one process (ms): same submission again: per task "
                  f"{warm['per task'] * 1000:.1f}, one call {warm['one call'] * 1000:.1f}; a new submission: "
                  f"per task {fresh['per task'] * 1000:.1f}, one call {fresh['one call'] * 1000:.1f}")
            child = in_new_process(folder, jobs, True, args.repeat + 1)
            alone = [in_new_process(folder, jobs, False, 1) for _ in range(max(1, args.repeat // 2))]
            assert not child["torch"] and all(a["torch"] for a in alone)
            print(f"{aid}, new process (s): through the scan child (no torch here) "
                  f"first call {child['times'][0]:.3f}, the next ones {statistics.median(child['times'][1:]):.3f}; "
                  f"scanned here, torch imported for it {statistics.median(a['times'][0] for a in alone):.3f}")


if __name__ == "__main__":
    main()
