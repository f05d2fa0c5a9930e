"""What a batch tells the instructor: a progress bar with its rate and time left in a terminal (silent elsewhere),
and a summary at the end."""
from __future__ import annotations

import sys
import time

from grader.reports.progress import batch_progress
from grader.batch.jobs import Outcome
from grader.batch.run import Summary


def test_the_summary_says_what_was_graded_what_failed_and_why_and_what_was_slow():
    summary = Summary(total=9, skipped=2, graded=[("alice", 3.0), ("bob", 12.5), ("carol", 1.0), ("dave", 7.25),
                                                   ("erin", 2.0), ("frank", 4.0)],
                      failed=[("heidi", "the grading worker process died (killed by signal 9) while grading it"),
                              ("gus", "gus.txt is not a folder, a .zip or a notebook (.ipynb)")],
                      done=7, seconds=84.0, peak_mb={"host:1": 301.4, "host:2": 512.0},
                      times={"nbgrader_collect": 5, "file_time": 1})
    assert summary.describe() == (
        "graded 6 of 9 submissions in 1m 24s (5.0 per minute); 2 already in the gradebook, 2 failed to grade\n"
        "failed to grade (recorded with the reason; the next batch tries them again):\n"
        "  gus: gus.txt is not a folder, a .zip or a notebook (.ipynb)\n"
        "  heidi: the grading worker process died (killed by signal 9) while grading it\n"
        "slowest: bob 12.5 s, dave 7.2 s, frank 4.0 s, alice 3.0 s, erin 2.0 s\n"
        "peak memory of a worker process: 512 MiB (2 workers)\n"
        "submission times from: file_time (1 assignment), nbgrader_collect (5 assignments)\n")


def test_the_progress_bar_shows_the_rate_and_time_left_in_a_terminal_only(monkeypatch, capsys):
    with batch_progress(False, 3) as advance:
        assert advance is None  # stderr is not a terminal here
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with batch_progress(True, 3) as advance:
        assert advance is None  # -q
    busy = [("dan", time.monotonic() - 42.0)]  # what the executor says is being graded now
    with batch_progress(False, 3, lambda: busy) as advance:
        for student in ("alice", "bob"):
            advance(Outcome(student, result={}))
        advance(Outcome("carol", error="carol.zip is not a readable .zip archive"))
    shown = capsys.readouterr()
    assert shown.out == ""
    assert "3/3" in shown.err and "/min" in shown.err and "ETA" in shown.err and "last: carol failed" in shown.err
    assert "grading dan 42 s" in shown.err  # what is in flight and for how long, not only the last one done
    assert "-/min" in shown.err  # three outcomes within a second: no rate from so short a time


def test_a_local_pool_says_what_it_is_grading_and_since_when():
    from grader.batch.executors import LocalPool, _Worker
    from grader.batch.jobs import Job
    pool = LocalPool(2)
    pool.pool = [_Worker(None, None, Job("ann", "ann", "folder", "0" * 64), 10.0), _Worker(None, None)]
    assert pool.in_flight() == [("ann", 10.0)]
