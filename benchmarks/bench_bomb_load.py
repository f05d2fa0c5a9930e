"""What one hostile submission in a batch costs the machine: runnable threads and load, honest marks.

A class of three honest a02 submissions and one hostile one is graded with
`grader batch --jobs 2 --suite all`, as whoever runs this script (run it as root and as a login
user). While it runs, every 20 ms, the runnable threads of this user are counted (state R in
/proc/PID/task/TID/stat): the batch's own workers, their children and whatever the hostile
submission started. Reported per round: the peak of runnable threads, the 1-minute load
average before and at the end, the batch's wall time, and whether every honest submission
kept full marks. Hostile submissions, each in its own round:

  fork bomb     every process forks for ever (tests/adversarial/fork_bomb)
  thread bomb   one task starts busy threads until it cannot start more

Usage: python benchmarks/bench_bomb_load.py [--rounds 3] [--only fork|thread]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import splice_source, solutions_copy  # noqa: E402

AID = "a02_mlp_backprop"
HONEST = ("ana", "ben", "chen")
BOMBS = {
    "fork": (ROOT / "tests" / "adversarial" / "fork_bomb" / "layers.py").read_text(),
    "thread": '''
import threading


def _spin():
    while True:
        sum(range(1000))


def tanh_forward(x):
    while True:
        try:
            threading.Thread(target=_spin, daemon=True).start()
        except RuntimeError:
            break
    return x.tanh()
''',
}


def runnable_threads(uid: int) -> int:
    """Threads of ``uid`` that are running or ready to run now."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            for tid in os.listdir(f"/proc/{entry}/task"):
                with open(f"/proc/{entry}/task/{tid}/stat") as f:
                    stat = f.read()
                count += stat[stat.rindex(")") + 2] == "R"
        except OSError:
            continue
    return count


def one_round(bomb: str, work: Path) -> dict:
    course = work / "course"
    solutions = solutions_copy(course, AID)
    subs = work / "submissions"
    for student in HONEST:
        shutil.copytree(solutions, subs / student / AID)
    shutil.copytree(solutions, subs / "mallory" / AID)
    splice_source(subs / "mallory" / AID / "layers.py", BOMBS[bomb])
    me, peak, done = os.getuid(), [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], runnable_threads(me))
            time.sleep(0.02)
    load_before = os.getloadavg()[0]
    sampler = threading.Thread(target=watch, daemon=True)
    sampler.start()
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "grader", "batch", str(subs), "--gradebook", str(work / "g.sqlite"),
                        "--jobs", "2", "--assignment", AID, "--suite", "all", "-q"], cwd=ROOT,
                       capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    done.set()
    sampler.join(10)
    if r.returncode not in (0, 1):
        raise SystemExit(f"grader batch failed ({r.returncode}): {r.stderr[-2000:]}")
    with sqlite3.connect(work / "g.sqlite") as db:
        rows = {s: (score, top) for s, score, top in db.execute("SELECT student, score, max_score FROM submissions")}
    return {"peak": peak[0], "load_before": load_before, "load_after": os.getloadavg()[0], "wall": wall,
            "honest_full": all(rows[s][0] == rows[s][1] > 0 for s in HONEST), "mallory": rows["mallory"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=sorted(BOMBS))
    args = ap.parse_args()
    print(f"uid {os.getuid()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for bomb in [args.only] if args.only else sorted(BOMBS):
        for k in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="bomb-") as tmp:
                got = one_round(bomb, Path(tmp))
            print(f"{bomb} bomb, round {k + 1}: peak runnable threads {got['peak']}, load {got['load_before']:.2f} "
                  f"-> {got['load_after']:.2f}, {got['wall']:.1f} s, honest full marks: {got['honest_full']}, "
                  f"mallory {got['mallory'][0]:g}/{got['mallory'][1]:g}", flush=True)


if __name__ == "__main__":
    main()
