"""A session's bundle: the suite's bytecode compiled once per grading process and laid beside its copy."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from grader import paths
from grader.sandbox import bundle

AID = "a04_cnn"  # its suite defines functions of its own (the LeNet runs), not only task declarations


def load_in_child(pkg_root, module: str) -> dict:
    """Import ``module`` as a child does (``python -I -S``, the bundle's packages first): where it came from."""
    code = ("import sys, json, importlib; sys.path[:0] = sys.argv[1:]\n"
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
    copy = made / "_grader" / "grader" / "tasks" / "suites" / f"{AID}.py"
    pyc = importlib.util.cache_from_source(str(copy), optimization="")
    source = (paths.ROOT / "grader" / "tasks" / "suites" / f"{AID}.py").read_bytes()
    data = open(pyc, "rb").read()
    assert data[4:8] == (1).to_bytes(4, "little") and data[8:16] == importlib.util.source_hash(source)  # unchecked
    assert bundle.suite_bytecode(source) is bundle.suite_bytecode(source)  # compiled once per process
    seen = load_in_child(made / "_grader", f"grader.tasks.suites.{AID}")
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
