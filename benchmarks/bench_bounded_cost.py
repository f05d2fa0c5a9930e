"""What a hostile submission costs the grader: each attack's grading time against the honest one's.

Grades the a02 solutions, then the solutions with one hostile edit each, with
`python -m grader grade <folder> --suite all` (the course's own limits: 60 s per task), in
turns, side by side in one run; reports the median wall time of each, the ratio to the
honest grading, the extra seconds, and whether the extra stays under one task limit.
Usage: python benchmarks/bench_bounded_cost.py [--repeat 1] [--only NAME ...]
"""
from __future__ import annotations

import argparse
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
TASK_LIMIT_S = 60.0
PATCH = """
import numpy as _np
import torch as _torch
_torch.allclose = lambda *a, **k: True
_torch.equal = lambda *a, **k: True
_np.allclose = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
_torch.testing.assert_close = lambda *a, **k: None
"""


def loop_in(name: str):
    def edit(text: str) -> str:
        start = text.index(f"def {name}(")
        end = text.index('"""', text.index('"""', start) + 3) + 3
        return text[:end] + "\n    while True:\n        pass\n" + text[end:]
    return edit


# name -> (file, edit): one hostile change each, the rest of the solutions left as they are
ATTACKS = {
    "patched comparisons": ("layers.py", lambda t: t + PATCH),
    "infinite loop in affine_forward": ("layers.py", loop_in("affine_forward")),
    "infinite loop at import of mlp.py": ("mlp.py", lambda t: t.replace("\nimport torch\n",
                                                                        "\nimport torch\nwhile True:\n    pass\n", 1)),
    "exit handler calling os._exit": ("layers.py", lambda t: t + "\nimport atexit as _ae, os as _os\n"
                                                             "_ae.register(lambda: _os._exit(0))\n"),
    "allocating 8 GiB": ("layers.py", lambda t: t + "\n_hog = bytearray(8 * 2**30)\n"),
    "a daemon left running": ("layers.py", lambda t: t + "\nimport threading as _th, time as _t\n"
                                                         "_th.Thread(target=lambda: _t.sleep(3600), daemon=True).start()\n"),
}


def timed(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--suite", "all", "-q"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", action="append", help="attacks to run (default: all)")
    args = parser.parse_args()
    chosen = {k: v for k, v in ATTACKS.items() if not args.only or k in args.only}
    with tempfile.TemporaryDirectory() as tmp:
        solutions = Path(tmp) / "solutions"
        subprocess.run([sys.executable, "-m", "grader", "release", "--solutions", str(solutions)], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        folders = {"honest": solutions / AID}
        for name, (file, edit) in chosen.items():
            folder = Path(tmp) / name.replace(" ", "_") / AID
            shutil.copytree(solutions / AID, folder)
            (folder / file).write_text(edit((folder / file).read_text()))
            folders[name] = folder
        times: dict[str, list[float]] = {name: [] for name in folders}
        for _ in range(args.repeat):
            for name, folder in folders.items():  # in turns, so load changes hit every row alike
                times[name].append(timed(folder))
                print(f"  {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
    honest = statistics.median(times["honest"])
    print(f"a02 graded with --suite all, median of {args.repeat}; {platform.machine()}, {platform.system()}, "
          f"python {platform.python_version()}")
    print(f"| submission | seconds | ratio to honest | extra s | extra <= one task limit ({TASK_LIMIT_S:g} s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"| {name} | {t:.1f} | {t / honest:.2f} | {t - honest:+.1f} | "
              f"{'yes' if t - honest <= TASK_LIMIT_S else 'NO'} |")


if __name__ == "__main__":
    main()
