"""A real batch killed (SIGKILL, its whole process group) at random points, then run again until it finishes:
nothing lost, nothing duplicated, nothing graded twice, every score right, no process left behind."""
from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from grader import paths
from tests.grader.batch.common import (AID, WAIT_S, Expected, assert_graded_as_expected, batch_command, batch_env,
                                       course_with_a_long_wait, leftovers, run_batch, stop_waiting,
                                       waiting_submission)
from tests.helpers import COURSE

SEED = 20270212
WAITER = "zed"      # a submission whose grading waits while the batch is killed around it
PATIENCE_S = 300    # how long a killed run may take to record the gradings its kill point waits for


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


def test_a_batch_killed_at_random_points_resumes_and_loses_and_duplicates_nothing(a01_class, solutions, tmp_path,
                                                                                   short_tmp):
    # The class and one more student whose grading waits WAIT_S seconds: while it waits no killed run can have
    # graded everything, whatever the machine's speed, and its other worker grades the rest one by one.
    assert PATIENCE_S < min(WAIT_S, COURSE.budgets.assignment_s)
    folder = tmp_path / "class"
    shutil.copytree(a01_class.folder, folder)  # copy2: the zips' and the notebook's times are kept
    waiter = waiting_submission(solutions(AID), folder / WAITER)
    expected: dict[str, Expected] = {**a01_class.expected, WAITER: a01_class.expected["alice"]}  # on time
    course = course_with_a_long_wait(tmp_path / "course.yaml")
    rng = random.Random(SEED)
    gradebook = tmp_path / "grades.sqlite"
    tmp = short_tmp
    args = ("--jobs", "2", "--assignment", AID, "-q")
    seen: dict[str, tuple] = {}
    points = kill_points(rng, len(expected))
    print(f"seed {SEED}: killed once {points[0][1]:.2f} s after its start, then "
          + ", then ".join(f"{d:.2f} s after {rows} gradings are recorded" for rows, d in points[1:]))
    for kill, (rows, delay) in enumerate(points):
        log = tmp_path / f"run{kill}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(batch_command(folder, gradebook, *args, course=course), cwd=paths.ROOT,
                                    env=batch_env(tmp), start_new_session=True, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + PATIENCE_S
            while len(committed(gradebook)) < rows and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if proc.poll() is None and len(committed(gradebook)) < rows:
                pytest.fail(f"kill {kill}: the batch recorded {len(committed(gradebook))} gradings in {PATIENCE_S} s,"
                            f" not the {rows} its kill waits for")
            time.sleep(delay)
            assert proc.poll() is None, f"kill {kill}: the batch ended before it was killed:\n{log.read_text()}"
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended on its own (a failure said above)
            proc.wait(timeout=60)
        assert leftovers(proc.pid, str(tmp)) == [], f"kill {kill}"
        now = committed(gradebook)
        for student, row in seen.items():
            assert now[student] == row, f"{student} was graded again after kill {kill}"
        seen = now
    assert WAITER not in seen and len(seen) >= points[-1][0], seen.keys()
    stop_waiting(solutions(AID), waiter)  # never graded, now the solutions: graded once, full marks
    r = run_batch(folder, gradebook, tmp, *args, course=course)
    assert r.returncode == 0, r.stderr
    assert f"{len(seen)} already in the gradebook" in r.stdout
    assert f"graded {len(expected) - len(seen)} of {len(expected)} submissions" in r.stdout
    assert leftovers(None, str(tmp)) == []
    final = committed(gradebook)
    for student, row in seen.items():
        assert final[student] == row, f"{student} was graded again by the last run"
    assert_graded_as_expected(gradebook, expected)
