"""A session's bundle: the suite's bytecode compiled once per grading process and laid beside its copy; the
child's code one read-only copy per grading process where a private file system shows it read-only, a
copy of the session's own elsewhere."""
from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from grader import paths
from grader.sandbox import bundle
from grader.sandbox.inside import isolation

AID = "a04_cnn"  # its suite defines functions of its own (the LeNet runs), not only task declarations


def load_in_child(pkg_root, module: str, suites: str = "") -> dict:
    """Import ``module`` as a child does (``python -I -S``, the bundle's packages first, the suites' package
    pointed at ``suites`` where given): where it came from."""
    code = ("import sys, json, importlib; sys.path[:0] = sys.argv[1:]\n"
            + (f"import grader.tasks.suites as s; s.__path__ = [{suites!r}]\n" if suites else "") +
            f"m = importlib.import_module({module!r})\n"
            "fn = next(v for v in vars(m).values() if callable(v) and getattr(v, '__module__', '') == m.__name__)\n"
            "print(json.dumps({'cached': m.__spec__.cached, 'file': fn.__code__.co_filename, "
            "'marker': getattr(m, 'MARKER', None)}))")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(pkg_root), *bundle.site_dirs()],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_suite_comes_with_its_bytecode_which_the_child_loads_without_compiling(tmp_path, solutions):
    made = bundle.make(tmp_path, AID, solutions(AID))
    copy = made / "suite" / f"{AID}.py"
    pyc = importlib.util.cache_from_source(str(copy), optimization="")
    source = (paths.ROOT / "grader" / "tasks" / "suites" / f"{AID}.py").read_bytes()
    data = open(pyc, "rb").read()
    assert data[4:8] == (1).to_bytes(4, "little") and data[8:16] == importlib.util.source_hash(source)  # unchecked
    assert bundle.suite_bytecode(source) is bundle.suite_bytecode(source)  # compiled once per process
    seen = load_in_child(made / "_grader", f"grader.tasks.suites.{AID}", str(made / "suite"))
    assert seen["cached"] == pyc and seen["file"] == str(copy)  # its code named as the copy, as if compiled there


def test_python_takes_such_bytecode_without_looking_at_the_source(tmp_path):
    """What makes it a saving: an unchecked .pyc is loaded as it is (here one compiled from other source)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "m.py").write_text("MARKER = 'source'\n\ndef f():\n    return 1\n")
    cached = importlib.util.cache_from_source(str(pkg / "m.py"), optimization="")
    (pkg / "__pycache__").mkdir(exist_ok=True)
    with open(cached, "wb") as out:
        out.write(bundle.suite_bytecode(b"MARKER = 'bytecode'\n\ndef f():\n    return 1\n"))
    assert load_in_child(tmp_path, "pkg.m")["marker"] == "bytecode"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_code_is_shared_only_where_a_private_file_system_shows_it_read_only(monkeypatch):
    for level, layers in isolation.LAYERS.items():
        assert (bundle.shared_code(layers) is not None) == (level == "full"), level
    monkeypatch.setattr(bundle, "_shared", None)  # a copy of this test's own, removed when it ends
    code = bundle.shared_code(isolation.LAYERS["full"])
    try:
        assert code.name == "_grader" and bundle.shared_code(isolation.LAYERS["full"]) == code
        fresh = Path(tempfile.mkdtemp()) / "grader"
        bundle.copy_child_code(fresh)
        assert tree(code / "grader") == tree(fresh) and "tasks/catalogue.py" not in tree(fresh)
        for where in [code, *code.rglob("*")]:
            assert stat.S_IMODE(where.stat().st_mode) == (0o555 if where.is_dir() else 0o444), where
        bundle._remove(code.parent, os.getpid())  # gone (a temporary-file cleaner): made again on next use
        again = bundle.shared_code(isolation.LAYERS["full"])
        assert again != code and tree(again / "grader") == tree(fresh)
    finally:
        bundle._remove(bundle._shared[1].parent, os.getpid())
        shutil.rmtree(fresh.parent)


def test_a_bundle_given_the_shared_code_holds_no_copy_of_it(tmp_path, solutions):
    code = bundle.shared_code(isolation.LAYERS["full"])
    (tmp_path / "shared").mkdir()
    made = bundle.make(tmp_path / "shared", AID, solutions(AID), code)
    assert list((made / "_grader").iterdir()) == []  # the mount point the child's code is bound on
    assert sorted(p.name for p in (made / "suite").iterdir()) == ["__pycache__", f"{AID}.py"]
    plan = bundle.layout(tmp_path / "shared", made, isolation.LAYERS["full"], "root", "cpu", [], code)
    assert plan["code"] == str(code) and isolation.code_inside(plan) == isolation.CODE
    (tmp_path / "own").mkdir()
    own = bundle.make(tmp_path / "own", AID, solutions(AID))
    assert (own / "_grader" / "grader" / "tasks" / "model.py").is_file()
    assert bundle.layout(tmp_path / "own", own, (), None, "cpu", [])["code"] == str(own / "_grader")
    assert tree(own / "suite") == tree(made / "suite")


HOLD = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from grader.sandbox import bundle
folder = Path(sys.argv[2])
folder.mkdir()
bundle.hold(folder)
print("held", flush=True)
if sys.argv[3] == "killed":
    os._exit(0)  # as a SIGKILL would: no exit handler, the lock goes with the process
time.sleep(600)
"""


def test_the_next_grading_removes_what_a_killed_one_left_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed, alive = tmp_path / "deepgrade-session-killed", tmp_path / "deepgrade-code-alive"
    subprocess.run([sys.executable, "-c", HOLD, str(paths.ROOT), str(killed), "killed"], check=True, timeout=120)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(paths.ROOT), str(alive), "alive"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert select.select([holder.stdout], [], [], 120)[0], "the holder did not take its lock in 120 s"
        assert holder.stdout.readline() == "held\n"
        (killed / "_grader").mkdir()
        (killed / "_grader" / "suite.py").write_text("")
        os.chmod(killed / "_grader", 0o555)  # as the shared code is
        unowned = tmp_path / "deepgrade-no-owner"  # not made by a grader that holds it: not judged
        unowned.mkdir()
        other = tmp_path / "unrelated"
        other.mkdir()
        (other / bundle.OWNER).write_text("")
        kept = ["deepgrade-code-alive", "deepgrade-no-owner", "unrelated"]
        if os.geteuid() == 0:  # another user's grader's folder, its lock free: not this user's to remove
            theirs = tmp_path / "deepgrade-session-theirs"
            theirs.mkdir()
            (theirs / bundle.OWNER).write_text("")
            os.chown(theirs, 54321, 54321)
            kept.insert(2, theirs.name)
        bundle.sweep()
        assert sorted(p.name for p in tmp_path.iterdir()) == kept
    finally:
        holder.kill()
        holder.wait(60)
    bundle.sweep()  # its process gone now, the lock with it
    assert not alive.exists() and unowned.exists()


def test_where_the_file_system_takes_no_lock_a_folder_is_made_but_never_judged(tmp_path, monkeypatch):
    def no_locks(fd, operation):
        raise OSError(37, "No locks available")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with monkeypatch.context() as m:
        m.setattr(bundle.fcntl, "flock", no_locks)
        with bundle.session_root() as root:
            assert root.is_dir() and sorted(p.name for p in root.iterdir()) == []
            bundle.sweep()  # a sweep that cannot lock either: the live session's folder stays
            assert root.is_dir()
    bundle.sweep()
    assert not root.exists()  # removed by its own session, as ever
