"""A login user (home, supplementary groups) grades at full isolation, whatever else that user runs.

The user is made as a real one is (``useradd -m -G users,<course group>``) and the grader runs as
that user through ``runuser``, which gives it the user's supplementary groups as a login does.
Also here: the cause of a lost honest task (the process limit a user namespace is made under
caps every process and thread of the user), the probe's reasons, and a machine without namespaces.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from grader.sandbox import doctor, levels, limits
from grader.sandbox.inside import isolation
from tests.grader.sandbox.test_adversarial import ATTACKS, ATTACKS_DIR, callers, splice
from tests.helpers import COURSE, grade_folder, ordinary_command

AID = "a02_mlp_backprop"
CAN_MAKE_USERS = sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("useradd")) \
    and bool(shutil.which("runuser"))
RUNUSER = shutil.which("runuser") or "runuser"
THREADS_HELD = 400  # far above the margin a sandbox was once given over the user's process count (256)


class LoginUser:
    """A user made as ``useradd -m -G users,<course group>`` makes one, and a way to run a Python as that user."""

    def __init__(self) -> None:
        tag = f"{os.getpid()}"
        self.name, self.group = f"dgstudent{tag}", f"dgcourse{tag}"
        subprocess.run(["groupadd", self.group], check=True, timeout=60)
        subprocess.run(["useradd", "-m", "-G", f"users,{self.group}", self.name], check=True, timeout=60)
        self.uid = int(subprocess.run(["id", "-u", self.name], capture_output=True, text=True, check=True,
                                      timeout=60).stdout)
        self.groups = subprocess.run(["id", "-G", self.name], capture_output=True, text=True, check=True,
                                     timeout=60).stdout.split()
        self.home = Path(f"/home/{self.name}")
        self.python = self._python()

    def _python(self) -> str | None:
        """A Python of this version the user may run, with this checkout and torch importable."""
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        for python in dict.fromkeys([sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]):
            if os.path.exists(python) and self.run(python, "import torch, grader.cli").returncode == 0:
                return python
        return None

    def run(self, python: str, code: str, *args: str, timeout: float = 120, cwd: str = "/") \
            -> subprocess.CompletedProcess:
        return subprocess.run(self.command(python, code, *args), capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, env=self.env())

    def command(self, python: str, code: str, *args: str) -> list[str]:
        return [RUNUSER, "-u", self.name, "--", *ordinary_command(python, code), *args]

    def grader(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        assert self.python is not None
        return self.run(self.python, "from grader.cli import main; sys.exit(main(sys.argv[1:]))", *args,
                        timeout=timeout)

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "TMPDIR": str(self.home)}

    def remove(self) -> None:
        subprocess.run(["userdel", "-r", "-f", self.name], capture_output=True, timeout=60)
        subprocess.run(["groupdel", self.group], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def login_user():
    if not CAN_MAKE_USERS:
        pytest.skip("needs Linux, root, useradd and runuser (to make a login user)")
    user = LoginUser()
    try:
        if user.python is None:
            pytest.skip("no Python here that the login user may run with this checkout and torch")
        yield user
    finally:
        user.remove()


def user_threads(uid: int) -> tuple[int, int]:
    """(processes, threads) of ``uid`` now."""
    procs = threads = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    procs += 1
                    threads += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return procs, threads


class ThreadHolder:
    """A process of the user holding many threads (as a torch thread pool, or a neighbour's sandbox, would)."""

    CODE = ("import threading, sys; hold = threading.Event(); "
            "[threading.Thread(target=hold.wait, daemon=True).start() for _ in range(int(sys.argv[1]))]; "
            "print('holding', flush=True); sys.stdin.read()")

    def __init__(self, user: LoginUser, threads: int):
        assert user.python is not None
        self.proc = subprocess.Popen(user.command(user.python, self.CODE, str(threads)), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd="/", env=user.env())
        assert self.proc.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        assert ready == ["holding\n"], ready

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # it reads its stdin to the end, then exits
        self.proc.wait(timeout=60)


# The cause: the limit a user namespace is made under caps every process and thread of the user.

CAUSE = """
import ctypes, os, resource, sys, threading
hold = threading.Event()
for _ in range(int(sys.argv[2])):
    threading.Thread(target=hold.wait, daemon=True).start()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    if sys.argv[1] == "lowered":  # the old sandbox: the user's processes (not threads) plus 4 x 64
        procs = 0
        for e in os.listdir("/proc"):
            try:
                procs += e.isdigit() and os.stat("/proc/" + e).st_uid == os.getuid()
            except OSError:
                pass
        resource.setrlimit(resource.RLIMIT_NPROC, (procs + 256, resource.getrlimit(resource.RLIMIT_NPROC)[1]))
    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.unshare(0x10000000) == 0, os.strerror(ctypes.get_errno())
    for name, text in (("setgroups", "deny"), ("uid_map", f"1000 {uid} 1"), ("gid_map", f"1000 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))  # the session's own limit, counted in its namespace
    try:
        for _ in range(8):
            threading.Thread(target=hold.wait, daemon=True).start()
        os.write(w, b"started")
    except RuntimeError:
        os.write(w, b"refused")
    os._exit(0)
os.close(w)
print(os.read(r, 16).decode())
os.waitpid(pid, 0)
"""


def test_the_limit_a_user_namespace_is_made_under_caps_every_thread_of_the_user(login_user):
    """Why an honest task was lost: a sandbox made its user namespace under a process limit of the user's
    process count plus a margin, which the kernel then applies to all of the user's threads together."""
    python = login_user.python
    lowered = login_user.run(python, CAUSE, "lowered", str(THREADS_HELD))
    kept = login_user.run(python, CAUSE, "kept", str(THREADS_HELD))
    few = login_user.run(python, CAUSE, "lowered", "8")
    assert lowered.stdout.strip() == "refused", lowered.stderr  # 8 threads in a fresh namespace, and none start
    assert kept.stdout.strip() == "started", kept.stderr        # the user's own limit: they do
    assert few.stdout.strip() == "started", few.stderr          # the control: the lowered limit, few threads


def test_a_login_user_with_supplementary_groups_grades_at_full_isolation_beside_its_own_threads(login_user):
    assert {"100"} < set(login_user.groups) and len(login_user.groups) >= 3  # own group, users, the course's
    table = login_user.grader("sandbox", timeout=300)
    assert table.returncode == 0, table.stderr
    rows = {line.split("  ")[0].strip(): line for line in table.stdout.splitlines()[1:-1] if not line.startswith(" ")}
    assert set(rows) == {*isolation.LAYERS["full"], "session process limit", "warm children"}, table.stdout
    assert all("  yes  " in row for row in rows.values()), table.stdout  # warm children too
    assert "grading here gets full isolation via user-namespace" in table.stdout

    holder = ThreadHolder(login_user, THREADS_HELD)
    try:
        assert user_threads(login_user.uid)[1] > THREADS_HELD
        with tempfile.TemporaryDirectory(prefix="login-user-") as tmp:
            root = Path(tmp)
            os.chmod(root, 0o777)
            folder = root / AID
            from tests.helpers import solutions_copy
            solutions_copy(root / "course", AID)
            shutil.copytree(root / "course" / AID, folder)
            for d, _, _ in os.walk(root):
                os.chmod(d, 0o777)
            r = login_user.grader("grade", str(folder), "--format", "json", "-q", "--require-isolation", "full")
    finally:
        holder.stop()
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["sandbox"]["level"] == "full" and data["sandbox"]["via"] == "user-namespace"
    lost = {t["id"]: [c.get("message") for c in t["checks"] if not c.get("passed")]
            for t in data["assignments"][0]["tasks"] if t["score"] < t["max_score"]}
    assert data["score"] == data["max_score"] > 0, lost


# What the probe says, and a machine without namespaces.

def refused_user_namespaces(iso: levels.Isolation, device: str) -> dict[str, str]:
    return {layer: "setting the layers up failed: [Errno 1] unshare a user namespace: Operation not permitted"
            for layer in iso.layers}


def test_a_refusal_quotes_the_failing_layers_reason_and_the_table_says_how_to_enable_it(monkeypatch):
    monkeypatch.setattr(levels, "_probe_report", refused_user_namespaces)
    monkeypatch.setattr(levels, "_said", [True])  # said already: this test is about the refusal
    levels.detect.cache_clear()
    try:
        with pytest.raises(levels.IsolationRefused) as refused:
            levels.choose("cpu", require="full")
        said = str(refused.value)
        assert "network: setting the layers up failed: [Errno 1] unshare a user namespace: Operation not " \
               "permitted" in said and "filesystem: setting" in said and "grader sandbox" in said, said
        rows = {row.layer: row for row in doctor.rows("cpu")}
        for layer in isolation.LAYERS["full"]:
            assert not rows[layer].held and "unshare a user namespace" in rows[layer].reason
            assert rows[layer].enable == doctor.USERNS_HELP
        assert not rows["session process limit"].held
    finally:
        levels.detect.cache_clear()


def test_without_namespaces_the_grader_says_so_once_and_grades_at_the_process_level(monkeypatch, capsys, solutions):
    monkeypatch.setattr(levels, "platform_gap", lambda: "this platform (darwin) has no Linux namespaces")
    monkeypatch.setattr(levels, "_said", [])
    levels.detect.cache_clear()
    try:
        assert levels.detect("cpu") == levels.Isolation("process", ())
        assert levels.detect("cpu", "user-namespace") == levels.Isolation("process", ())
        said = capsys.readouterr().err.splitlines()
        assert said == ["grader: grading at the process level only: network: this platform (darwin) has no Linux "
                        "namespaces; pid: this platform (darwin) has no Linux namespaces; uid: this platform "
                        "(darwin) has no Linux namespaces; filesystem: this platform (darwin) has no Linux "
                        "namespaces. A submission here runs as you, with your files and network; `grader sandbox` "
                        "shows each layer and how to enable it."]
        rows = {row.layer: row for row in doctor.rows("cpu")}
        assert rows["network"].enable.startswith("grade on Linux")
        result = grade_folder(solutions(AID))
        assert result.sandbox.level == "process" and result.score == result.max_score
        assert capsys.readouterr().err == ""  # once per process
    finally:
        levels.detect.cache_clear()


# Done when: a login user's batch with a fork bomb beside three honest submissions loses no honest point.

HONEST = ("alice", "bob", "carol")
JOBS = 2


def test_a_login_users_batch_with_a_fork_bomb_beside_three_honest_submissions_loses_no_honest_point(login_user):
    from tests.helpers import solutions_copy
    with tempfile.TemporaryDirectory(prefix="login-batch-") as tmp:
        root = Path(tmp)
        solutions = solutions_copy(root / "course", AID)
        subs = root / "submissions"
        for student in HONEST:
            shutil.copytree(solutions, subs / student / AID)
        shutil.copytree(solutions, subs / "mallory" / AID)
        splice(subs / "mallory" / AID, ATTACKS_DIR / "fork_bomb", {})
        for d, _, files in os.walk(root):
            os.chmod(d, 0o777)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        peak = [0]
        done = threading.Event()

        def watch() -> None:  # every process and thread of the user, the batch's own included
            while not done.is_set():
                peak[0] = max(peak[0], user_threads(login_user.uid)[1])
                time.sleep(0.02)
        sampler = threading.Thread(target=watch, daemon=True)
        sampler.start()
        try:
            r = login_user.grader("batch", str(subs), "--gradebook", str(root / "grades.sqlite"), "--jobs",
                                  str(JOBS), "--assignment", AID, "--require-isolation", "full", "-q")
        finally:
            done.set()
            sampler.join(10)
        assert r.returncode == 0, r.stderr + r.stdout
        with sqlite3.connect(root / "grades.sqlite") as db:
            subs_rows = {row[0]: row[1:] for row in db.execute(
                "SELECT student, status, score, max_score, sandbox FROM submissions")}
            bomb_task = ATTACKS["fork_bomb"].task
            grades = {(s, t): (score, top, status) for s, t, score, top, status in db.execute(
                "SELECT student, task, score, max_score, status FROM grades")}
    for student in HONEST:
        status, score, top, sandbox = subs_rows[student]
        assert status == "graded" and score == top > 0, (student, subs_rows[student])
        assert json.loads(sandbox)["level"] == "full" and json.loads(sandbox)["via"] == "user-namespace"
    assert grades[("mallory", bomb_task)][0] == 0 and grades[("mallory", bomb_task)][2] == "error"
    for (student, task), (score, top, status) in grades.items():
        if student == "mallory" and task not in callers({bomb_task}):
            assert score == top, (task, status)  # the bomb costs its own task and its callers only
    # No process starts in a session: the user's processes and threads never exceed what the batch
    # itself runs (coordinator, workers, their fork servers and children), far below one session's limit.
    assert peak[0] <= limits.NPROC, peak[0]


# The child's code, one copy per grading process: a login user's child owns it outside, so only the read-only
# mount keeps a session from changing what the next one runs.

SHARED_CODE = """
import json, sys
from pathlib import Path
from grader.judge.pipeline import grade
from grader.sandbox import bundle as bundles
from grader.sandbox.inside import isolation
from grader.sandbox.session import runner_for
from tests.grader.sandbox.test_adversarial import code_tree, with_limits
course, folder, out = with_limits({}, None), Path(sys.argv[1]), {}
shared = bundles.shared_code(isolation.LAYERS["full"])
before = code_tree(shared)
out["owner"] = shared.stat().st_uid
out["full"] = [grade(folder, course, ["a02_mlp_backprop"], runner=runner_for("cpu", "full", "full", "user-namespace"))
               .score for _ in range(2)]
out["full_kept"] = code_tree(shared) == before
bundles.shares_code, bundles._shared = (lambda layers: True), None  # the control: shared where it is not
exposed = bundles.shared_code(())
before = code_tree(exposed)
grade(folder, course, ["a02_mlp_backprop"], runner=runner_for("cpu", "process"))
out["process_kept"] = code_tree(exposed) == before
print(json.dumps(out))
"""


def test_a_login_users_session_cannot_change_the_code_its_next_session_runs(login_user):
    from tests.grader.sandbox.test_adversarial import TAMPER
    from tests.helpers import solutions_copy, splice_source
    with tempfile.TemporaryDirectory(prefix="login-tamper-") as tmp:
        root = Path(tmp)
        folder = solutions_copy(root / "course", AID)
        splice_source(folder / "layers.py", TAMPER)
        for d, _, files in os.walk(root):
            os.chmod(d, 0o777)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        r = login_user.run(login_user.python, SHARED_CODE, str(folder), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["owner"] == login_user.uid  # the child, that user outside, owns every file of it
    assert out["full"] == [30, 30] and out["full_kept"], out
    assert not out["process_kept"], out  # the same attack, where no read-only mount stands in its way
