"""The local pool: a worker that dies costs the submission it was grading, not the batch; the pool's start method."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from multiprocessing import forkserver

from grader.batch import jobs, run
from grader.batch.executors import LocalPool
from grader.course import config
from tests.grader.batch.common import AID, course_with_a_long_wait, leftovers, waiting_submission


def test_a_worker_killed_mid_grading_fails_its_submission_and_a_fresh_worker_goes_on(a01_class, solutions, tmp_path,
                                                                                      short_tmp, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(short_tmp))  # the workers' (their sandboxes' folders), not this process's
    # amy's grading waits WAIT_S seconds in one task: the worker is provably grading her when it is killed
    course = config.load(course_with_a_long_wait(tmp_path / "course.yaml"))
    folder = tmp_path / "class"
    waiting_submission(solutions(AID), folder / "amy")
    shutil.copytree(a01_class.folder / "heidi", folder / "heidi")
    settings = run.probed(run.settle(course, [AID], "public", "cpu", "local"))
    todo = [jobs.prepare(e, course, [AID]) for e in jobs.discover(folder)]
    pool = LocalPool(1)
    try:
        pool.start(len(todo))
        victim = pool.pool[0].process.pid

        def kill_once_busy() -> None:
            while pool.pool and pool.pool[0].job is None:
                time.sleep(0.01)
            time.sleep(0.3)
            os.kill(victim, signal.SIGKILL)
        killer = threading.Thread(target=kill_once_busy, daemon=True)
        killer.start()
        outcomes = list(pool.run(todo, settings))
        killer.join(timeout=60)
    finally:
        pool.close()
        forkserver._forkserver._stop()  # the server multiprocessing keeps for this process (TMPDIR is ours)
    assert [o.student for o in outcomes] == ["amy", "heidi"]
    assert outcomes[0].error == "the grading worker process died (killed by signal 9) while grading it"
    assert outcomes[1].graded and not outcomes[1].worker.endswith(f":{victim}")
    assert leftovers(None, str(short_tmp)) == []


def test_workers_are_spawned_where_the_forkservers_socket_would_not_fit(monkeypatch):
    assert LocalPool(2).ctx.get_start_method() == "forkserver"
    monkeypatch.setattr(tempfile, "tempdir", "/tmp/" + "a-very-long-folder-name/" * 4)
    assert LocalPool(2).ctx.get_start_method() == "spawn"
