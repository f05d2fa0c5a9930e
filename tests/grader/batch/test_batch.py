"""A class of 20 a02 submissions, a dozen of them attacks from tests/adversarial/, graded by ``grader batch --jobs 2``:
every attack gains nothing and costs no other task or student, the honest ones get their marks, the summary and the
CSV say so, and no process outlives the batch."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import sqlite3
import zipfile

import nbformat

from grader import cli, paths
from grader.authoring.notebooks import build
from grader.sandbox.levels import detect
from tests.grader.batch.common import leftovers, run_batch
from tests.grader.sandbox.test_adversarial import ATTACKS, ATTACKS_DIR, Listener, callers, splice
from tests.helpers import COURSE, grade_folder

AID = "a02_mlp_backprop"
# one attack per student; those that need a layer this machine lacks are left out, as in the adversarial suite
CHOSEN = ["fork_bomb", "kill_parent", "network", "write_results", "os_exit_mid_task", "threads_daemons",
          "import_sys_exit", "infinite_loop", "monkeypatch_compare", "read_reference", "sys_exit_mid_task",
          "atexit_mid_task"]
LIMITS = {"a02.sigmoid_backward": 2, "a02.tanh_forward": 10}  # the looping task, and the fork bomb's
MLP_TASKS = {"a02.mlp_forward", "a02.mlp_backward", "a02.sgd_step"}


def course_with_short_limits(dest):
    """course.yaml with the attacked tasks' time limits cut, so a loop costs seconds rather than a minute."""
    text = paths.COURSE.read_text()
    for task, seconds in LIMITS.items():
        start = f"{{id: {task}, "
        assert text.count(start) == 1, start
        text = text.replace(start, f"{start}limits: {{time_s: {seconds}}}, ")
    dest.write_text(text)
    return dest


def test_a_class_with_attacks_is_graded_and_no_attack_gains_anything(solutions, skeletons, tmp_path, short_tmp,
                                                                      capsys):
    layers = set(detect("cpu").layers)
    attacks = [n for n in CHOSEN if set(ATTACKS[n].needs) <= layers]
    folder = tmp_path / "class"
    honest = {"ann": "solutions", "ben": "solutions", "cat": "solutions", "dan": "solutions",
              "eve": "skeleton", "fay": "skeleton", "gus": "buggy", "hal": "buggy"}
    shutil.copytree(solutions(AID), folder / "ann" / AID)
    shutil.copytree(solutions(AID), folder / "ben")
    with zipfile.ZipFile(folder / "cat.zip", "w") as z:
        for p in sorted(solutions(AID).rglob("*.py")):
            z.write(p, f"{AID}/{p.relative_to(solutions(AID)).as_posix()}")
    nbformat.write(build(COURSE, AID, paths.REFERENCE / AID), str(folder / "dan.ipynb"))
    shutil.copytree(skeletons(AID), folder / "eve" / AID)
    shutil.copytree(skeletons(AID), folder / "fay")
    buggy = paths.ROOT / "examples" / "buggy_submission" / AID
    shutil.copytree(buggy, folder / "gus" / AID)
    shutil.copytree(buggy, folder / "hal")
    listener = Listener()
    results_path = tmp_path / "out" / "results.json"
    for i, name in enumerate(attacks):
        shutil.copytree(solutions(AID), folder / f"attack{i:02d}_{name}" / AID)
        splice(folder / f"attack{i:02d}_{name}" / AID, ATTACKS_DIR / name,
               {"PORT": str(listener.port), "RESULTS_PATH": str(results_path)})
    for i in range(len(attacks), 12):  # where a layer is missing, honest students fill the class up to 20
        shutil.copytree(solutions(AID), folder / f"honest{i:02d}" / AID)
        honest[f"honest{i:02d}"] = "solutions"
    on_time = dt.datetime(2027, 1, 4, 12, tzinfo=dt.timezone.utc).timestamp()  # before a02's deadline
    for entry in folder.iterdir():  # collected on time, whatever today's date: no late penalty plays a part
        os.utime(entry, (on_time, on_time))
    tmp = short_tmp
    gradebook = tmp_path / "grades.sqlite"
    try:
        r = run_batch(folder, gradebook, tmp, "--jobs", "2", "--assignment", AID,
                      course=course_with_short_limits(tmp_path / "course.yaml"))
    finally:
        listener.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("graded 20 of 20 submissions in ") and ", 0 failed to grade" in r.stdout
    assert "slowest: " in r.stdout and r.stderr == ""  # no progress bar where stderr is not a terminal
    assert leftovers(None, str(tmp)) == []  # no fork, daemon or bomb outlived the batch, nor any worker
    assert listener.accepted == 0 and not results_path.exists()

    assert cli.main(["export", str(gradebook)]) == 0
    exported = capsys.readouterr()
    assert exported.err == ""
    scores = {row["student"]: row for row in csv.DictReader(io.StringIO(exported.out))}
    assert len(scores) == 20
    tasks = tasks_by_student(gradebook)
    buggy_tasks = {t.id: (str(t.status), t.score) for t in grade_folder(buggy, sandboxed=False).tasks()}
    for student, kind in honest.items():
        if kind == "solutions":
            assert scores[student]["final score"] == "30", student
        elif kind == "skeleton":
            assert set(tasks[student].values()) == {("not_implemented", 0.0)}, student
        else:
            assert tasks[student] == buggy_tasks, student
    for i, name in enumerate(attacks):
        student = f"attack{i:02d}_{name}"
        attacked = MLP_TASKS if name.startswith("import_") else {ATTACKS[name].task}
        for task in attacked:
            status, score = tasks[student][task]
            assert score == 0 and status != "passed", (name, task, status)
        for task in set(tasks[student]) - callers(attacked):
            assert tasks[student][task][0] == "passed", (name, task, tasks[student][task])
    if "fork_bomb" in attacks:
        # It never returns, so a limit stops it: the process limit (an error) or, where forking to that limit
        # takes longer than the task's clock (a loaded machine), the time limit. Which one trips first is
        # the machine's speed, not the sandbox's merit; what counts is checked above: it scores nothing,
        # its other tasks and every other student keep their marks, and none of its processes is left.
        status = tasks[f"attack{attacks.index('fork_bomb'):02d}_fork_bomb"]["a02.tanh_forward"][0]
        assert status in {"error", "timeout"}, status


def tasks_by_student(gradebook) -> dict[str, dict[str, tuple[str, float]]]:
    db = sqlite3.connect(gradebook)
    try:
        out: dict[str, dict[str, tuple[str, float]]] = {}
        for student, task, status, score in db.execute("SELECT student, task, status, score FROM grades"):
            out.setdefault(student, {})[task] = (status, score)
        return out
    finally:
        db.close()
