"""The student loop for whoever runs it: `grader watch`'s regrade of a02's public suite after an edit.

Run it as root and as a login user, one after the other, to compare the two (the isolation
level and way it reaches, and whether children are warm, are printed with the figures):

    python benchmarks/bench_student_loop.py --repeat 5
    runuser -u USER -- python3.11 benchmarks/bench_student_loop.py --repeat 5   # that user's Python, with torch

Usage: python benchmarks/bench_student_loop.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import paths  # noqa: E402
from grader.authoring.release import release  # noqa: E402
from grader.course import config  # noqa: E402
from grader.judge.cases import remember_expected  # noqa: E402
from grader.judge.pipeline import grade  # noqa: E402
from grader.sandbox import levels, session, warm  # noqa: E402

AID = "a02_mlp_backprop"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)  # as the grader's command line does
    course = config.load(paths.COURSE)
    iso = levels.detect("cpu")
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        release(paths.REFERENCE, Path(tmp), [AID], solutions=True)
        folder = Path(tmp) / AID
        runner = session.SandboxRunner("cpu", iso)
        remember_expected()  # as grader watch does
        grade(folder, course, [AID], runner=runner)  # the first grading of a watch session
        warm_children = warm.for_level(iso, "cpu") is not None
        layers = folder / "layers.py"
        loop = []
        for _ in range(args.repeat):
            layers.write_text(layers.read_text() + "\n")  # an edit
            started = time.perf_counter()
            result = grade(folder, course, [AID], runner=runner)
            loop.append(time.perf_counter() - started)
            assert result.score == result.max_score
    warm.shutdown()
    print(f"uid {os.getuid()}, {iso.describe()}, children {'warm' if warm_children else 'cold'}")
    print(f"regrade of {AID}'s public suite after an edit: median {statistics.median(loop):.2f} s "
          f"({', '.join(f'{t:.3f}' for t in loop)})")


if __name__ == "__main__":
    main()
