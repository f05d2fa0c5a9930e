"""grader insights at scale: 500 submissions of one assignment (a02), statistics and similarity.

Makes a class of N students (default 500) in a temporary folder: each student's a02 is the
skeleton with some of its functions written from one of three sources (the reference's solutions,
the independent ones of grader/quality/alternatives/, or a buggy student's of the insights tests), their
locals renamed at random, in a random order; some hand in the skeleton untouched; a few pairs are
copies, disguised. The gradebook holds a row per student: each distinct submission kind graded once
in process and recorded for every student who handed it in (the statistics read rows, whatever
graded them). Then it times ``analyse`` (statistics, map and similarity) and the page's rendering,
in this process, and prints the figures for BENCHMARKS.md.

Usage: python benchmarks/bench_insights.py [--students 500] [--repeat 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import ast
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import Gradebook, Key  # noqa: E402
from grader.batch.jobs import Job, Outcome, Stamp  # noqa: E402
from grader.insights import analyse  # noqa: E402
from grader.judge.pipeline import grade  # noqa: E402
from grader.quality.inprocess import InProcessRunner  # noqa: E402
from grader.reports.insights import render_html, render_json  # noqa: E402
from tests.grader.insights.classroom import (AID, DEADLINE, GUS, HAL, IVY, alternative_bodies,  # noqa: E402
                                             disguised, implemented)
from tests.helpers import COURSE, skeleton_copy, solutions_copy  # noqa: E402
from grader.quality.audit import ALTERNATIVES  # noqa: E402


def solution_bodies(solutions: Path) -> dict[str, dict[str, str]]:
    """Each function of the solutions copy as a body (what follows its docstring), by file."""
    out: dict[str, dict[str, str]] = {}
    for py in sorted(solutions.glob("*.py")):
        source = py.read_text()
        lines = source.splitlines()
        for fn in (n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)):
            body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
                else fn.body
            if body:
                out.setdefault(py.name, {})[fn.name] = _dedent(lines[body[0].lineno - 1:fn.end_lineno])
    return out


def _dedent(lines: list[str]) -> str:
    import textwrap
    return textwrap.dedent("\n".join(lines))


def renamed(source: str, rng: random.Random) -> str:
    """``source`` with every function's locals renamed at random and its functions shuffled."""
    tree = ast.parse(source)
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        stored = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - params
        names = {s: f"{rng.choice(['t', 'v', 'tmp', 'res', 'g'])}{rng.randrange(1000)}_{i}"
                 for i, s in enumerate(sorted(stored))}
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and n.id in names:
                n.id = names[n.id]
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    rng.shuffle(functions)
    tree.body = [n for n in tree.body if not isinstance(n, ast.FunctionDef)] + functions
    return ast.unparse(tree) + "\n"


def make_class(root: Path, n: int, seed: int = 2027) -> tuple[Path, Path, Path]:
    rng = random.Random(seed)
    solutions = solutions_copy(root / "sol", AID)
    skeleton = skeleton_copy(root / "skel", AID)
    sources = {"solutions": solution_bodies(solutions),
               "independent": {py.name: alternative_bodies(py) for py in sorted((ALTERNATIVES / AID).glob("*.py"))}}
    buggy = [GUS, HAL, IVY]
    folder = root / "class"
    kinds: dict[str, str] = {}
    for i in range(n):
        student = f"s{i:03d}"
        dest = folder / student / AID
        dest.mkdir(parents=True)
        roll = rng.random()
        for py in sorted(skeleton.glob("*.py")):
            text = py.read_text()
            if roll < 0.08:  # the skeleton untouched
                kinds[student] = "skeleton"
            elif roll < 0.2:  # a buggy student's few functions
                kinds[student] = f"buggy{i % 3}"
                text = implemented(text, buggy[i % 3].get(py.name, {}))
            else:
                kinds[student] = "solutions" if roll < 0.6 else "independent"
                bodies = sources[kinds[student]].get(py.name, {})
                known = {f.name for f in ast.parse(text).body if isinstance(f, ast.FunctionDef)}
                chosen = {k: v for k, v in bodies.items() if k in known and rng.random() < 0.85}
                text = implemented(text, chosen)
                if chosen and py.name in ("layers.py", "mlp.py"):
                    text = renamed(text, rng)
            (dest / py.name).write_text(text)
    for i in range(0, n - 1, max(2, n // 10)):  # about ten disguised copies of a classmate
        src, dst = folder / f"s{i:03d}" / AID, folder / f"s{i + 1:03d}" / AID
        for py in src.glob("*.py"):
            (dst / py.name).write_text(disguised(py.read_text()) if py.name in ("layers.py", "mlp.py")
                                       else py.read_text())
        kinds[f"s{i + 1:03d}"] = kinds[f"s{i:03d}"]
    gradebook = root / "grades.sqlite"
    graded = {}
    with Gradebook(gradebook) as book:
        for student in sorted(kinds):
            kind = kinds[student]
            if kind not in graded:  # one grading per kind of submission, the first student's
                graded[kind] = grade(folder / student / AID, COURSE, [AID], runner=InProcessRunner())
            at = DEADLINE if rng.random() < 0.9 else DEADLINE + dt.timedelta(days=1)
            book.record(Job(student, student, "folder", f"h{student}", {AID: Stamp(at, "file_time")}),
                        Outcome(student, graded[kind], seconds=rng.uniform(2, 9)), [AID],
                        Key("bench", "public", "cpu"))
    return folder, gradebook, skeleton.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-insights-") as tmp:
        started = time.perf_counter()
        folder, gradebook, skeletons = make_class(Path(tmp), args.students)
        print(f"made and graded a class of {args.students} in {time.perf_counter() - started:.1f} s")
        runs, found = [], None
        for _ in range(args.repeat):
            t = time.perf_counter()
            found = analyse(gradebook, folder, skeletons=skeletons)
            page = render_html(found.to_dict())
            render_json(found.to_dict())
            runs.append((time.perf_counter() - t, found.assignments[0].similarity.seconds))
        sim = found.assignments[0].similarity
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"students {args.students}: read {sim.compared}, no own code {len(sim.no_own_code)}, "
              f"pairs compared {sim.pairs_compared}, flagged {sim.flagged}, page {len(page) / 1e6:.1f} MB")
        print("analyse + render (s): " + ", ".join(f"{a:.2f}" for a, _ in runs)
              + f"; median {statistics.median(a for a, _ in runs):.2f}")
        print("of which similarity (s): " + ", ".join(f"{s:.2f}" for _, s in runs))
        print("top pairs: " + "; ".join(f"{p.a}-{p.b} {p.score:.2f}" for p in sim.pairs[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
