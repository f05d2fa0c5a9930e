"""grader watch: graded at once, graded again after every change, stopped by Ctrl-C with nothing left running."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.judge.cases import GradingError
from grader.watch import watch
from tests.grader.sandbox.test_sandbox import _descendants, _running
from tests.helpers import COURSE

AID = "a02_mlp_backprop"
TASKS = {"a02.sigmoid_forward", "a02.sigmoid_backward"}
BUG = ("out = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
       "out = torch.where(x >= 0, 2.0 / (1.0 + z), z / (1.0 + z))")


def test_a_change_is_graded_again_with_its_diagnosis(solutions, tmp_path):
    folder = tmp_path / "my_work"  # a folder named otherwise: --assignment names it
    shutil.copytree(solutions(AID), folder)
    printed: list[str] = []

    def out(text: str) -> None:
        printed.append(text)
        if len(printed) == 1:  # the first grading is done: the student saves a bug
            layers = folder / "layers.py"
            source = layers.read_text()
            assert BUG[0] in source
            layers.write_text(source.replace(BUG[0], BUG[1]))

    assert watch(folder, COURSE, AID, TASKS, interval=0.05, runs=2, out=out) == 0
    first, waiting, second = printed
    assert "ok   a02.sigmoid_forward  1/1" in first and "public suite: 2/2 points" in first
    assert waiting == "watching my_work/ for changes (Ctrl-C to stop)"
    assert "FAIL a02.sigmoid_forward  0/1  failed" in second
    assert "values wrong" in second and "public suite: 0/2 points" in second


def test_a_folder_that_is_not_an_assignment_is_refused(tmp_path):
    with pytest.raises(GradingError, match="no such folder"):
        watch(tmp_path / "missing", COURSE, runs=1)
    (tmp_path / "homework").mkdir()
    with pytest.raises(GradingError, match="homework is not an assignment of the course: name it with --assignment"):
        watch(tmp_path / "homework", COURSE, runs=1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to look for processes left behind")
def test_ctrl_c_stops_it_and_leaves_nothing_running(solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    proc = subprocess.Popen([sys.executable, "-m", "grader", "watch", str(folder), "--task", "a02.relu_forward"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("watching"):
                break
        assert any("ok   a02.relu_forward  1/1" in line for line in lines), lines
        kids = _descendants(proc.pid)
        assert kids  # its fork server, at least
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=60) == 0
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # grader watch dumps every thread's stack
            time.sleep(2)
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("grader watch did not stop on Ctrl-C:\n" + proc.communicate(timeout=60)[0][-6000:])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    for _ in range(50):
        left = [k for k in kids if _running(k)]
        if not left:
            break
        time.sleep(0.1)
    assert left == []


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT's default action, as a shell gives it: a test worker may ignore SIGINT, and a process
    started with SIGINT ignored keeps ignoring it (Python then never raises KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
