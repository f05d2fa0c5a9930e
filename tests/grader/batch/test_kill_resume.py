"""A real batch killed (SIGKILL, its whole process group) at random points, then run again until it finishes:
nothing lost, nothing duplicated, nothing graded twice, every score right, no process left behind."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time

from grader import paths
from tests.grader.batch.common import (AID, assert_graded_as_expected, batch_command, batch_env, leftovers,
                                       run_batch)

SEED = 20270212


def kill_points(rng: random.Random, total: int) -> list[tuple[int, float]]:
    """Where each run is killed: once the gradebook holds this many graded submissions (0: at any moment from
    its start, start-up included), then after this many seconds more. The last leaves at least two to grade."""
    first = rng.randint(1, 2)
    return [(0, rng.uniform(0.5, 5.0)), (first, rng.uniform(0.0, 0.3)),
            (rng.randint(first + 1, total - 3), rng.uniform(0.0, 0.2))]

def committed(gradebook) -> dict[str, tuple]:
    """Each student's submissions row as committed (read as another process would, while a batch writes)."""
    if not gradebook.exists():
        return {}
    db = sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0]: r for r in db.execute("SELECT student, content_hash, graded_at, worker, score, status "
                                            "FROM submissions")}
    except sqlite3.OperationalError:  # the first batch was killed before it made the tables
        return {}
    finally:
        db.close()


def test_a_batch_killed_at_random_points_resumes_and_loses_and_duplicates_nothing(a01_class, tmp_path, short_tmp):
    rng = random.Random(SEED)
    gradebook = tmp_path / "grades.sqlite"
    tmp = short_tmp
    args = ("--jobs", "2", "--assignment", AID, "-q")
    seen: dict[str, tuple] = {}
    points = kill_points(rng, len(a01_class.expected))
    print(f"seed {SEED}: killed once {points[0][1]:.2f} s after its start, then "
          + ", then ".join(f"{d:.2f} s after {rows} gradings are recorded" for rows, d in points[1:]))
    for kill, (rows, delay) in enumerate(points):
        proc = subprocess.Popen(batch_command(a01_class.folder, gradebook, *args), cwd=paths.ROOT,
                                env=batch_env(tmp), start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(committed(gradebook)) < rows and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished first
        proc.wait()
        assert leftovers(proc.pid, str(tmp)) == [], f"kill {kill}"
        now = committed(gradebook)
        for student, row in seen.items():
            assert now[student] == row, f"{student} was graded again after kill {kill}"
        seen = now
    assert 0 < len(seen) < len(a01_class.expected), "the killed runs graded nothing or everything"
    r = run_batch(a01_class.folder, gradebook, tmp, *args)
    assert r.returncode == 0, r.stderr
    assert f"{len(seen)} already in the gradebook" in r.stdout
    assert f"graded {len(a01_class.expected) - len(seen)} of {len(a01_class.expected)} submissions" in r.stdout
    assert leftovers(None, str(tmp)) == []
    final = committed(gradebook)
    for student, row in seen.items():
        assert final[student] == row, f"{student} was graded again by the last run"
    assert_graded_as_expected(gradebook, a01_class.expected)
