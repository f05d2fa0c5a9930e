"""The adversarial suite: malicious a02 submissions (tests/adversarial/) gain nothing and cost no other task.

Attacks are grouped so that one grading tries several, each on a different task: the attacked
task must score zero, and every task that neither is attacked nor calls an attacked one must
come out exactly as for the honest solutions. Attacks that only a namespace layer stops
are skipped where the machine does not give that layer (CI runs as root, so it does).
The attacks run with the course's banned lists taken away: several use what the static
scan refuses in a task with banned operations (exec, sys._getframe, gc, ...), and each
layer behind the scan must hold on its own; a test at the end shows the scan's verdicts.
Where root's way and the user-namespace way both work (CI), the attacks are tried both ways.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import paths
from grader.tasks import suites
from grader.judge.pipeline import GradingError, grade
from grader.sandbox import bundle as bundles
from grader.sandbox.bundle import sandbox_uid
from grader.sandbox.levels import choose, detect
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, ordinary_command, ordinary_python, ordinary_user, splice_source

AID = "a02_mlp_backprop"
ATTACKS_DIR = Path(__file__).resolve().parents[2] / "adversarial"
LAYERS = set(detect("cpu").layers)
# The best level this machine gives, the process level as a laptop without namespaces would have it,
# and, on a root machine, the full level made the way an ordinary user's laptop makes it.
LEVELS = [("auto", "auto")] + ([("process", "auto")] if detect("cpu").level != "process" else []) + \
    ([("full", "user-namespace")] if detect("cpu").via == "root" and
     detect("cpu", "user-namespace").level == "full" else [])


@dataclass(frozen=True)
class Attack:
    task: str                  # the task it attacks
    status: str | None = None  # the status that task must end with (None: any, as long as it scores 0)
    message: str = ""          # a fragment of its diagnosis
    needs: tuple[str, ...] = ()  # isolation layers without which the attack would succeed
    with_pid: str = ""         # a fragment of its diagnosis where the pid layer holds (no process may start)


ATTACKS = {
    # impostors: values that pretend to be right
    "monkeypatch_compare": Attack("a02.softmax_cross_entropy", "failed", "values wrong"),
    "tensor_subclass": Attack("a02.mse_loss", "failed", "torch.Tensor subclass"),
    "torch_function_object": Attack("a02.sigmoid_forward", "failed", "expected a torch.Tensor, got a"),
    "numpy_subclass": Attack("a02.tanh_forward", "failed", "expected a torch.Tensor"),
    "return_input": Attack("a02.sigmoid_backward", "failed", "values wrong"),
    "constant_output": Attack("a02.softplus_forward", "failed", "values wrong"),
    "nan_tricks": Attack("a02.tanh_backward", "failed", "NaN"),
    # snoopers: looking for the expected values or the inputs' seeds
    "search_memory": Attack("a02.mse_loss", "failed", "values wrong"),
    "read_reference": Attack("a02.affine_backward", "failed", "values wrong", needs=("filesystem",)),
    "read_expected_cache": Attack("a02.affine_forward", "failed", "values wrong", needs=("filesystem",)),
    "rng_predict": Attack("a02.relu_backward", "failed", "values wrong"),
    "fake_output": Attack("a02.leaky_relu_backward", "error", "malformed answer"),
    "forge_response": Attack("a02.sgd_step"),
    "symlink_reference": Attack("a02.softmax_cross_entropy", "failed", "values wrong"),
    # escapes: ending the process, outliving the task, reaching outside
    "sys_exit_mid_task": Attack("a02.softmax_cross_entropy", "error", "SystemExit"),
    "os_exit_mid_task": Attack("a02.mse_loss", "error", "exited during this task"),
    "atexit_mid_task": Attack("a02.sigmoid_forward", "error", "an exit handler"),
    "threads_daemons": Attack("a02.softplus_backward", "error", "the task left a thread",
                              with_pid="the task left a thread running"),
    "kill_parent": Attack("a02.leaky_relu_forward", needs=("pid", "uid")),
    "network": Attack("a02.mlp_backward", needs=("network",)),
    "write_results": Attack("a02.tanh_backward", "failed", needs=("filesystem",)),
    "shadow_library": Attack("a02.tanh_forward", "failed", "values wrong"),
    # limits: small per-task limits are set for this group below
    "infinite_loop": Attack("a02.sigmoid_backward", "timeout", "did not finish within its 2 s limit"),
    # a fork bomb is stopped by the process limit (error) or by the task's clock (timeout), whichever a
    # machine reaches first: either way it scores nothing. Where the pid layer holds, no process starts at all
    "fork_bomb": Attack("a02.tanh_forward", None, needs=("uid",),
                        with_pid="a task may start threads but no process"),
    "memory_bomb": Attack("a02.softmax_cross_entropy", "error", "MemoryError"),
    "disk_fill": Attack("a02.mse_loss", "failed", needs=("filesystem",)),
    # at import: every task of mlp.py is attacked
    "import_os_exit": Attack("a02.mlp_forward", "error", "mlp.py made the sandboxed process exit while it was imported"),
    "import_sys_exit": Attack("a02.mlp_forward", "error", "SystemExit"),
}
GROUPS = {
    "impostors": ["monkeypatch_compare", "tensor_subclass", "torch_function_object", "numpy_subclass",
                  "return_input", "constant_output", "nan_tricks"],
    "snoopers": ["search_memory", "read_reference", "read_expected_cache", "rng_predict", "fake_output",
                 "forge_response", "symlink_reference"],
    "escapes": ["sys_exit_mid_task", "os_exit_mid_task", "atexit_mid_task", "threads_daemons", "kill_parent",
                "network", "write_results", "shadow_library"],
    "limits": ["infinite_loop", "fork_bomb", "memory_bomb", "disk_fill"],
    "import_os_exit": ["import_os_exit"],
    "import_sys_exit": ["import_sys_exit"],
}
LIMITS = {"limits": {"a02.sigmoid_backward": 2.0, "a02.tanh_forward": 10.0, "a02.softmax_cross_entropy": 10.0,
                     "a02.mse_loss": 20.0,
                     "a02.mlp_backward": 3.0}}  # it calls the looping sigmoid_backward: no need to wait 60 s
MEMORY_MB = {"limits": 1536}  # the whole child's address space (torch alone takes ~650 MB of it)
LINKS = {"symlink_reference": {"reference_layers.py": paths.REFERENCE / AID / "layers.py",
                               "course.yaml": paths.COURSE, "fifo": None}}  # None: a named pipe
MLP_TASKS = {"a02.mlp_forward", "a02.mlp_backward", "a02.sgd_step"}


def test_every_vector_has_an_attack_folder_and_a_group():
    folders = {p.name for p in ATTACKS_DIR.iterdir() if p.is_dir()}
    assert folders == set(ATTACKS) and len(ATTACKS) >= 20
    assert sorted(n for g in GROUPS.values() for n in g) == sorted(ATTACKS)
    for group in GROUPS.values():  # within a grading, each attack has a task of its own
        tasks = [ATTACKS[n].task for n in group]
        assert len(tasks) == len(set(tasks)), group


def splice(folder: Path, attack: Path, subs: dict[str, str]) -> None:
    """Put an attack into a solutions copy: same-named functions replaced, other statements appended."""
    for src in sorted(attack.iterdir()):
        text = src.read_text()
        for key, value in subs.items():
            text = text.replace("{{" + key + "}}", value)
        target = folder / src.name
        if not target.exists():
            target.write_text(text)
            continue
        splice_source(target, text)


def callers(tasks: set[str]) -> set[str]:
    """The tasks and every task that calls one of them, directly or not."""
    suite, out = suites.load(AID), set(tasks)
    while True:
        more = {t.id for t in suite.tasks.values() if t.id not in out and out & set(t.calls)}
        if not more:
            return out
        out |= more


def with_limits(time_s: dict[str, float], memory_mb: int | None, banned: bool = False):
    """The course with some tasks' limits changed, and (unless ``banned``) no banned operations."""
    def task(t):
        limits = t.limits
        if t.id in time_s:
            limits = dataclasses.replace(limits, time_s=time_s[t.id])
        if memory_mb is not None:
            limits = dataclasses.replace(limits, memory_mb=memory_mb)
        return dataclasses.replace(t, limits=limits, banned=t.banned if banned else ())
    return dataclasses.replace(COURSE, assignments=tuple(
        dataclasses.replace(a, tasks=tuple(task(t) for t in a.tasks)) if a.id == AID else a
        for a in COURSE.assignments))


def fields(task) -> dict:
    """A task's result without its running time, which differs from one grading to the next."""
    data = dataclasses.asdict(task)
    data.pop("time_s")
    return data


@pytest.fixture(scope="module")
def honest(solutions):
    result = grade(solutions(AID), COURSE, [AID], runner=runner_for("cpu"))
    assert result.score == result.max_score
    return {t.id: fields(t) for t in result.assignments[0].tasks}


class Listener:
    """A TCP server on localhost that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join(timeout=30)  # it looks at ``running`` at least every 0.2 s
        assert not self.thread.is_alive(), "the listener's thread did not stop"
        self.sock.close()


def sandbox_processes() -> list[int]:
    """Processes still running under a uid this test process gave its sandboxes (either way in)."""
    low = sandbox_uid() // 64 * 64
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if low <= os.stat(f"/proc/{entry}").st_uid < low + 64:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.mark.parametrize("level, via", [pytest.param(*lv, id="-".join(lv)) for lv in LEVELS])
@pytest.mark.parametrize("group", list(GROUPS))
def test_attacks_gain_nothing_and_cost_no_other_task(group, level, via, solutions, honest, tmp_path):
    iso = choose("cpu", level, via=via)
    names = [n for n in GROUPS[group] if set(ATTACKS[n].needs) <= set(iso.layers)]
    if not names:
        pytest.skip(f"needs isolation layers that {iso.describe()} lacks")
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    listener = Listener()
    results_path = tmp_path / "out" / "results.json"
    try:
        for name in names:
            splice(folder, ATTACKS_DIR / name, {"PORT": str(listener.port), "RESULTS_PATH": str(results_path),
                                                "CACHE_DIR": str(paths.cache_dir())})
            for link, target in LINKS.get(name, {}).items():
                if target is None:
                    os.mkfifo(folder / link)  # a special file: copying it would stop the grading
                else:
                    (folder / link).symlink_to(target)
        course = with_limits(LIMITS.get(group, {}), MEMORY_MB.get(group))
        result = grade(folder, course, [AID], runner=runner_for("cpu", level, via=via))
    finally:
        listener.close()
    tasks = {t.id: t for t in result.assignments[0].tasks}
    attacked = {ATTACKS[n].task for n in names}
    if group.startswith("import_"):
        attacked = MLP_TASKS
    for name in names:
        a = ATTACKS[name]
        for tid in (MLP_TASKS if group.startswith("import_") else {a.task}):
            t = tasks[tid]
            said = " ".join(c.said for c in t.checks)
            assert t.score == 0, (name, tid, t.status, said)
            if a.status is not None:
                assert t.status == a.status, (name, tid, t.status, said)
            assert a.message in said, (name, said)
            if "pid" in iso.layers:
                assert a.with_pid in said and (a.with_pid == "" or t.status == "error"), (name, t.status, said)
    spared = set(tasks) - callers(attacked)
    assert spared, group
    for tid in spared:
        assert fields(tasks[tid]) == honest[tid], tid
    if "network" in names:
        assert listener.accepted == 0
    if "write_results" in names:
        assert not results_path.exists()
    if "fake_output" in names:
        assert "Score: 30/30" in tasks["a02.leaky_relu_backward"].feedback or \
            "malformed" in tasks["a02.leaky_relu_backward"].checks[0].message
    deadline = time.monotonic() + 60  # the kernel tears a PID namespace down asynchronously (slowly under load)
    while sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_processes() == []  # no fork, daemon or bomb outlived the grading
    assert result.sandbox.level == iso.level and result.sandbox.via == iso.via


@pytest.mark.skipif("filesystem" not in LAYERS, reason="needs the file-system layer")
def test_a_fake_results_file_is_never_what_the_grader_reports(solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    out = tmp_path / "out" / "results.json"
    splice(folder, ATTACKS_DIR / "write_results", {"RESULTS_PATH": str(out)})
    level = detect("cpu").level
    r = subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--format", "json", "-q",
                        "--output", str(out), "--require-isolation", level],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    tasks = {t["id"]: t for t in data["assignments"][0]["tasks"]}
    assert tasks["a02.tanh_backward"]["score"] == 0 and tasks["a02.sigmoid_backward"]["score"] == 1
    assert data["sandbox"]["level"] == level and data["score"] < data["max_score"]
    assert not (folder / "results.json").exists()


def test_an_assignment_folder_that_is_a_symlink_is_not_graded(tmp_path):
    course_folder = tmp_path / "submission"
    course_folder.mkdir()
    (course_folder / AID).symlink_to(paths.REFERENCE / AID)  # "my solution is the reference"
    for where in (course_folder, course_folder / AID):
        with pytest.raises(GradingError, match="symbolic link, never followed"):
            grade(where, COURSE, [AID], runner=runner_for("cpu"))


# What the static scan refuses, where a task has banned operations, before any of it runs.
ESCAPES_USED = {"read_reference": "compile", "search_memory": "sys.modules", "forge_response": "sys.modules"}


def test_the_scan_refuses_the_attacks_that_use_an_escape(solutions, honest, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    names = list(ESCAPES_USED)  # a task each
    for name in names:
        splice(folder, ATTACKS_DIR / name, {})
    result = grade(folder, COURSE, [AID], runner=runner_for("cpu"))
    tasks = {t.id: t for t in result.assignments[0].tasks}
    for name in names:
        t = tasks[ATTACKS[name].task]
        said = " ".join(c.said for c in t.checks)
        assert t.status == "banned" and t.score == 0, (name, t.status, said)
        assert f"{ESCAPES_USED[name]} is not allowed in a task with banned operations" in said, said
        assert ".py line " in said
    for tid in set(tasks) - callers({ATTACKS[n].task for n in names}):
        assert fields(tasks[tid]) == honest[tid], tid


# An ordinary user's grader: the layers made through a user namespace, with nothing of root's.

AS_USER = ["kill_parent", "read_expected_cache"]  # the cache is the ordinary user's own: only the child's view hides it


def test_an_ordinary_user_grades_at_full_isolation_and_the_attacks_gain_nothing(solutions, honest):
    """With warm children. kill_parent's kill(0) once reached the process a child's PID namespace leaves
    waiting outside (same uid, same process group); its end took the child down a task or two later,
    and an honest task lost its points. Without the worker's own process group this fails every run."""
    uid, become = ordinary_user()
    python = ordinary_python(become, "import torch, grader.cli") if become is not None and \
        sys.platform.startswith("linux") else None
    if python is None:
        pytest.skip("needs root (to become an ordinary uid) and a Python, checkout and torch that uid may read")
    import tempfile
    command = ordinary_command(python, "from grader.cli import main; sys.exit(main(sys.argv[1:]))")
    listener = Listener()
    with tempfile.TemporaryDirectory(prefix="as-user-") as tmp:  # pytest's folders admit root alone
        root = Path(tmp)
        os.chmod(root, 0o777)
        folder = root / AID
        shutil.copytree(solutions(AID), folder)
        out = root / "out"
        out.mkdir()
        os.chmod(out, 0o777)  # where the ordinary user's grader writes its report
        fake = root / "results" / "results.json"
        try:
            for name in AS_USER:
                splice(folder, ATTACKS_DIR / name, {"PORT": str(listener.port), "RESULTS_PATH": str(fake),
                                                    "CACHE_DIR": str(root / ".cache" / "deepgrade")})
            r = subprocess.run([*command, "grade", str(folder), "--format", "json", "-q", "--output",
                                str(out / "result.json"), "--require-isolation", "full"],
                               preexec_fn=become, capture_output=True, text=True, timeout=600,
                               env={"PATH": "/usr/bin:/bin", "HOME": str(root), "TMPDIR": str(root)})
        finally:
            listener.close()
        assert r.returncode == 0, r.stderr
        data = json.loads((out / "result.json").read_text())
        assert not fake.exists()
    assert data["sandbox"]["level"] == "full" and data["sandbox"]["via"] == "user-namespace"
    tasks = {t["id"]: t for t in data["assignments"][0]["tasks"]}
    for name in AS_USER:
        assert tasks[ATTACKS[name].task]["score"] == 0, (name, tasks[ATTACKS[name].task])
    for tid in set(tasks) - callers({ATTACKS[n].task for n in AS_USER}):
        assert tasks[tid]["score"] == honest[tid]["score"] == honest[tid]["max_score"], \
            (tid, tasks[tid]["status"], [c.get("message") for c in tasks[tid]["checks"]], tasks[tid].get("notes"))
    assert listener.accepted == 0

    def left() -> list[str]:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(entry)
            except OSError:
                pass
        return found
    for _ in range(50):  # the kernel tears a PID namespace down asynchronously
        if not left():
            break
        time.sleep(0.1)
    assert left() == []  # the ordinary user's grader and every sandboxed process are gone


# The child's code, one copy for all of a grading process's sessions where a private file system shows it
# read-only (grader/sandbox/bundle.py): a session must not be able to change what the next one runs.

TAMPER = '''
import os as _os
import sys as _sys


def _tamper():
    """Open up and change every folder and file of the grader's code this process runs: chmod, append, plant."""
    changed = []
    for top in _sys.modules["grader"].__path__:
        for where, _, files in _os.walk(top):
            for path in [where, *(_os.path.join(where, name) for name in files)]:
                try:
                    _os.chmod(path, 0o777)
                except OSError:
                    pass
            for name in files:
                try:
                    with open(_os.path.join(where, name), "a") as f:
                        f.write("\\nPLANTED = True\\n")
                    changed.append(name)
                except OSError:
                    pass
            try:
                with open(_os.path.join(where, "planted.py"), "w") as f:
                    f.write("PLANTED = True\\n")
                changed.append(where)
            except OSError:
                pass
    return changed


_tamper()
'''
FULL_WAYS = [via for via in ("root", "user-namespace") if detect("cpu", via).level == "full"]


def code_tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every folder's and file's mode, and every file's content, under ``folder``."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in [folder, *sorted(folder.rglob("*"))]}


def tampering(solutions, tmp_path) -> Path:
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    splice_source(folder / "layers.py", TAMPER)
    return folder


@pytest.mark.skipif(not FULL_WAYS, reason="needs the file-system layer")
@pytest.mark.parametrize("via", FULL_WAYS)
def test_a_session_cannot_change_the_code_the_next_session_runs(via, solutions, tmp_path):
    folder = tampering(solutions, tmp_path)
    iso = choose("cpu", "full", via=via)
    code = bundles.shared_code(iso.layers)
    before = code_tree(code)
    course = with_limits({}, None)  # no banned lists: the file system's layer holds alone
    for _ in range(2):  # two sessions of one process: the second runs what the first would have changed
        result = grade(folder, course, [AID], runner=runner_for("cpu", "full", via=via))
        assert result.score == result.max_score, [(t.id, t.status) for t in result.assignments[0].tasks]
    assert code_tree(code) == before


def test_where_the_child_could_write_it_the_same_attack_changes_it(solutions, tmp_path, monkeypatch):
    """The control: shared at the process level (never done: each session gets a copy of its own there), the
    child, the grader's own user, changes the code the next session would run."""
    folder = tampering(solutions, tmp_path)
    monkeypatch.setattr(bundles, "_shared", None)
    monkeypatch.setattr(bundles, "shares_code", lambda layers: True)
    code = bundles.shared_code(())
    try:
        before = code_tree(code)
        grade(folder, with_limits({}, None), [AID], runner=runner_for("cpu", "process"))
        after = code_tree(code)
        assert "grader/planted.py" in after and after["grader/tasks/model.py"][1].endswith(b"PLANTED = True\n")
        assert "grader/planted.py" not in before and after["grader/tasks/model.py"][0] & 0o777 == 0o777
    finally:
        bundles._remove(code.parent, os.getpid())
