"""Wall time to grade an assignment (a02 by default; all suites, sandboxed) from the command line,
and the start-up share.

Measured side by side in one run, medians of --repeat runs:
  total      `python -m grader grade <solutions> --suite all`
  cli start  `python -c "import grader.cli, grader.judge.pipeline"` (interpreter + torch + grader imports)
  child      `python -I -S -c "import torch"` (the sandboxed child's start, once per assignment)
With ``--against DIR`` (another checkout of this repository, e.g. a commit before a change),
it instead times the same grading from both checkouts in turns and prints the two medians and
their ratio: a change's effect on grading speed, measured side by side in one run.
Usage: python benchmarks/bench_grade.py [--repeat 5] [--against DIR] [--assignment a02_mlp_backprop]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(other: Path, repeat: int, aid: str) -> None:
    """The ``aid`` solutions graded by this checkout and by ``other``, alternating, ``repeat`` times each."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "grader", "release", "--solutions", tmp], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        sub = str(Path(tmp) / aid)
        times: dict[Path, list[float]] = {ROOT: [], other: []}
        for _ in range(repeat):
            for root in times:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "grader", "grade", sub, "--suite", "all", "-q"], check=True,
                               cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[root].append(time.perf_counter() - start)
    ours, theirs = statistics.median(times[ROOT]), statistics.median(times[other])
    print(f"machine: {platform.machine()}, python {platform.python_version()}, torch {torch.__version__}")
    print(f"| checkout | median wall time (s), grade {aid} all suites | runs |")
    print("| --- | ---: | ---: |")
    print(f"| this one | {ours:.2f} | {', '.join(f'{t:.2f}' for t in times[ROOT])} |")
    print(f"| --against | {theirs:.2f} | {', '.join(f'{t:.2f}' for t in times[other])} |")
    print(f"ratio this / against: {ours / theirs:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", metavar="DIR", help="another checkout to time side by side")
    parser.add_argument("--assignment", metavar="ID", default="a02_mlp_backprop", help="the assignment graded")
    args = parser.parse_args()
    if args.against:
        return compare(Path(args.against).resolve(), args.repeat, args.assignment)
    site = str(Path(torch.__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "grader", "release", "--solutions", tmp], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        sub = str(Path(tmp) / args.assignment)
        total = timed([sys.executable, "-m", "grader", "grade", sub, "--suite", "all", "-q"], args.repeat)
        cli = timed([sys.executable, "-c", "import grader.cli, grader.judge.pipeline"], args.repeat)
        child = timed([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.append({site!r}); import torch"],
                      args.repeat)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| what | median wall time (s) | share of total |")
    print("| --- | ---: | ---: |")
    print(f"| grade {args.assignment}, all suites, sandboxed (CLI) | {total:.2f} | 100% |")
    print(f"| grader process start-up and imports | {cli:.2f} | {cli / total:.0%} |")
    print(f"| sandboxed child start-up (import torch) | {child:.2f} | {child / total:.0%} |")
    print(f"| grading proper (rest) | {total - cli - child:.2f} | {(total - cli - child) / total:.0%} |")


if __name__ == "__main__":
    main()
