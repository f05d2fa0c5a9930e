"""The banned-operation scan reads what Python reads, and fails closed: a file or an import it cannot
follow refuses the task; a file Python itself refuses fails the task with Python's message.

Each variant hides ``torch.ops.aten.relu`` (no torch function mode sees it) in a02's
``relu_forward`` behind something the scan has to read the way Python does, or refuse.
"""
from __future__ import annotations

import codecs
import importlib.machinery
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from grader.judge import scan
from grader.tasks import suites
from tests.grader.sandbox.test_adversarial import callers
from tests.helpers import COURSE, grade_folder, lost_tasks, ordinary_command, ordinary_python, ordinary_user

AID = "a02_mlp_backprop"
BANNED = {t.id: t.banned for t in COURSE.assignment(AID).tasks}
SUITE = suites.load(AID)
RELU = "    out = torch.clamp(x, min=0.0)\n"        # relu_forward's solution
OPS = "    out = torch.ops.aten.relu(x)\n"          # the same, where no torch function mode sees it
HELPER = "import torch\n\n\ndef relu(x):\n    return torch.ops.aten.relu(x)\n"
ESCAPE = "is not allowed in a task with banned operations: it could reach them unseen"
UNREAD = "could not be read by the banned-operation scan: "
UNFOLLOWED = "could not be followed by the banned-operation scan: "


def edit(folder: Path, file: str, old: str, new: str | bytes) -> None:
    """Replace the one occurrence of ``old`` in ``file``, byte for byte (the encoding is the point)."""
    path = folder / file
    data = path.read_bytes()
    assert data.count(old.encode()) == 1, (file, old)
    path.write_bytes(data.replace(old.encode(), new if isinstance(new, bytes) else new.encode()))


def line_of(folder: Path, file: str, marker: bytes) -> int:
    return next(i for i, line in enumerate((folder / file).read_bytes().split(b"\n"), start=1) if marker in line)


def scan_task(folder: Path, tid: str, banned: tuple[str, ...] | None = None) -> list:
    task = SUITE.tasks[tid]
    return scan.scan(folder / f"{task.module}.py", task.function, BANNED[tid] if banned is None else banned)


def ops_in_layers(folder: Path) -> None:
    edit(folder, "layers.py", RELU, OPS)


def helper_import(folder: Path, module: str = "helpers", name: str = "relu") -> None:
    """relu_forward takes its relu from the submission's ``module`` (a function-level import: the
    other tasks of layers.py never run it)."""
    edit(folder, "layers.py", RELU, f"    from .{module} import {name}\n    out = relu(x)\n")


@dataclass(frozen=True)
class Variant:
    make: Callable[[Path], None]
    said: Callable[[Path], list[str]]  # what the first finding's message must hold, given the folder
    needs_ordinary_user: bool = False  # root reads any file: the scan then runs as an ordinary user


def _latin1_comment(d: Path) -> None:
    ops_in_layers(d)
    edit(d, "layers.py", "import torch\n", b"import torch\n# caf\xe9\n")


def _cookie(d: Path) -> None:  # Python imports this: the scan must read it the same way
    ops_in_layers(d)
    (d / "layers.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + (d / "layers.py").read_bytes())


def _bom(d: Path) -> None:
    ops_in_layers(d)
    (d / "layers.py").write_bytes(codecs.BOM_UTF8 + (d / "layers.py").read_bytes())


def _utf7(d: Path) -> None:  # Python decodes "+AAo-" to a newline: the comment hides a line of code
    text = (d / "layers.py").read_text().replace("+", "+-")  # "+" itself, in UTF-7
    text = text.replace(RELU, RELU.rstrip("\n") + "  # +AAo-" + OPS)
    (d / "layers.py").write_bytes(b"# coding: utf-7\n" + text.encode("ascii"))


def _unreadable(d: Path) -> None:
    ops_in_layers(d)
    os.chmod(d / "layers.py", 0)


def _undecodable_helper(d: Path) -> None:
    helper_import(d)
    (d / "helpers.py").write_bytes(b"# caf\xe9\n" + HELPER.encode())


def _star_import(d: Path) -> None:
    edit(d, "layers.py", RELU, "    out = relu(x)\n")
    edit(d, "layers.py", "import torch\n", "import torch\nfrom .helpers import *\n")
    (d / "helpers.py").write_text(HELPER)


def _star_import_of_a_library(d: Path) -> None:
    edit(d, "layers.py", RELU, "    out = modules['torch'].ops.aten.relu(x)\n")
    edit(d, "layers.py", "import torch\n", "import torch\nfrom sys import *\n")


def _missing_module_caught(d: Path) -> None:
    edit(d, "layers.py", RELU, "    try:\n        from .fast import relu\n    except ImportError:\n"
                               "        relu = torch.ops.aten.relu\n    out = relu(x)\n")


def _package_folder(d: Path) -> None:
    helper_import(d)
    (d / "helpers").mkdir()
    (d / "helpers" / "__init__.py").write_text(HELPER)


def _folder_shadowing_the_graded_file(d: Path) -> None:  # Python imports the package, not layers.py
    (d / "layers").mkdir()
    (d / "layers" / "__init__.py").write_text("import torch\n\n\ndef relu_forward(x):\n"
                                              "    return torch.ops.aten.relu(x), x\n")


def _compiled_module(d: Path) -> None:
    helper_import(d)
    (d / "helpers.py").write_text(HELPER.replace("torch.ops.aten.relu(x)", "torch.clamp(x, min=0.0)"))
    (d / f"helpers{importlib.machinery.EXTENSION_SUFFIXES[0]}").write_bytes(b"\x7fELF")


def _symlink(d: Path) -> None:
    helper_import(d)
    (d.parent / "elsewhere.py").write_text(HELPER)
    (d / "helpers.py").symlink_to(d.parent / "elsewhere.py")


def _sub_folder(d: Path) -> None:
    helper_import(d, "sub.helpers")
    (d / "sub").mkdir()
    (d / "sub" / "helpers.py").write_text(HELPER)


def _above_the_package(d: Path) -> None:
    edit(d, "layers.py", RELU, "    from .. import helpers\n    out = helpers.relu(x)\n")


def _importlib(d: Path) -> None:
    edit(d, "layers.py", RELU, "    import importlib\n    out = importlib.import_module('torch').ops.aten.relu(x)\n")


def _alias_kept_in_a_helper(d: Path) -> None:
    helper_import(d, name="aten")
    edit(d, "layers.py", "    out = relu(x)\n", "    out = aten.relu(x)\n")
    (d / "helpers.py").write_text("from torch.ops import aten\n")


def _package_init(d: Path) -> None:
    (d / "__init__.py").write_text('"""a02."""\nimport sys\nCACHE = sys.modules\n')


def _table_of_functions(d: Path) -> None:
    edit(d, "layers.py", RELU, "    out = _TABLE['relu'](x)\n")
    (d / "layers.py").write_text((d / "layers.py").read_text() +
                                 "\n\ndef _sneaky(x):\n    return torch.ops.aten.relu(x)\n\n\n"
                                 "_TABLE = {'relu': _sneaky}\n")


def _class_body(d: Path) -> None:
    (d / "layers.py").write_text((d / "layers.py").read_text() + "\n\nclass _Cache:\n    import sys\n"
                                 "    modules = sys.modules\n")


def _at(file: str, marker: bytes, text: str) -> Callable[[Path], list[str]]:
    """Expect ``text`` and ``(file line N)``, N the first line of ``file`` holding ``marker``."""
    return lambda d: [text, f"({file} line {line_of(d, file, marker)})"]


def _import_at(file: str, marker: bytes, statement: str, why: str) -> Callable[[Path], list[str]]:
    """Expect ``statement (file line N) could not be followed ...: why``."""
    return lambda d: [f"{statement} ({file} line {line_of(d, file, marker)}) {UNFOLLOWED}{why}"]


def _unread(file: str, why: str, marker: bytes | None = None) -> Callable[[Path], list[str]]:
    """Expect ``file could not be read ...: why``; ``{line}``: the line holding ``marker``."""
    return lambda d: [f"{file} {UNREAD}" + (why.format(line=line_of(d, file, marker)) if marker else why)]


VARIANTS = {
    "latin-1 byte in a comment": Variant(_latin1_comment, _at("layers.py", b"ops.aten", f"torch.ops {ESCAPE}")),
    "latin-1 coding line": Variant(_cookie, _at("layers.py", b"ops.aten", f"torch.ops {ESCAPE}")),
    "UTF-8 BOM": Variant(_bom, _at("layers.py", b"ops.aten", f"torch.ops {ESCAPE}")),
    "UTF-7 coding line": Variant(_utf7, lambda d: [f"torch.ops {ESCAPE} (layers.py line "
                                                   f"{line_of(d, 'layers.py', b'ops.aten') + 1})"]),
    "unreadable file": Variant(_unreadable, _unread("layers.py", "it cannot be opened (Permission denied)"),
                               needs_ordinary_user=True),
    "latin-1 comment in a helper module": Variant(_undecodable_helper, _at("helpers.py", b"ops.aten",
                                                                       f"torch.ops {ESCAPE}")),
    "star import": Variant(_star_import, _import_at(
        "layers.py", b"import *", "from .helpers import *", "a star import hides which names it brings in")),
    "star import of a library": Variant(_star_import_of_a_library, _import_at(
        "layers.py", b"import *", "from sys import *", "a star import hides which names it brings in")),
    "missing module, import caught": Variant(_missing_module_caught, _import_at(
        "layers.py", b".fast", "from .fast import relu", "fast.py is not a file of the assignment")),
    "package folder for a module": Variant(_package_folder, _unread(
        "helpers.py", "there is a folder helpers/, which Python would import in its place")),
    "package folder beside the graded file": Variant(_folder_shadowing_the_graded_file, _unread(
        "layers.py", "there is a folder layers/, which Python would import in its place")),
    "compiled module": Variant(_compiled_module, _unread(
        "helpers.py", f"there is compiled code, helpers{importlib.machinery.EXTENSION_SUFFIXES[0]}")),
    "symlinked module": Variant(_symlink, _unread("helpers.py", "it is not a regular file")),
    "module in a sub-folder": Variant(_sub_folder, _unread("sub/helpers.py", "it is in a sub-folder")),
    "import from above the package": Variant(_above_the_package, _import_at(
        "layers.py", b"from ..", "from .. import helpers", "it reaches outside the assignment's folder")),
    "importlib": Variant(_importlib, _at("layers.py", b"import importlib", f"importlib {ESCAPE}")),
    "alias kept in a helper": Variant(_alias_kept_in_a_helper, _at("layers.py", b"aten.relu", f"torch.ops {ESCAPE}")),
    "package __init__.py": Variant(_package_init, _at("__init__.py", b"sys.modules", f"sys.modules {ESCAPE}")),
    "table of functions": Variant(_table_of_functions, _at("layers.py", b"ops.aten", f"torch.ops {ESCAPE}")),
    "class body": Variant(_class_body, _at("layers.py", b"sys.modules", f"sys.modules {ESCAPE}")),
}


def variant_copy(solutions, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "submission" / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    VARIANTS[name].make(folder)
    return folder


def said_as_ordinary_user(solutions, name: str) -> tuple[str, list[str]]:
    """The first finding's message for relu_forward, the scan run by a uid that is not root."""
    _, become = ordinary_user()
    python = ordinary_python(become) if become is not None else None
    if python is None:
        pytest.skip("needs root (to become an ordinary uid) and a Python that uid may run")
    with tempfile.TemporaryDirectory(prefix="scan-") as tmp:  # pytest's folders admit root alone
        os.chmod(tmp, 0o755)
        folder = variant_copy(solutions, Path(tmp), name)
        for d in (folder.parent, folder):
            os.chmod(d, 0o755)
        code = (f"from pathlib import Path; from grader.judge import scan; "
                f"found = scan.scan(Path({str(folder / 'layers.py')!r}), 'relu_forward', "
                f"{BANNED['a02.relu_forward']!r}); print(found[0].describe() if found else '')")
        r = subprocess.run(ordinary_command(python, code), preexec_fn=become, capture_output=True, text=True,
                           cwd="/", timeout=300)
        if "No module named" in r.stderr:
            pytest.skip(f"the ordinary uid cannot import the checkout or torch: {r.stderr.splitlines()[-1]}")
        assert r.returncode == 0, r.stderr
        return r.stdout.strip(), VARIANTS[name].said(folder)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_scan_refuses_what_it_cannot_read_or_follow(name, solutions, tmp_path):
    if VARIANTS[name].needs_ordinary_user and os.geteuid() == 0:
        said, expected = said_as_ordinary_user(solutions, name)
    else:
        folder = variant_copy(solutions, tmp_path, name)
        found = scan_task(folder, "a02.relu_forward")
        said, expected = found[0].describe() if found else "", VARIANTS[name].said(folder)
        assert scan_task(folder, "a02.relu_forward", banned=()) == []  # nothing banned: nothing to refuse
    assert said, name
    for text in expected:
        assert text in said, (name, text, said)


@pytest.mark.parametrize("name, unrelated", [
    ("latin-1 comment in a helper module", True), ("missing module, import caught", True),
    ("module in a sub-folder", True), ("latin-1 byte in a comment", True), ("star import", False),
    ("package __init__.py", False),
])
def test_a_refusal_reaches_the_tasks_that_may_run_it_and_no_others(name, unrelated, solutions, tmp_path):
    """A function-level import refuses its task alone; a file's import-time problem refuses every
    task whose code imports that file (all of a02's: mlp.py imports layers.py)."""
    folder = variant_copy(solutions, tmp_path, name)
    refused = {tid for tid in BANNED if scan_task(folder, tid)}
    if unrelated:
        assert "a02.relu_forward" in refused and refused <= callers({"a02.relu_forward"}), refused
    else:
        assert refused == set(BANNED), set(BANNED) - refused


# Read what Python reads: bytes Python ignores cost nothing; a file Python refuses is Python's to refuse.

CHINESE = "中文注释"  # "a Chinese comment"
ENCODED = {  # what an editor in each setting writes
    "GBK": CHINESE.encode("gbk"), "Big5": "中文註解".encode("big5"), "latin-1": "café".encode("latin-1"),
    "UTF-16": CHINESE.encode("utf-16-le"),
}
SHAPES = {  # how the bytes sit in the file
    "comment": lambda b: b"# " + b + b"\n",
    "string": lambda b: b'NOTE = "' + b + b'"\n',
    "comment under a BOM": lambda b: b"# " + b + b"\n",
    "comment under a coding line for ascii": lambda b: b"# " + b + b"\n",
}
MODULE = b"import math\n\n\ndef relu_forward(x):\n    import torch\n    return torch.ops.aten.relu(x), x\n"


def encoded_module(encoding: str, shape: str) -> bytes:
    """A module whose task uses torch.ops (the scan must see it wherever Python would run it), with a
    comment or string in ``encoding`` and no coding line, unless ``shape`` adds one."""
    body = SHAPES[shape](ENCODED[encoding]) + MODULE
    if shape == "comment under a BOM":
        return codecs.BOM_UTF8 + body
    if shape == "comment under a coding line for ascii":
        return b"# coding: ascii\n" + body
    return body


def python_imports(folder: Path, module: str) -> bool:
    r = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=folder, capture_output=True, timeout=120)
    return r.returncode == 0


@pytest.mark.parametrize("encoding", list(ENCODED))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_scan_reads_what_python_imports(encoding, shape, tmp_path):
    """Where Python imports the file the scan reads it and sees torch.ops; where Python refuses it the
    scan leaves it to Python (importing it fails every task that needs it: see below)."""
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "mod.py").write_bytes(encoded_module(encoding, shape))
    found = scan.scan(folder / "mod.py", "relu_forward", ("torch.relu",))
    data = (folder / "mod.py").read_bytes()
    if python_imports(folder, "mod"):
        line = data[:data.index(b"torch.ops")].count(b"\n") + 1
        assert [v.describe() for v in found] == [f"torch.ops {ESCAPE} (mod.py line {line})"]
    else:
        assert found == []


def test_python_reads_comments_in_any_encoding_and_refuses_such_strings(tmp_path):
    """The premise of the test above, made explicit: comments cost nothing, strings do."""
    (tmp_path / "gbk_comment.py").write_bytes(encoded_module("GBK", "comment"))
    (tmp_path / "gbk_string.py").write_bytes(encoded_module("GBK", "string"))
    (tmp_path / "utf16.py").write_bytes(MODULE.decode().encode("utf-16"))
    assert python_imports(tmp_path, "gbk_comment")
    assert not python_imports(tmp_path, "gbk_string") and not python_imports(tmp_path, "utf16")


def test_an_honest_a02_with_a_gbk_comment_gets_full_marks_and_the_trick_still_scores_zero(solutions, tmp_path):
    """An honest a02 with one Chinese comment saved in GBK scored 0/30; with torch.ops.aten.relu in
    relu_forward beside such a comment, relu_forward (and what calls it) scores zero."""
    folder = tmp_path / "honest" / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    edit(folder, "layers.py", "import torch\n", b"import torch\n# " + ENCODED["GBK"] + b"\n")
    result = grade_folder(folder)
    assert result.score == result.max_score, [(t.id, t.checks[0].message) for t in result.assignments[0].tasks
                                              if t.score < t.max_score]
    ops_in_layers(folder)
    result = grade_folder(folder)
    t = next(t for t in result.assignments[0].tasks if t.id == "a02.relu_forward")
    assert t.score == 0 and t.status == "banned"
    assert f"torch.ops {ESCAPE} (layers.py line {line_of(folder, 'layers.py', b'ops.aten')})" in t.checks[0].message
    assert "a02.relu_forward" in lost_tasks(result) <= callers({"a02.relu_forward"})


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16 file"])
def test_a_file_python_refuses_fails_its_tasks_with_pythons_message(encoding, solutions, tmp_path):
    """A GBK string without a coding line, or a file saved as UTF-16: Python cannot import layers.py, so
    no task that needs it runs; each says why, in Python's words."""
    folder = tmp_path / "refused" / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    if encoding == "GBK":
        edit(folder, "layers.py", "import torch\n", b'import torch\nNOTE = "' + ENCODED["GBK"] + b'"\n')
    else:
        (folder / "layers.py").write_bytes((folder / "layers.py").read_text().encode("utf-16"))
    assert not python_imports(folder.parent, f"{AID}.layers")
    result = grade_folder(folder)
    for t in result.assignments[0].tasks:  # every a02 task imports layers.py (mlp.py does)
        said = " ".join(c.said for c in t.checks)
        assert t.score == 0 and t.status == "error", (t.id, t.status, said)
        assert re.search(r"layers\.py(, which)? could not be imported: SyntaxError: ", said), (t.id, said)
        assert ("can't decode byte 0xd6" if encoding == "GBK" else "cannot contain null bytes") in said, said


@pytest.mark.parametrize("name", ["latin-1 coding line", "UTF-7 coding line"])
def test_a_coding_line_is_read_as_python_reads_it(name, solutions, tmp_path):
    """Python imports both files and runs torch.ops.aten.relu, which no torch function mode sees."""
    folder = variant_copy(solutions, tmp_path, name)
    result = grade_folder(folder)
    t = next(t for t in result.assignments[0].tasks if t.id == "a02.relu_forward")
    assert t.score == 0 and t.status == "banned"
    for text in VARIANTS[name].said(folder):
        assert text in t.checks[0].message, t.checks[0].message
    assert "a02.relu_forward" in lost_tasks(result) <= callers({"a02.relu_forward"})


def test_helpers_that_hide_an_escape_or_cannot_be_followed_score_zero(solutions, tmp_path):
    """Three tasks, each importing inside itself torch.ops behind a latin-1 comment or what the scan cannot
    follow; each would pass if run."""
    folder = variant_copy(solutions, tmp_path, "latin-1 comment in a helper module")  # relu_forward
    edit(folder, "layers.py", "    out = torch.tanh(x)\n", "    from .sub.tanh import tanh\n    out = tanh(x)\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "tanh.py").write_text("import torch\n\n\ndef tanh(x):\n    return torch.ops.aten.tanh(x)\n")
    edit(folder, "layers.py", "    out = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))\n",
         "    try:\n        from .fast import sigmoid\n    except ImportError:\n"
         "        sigmoid = torch.ops.aten.sigmoid\n    out = sigmoid(x)\n")
    result = grade_folder(folder)
    tasks = {t.id: t for t in result.assignments[0].tasks}
    expected = {
        "a02.relu_forward": f"torch.ops {ESCAPE} (helpers.py line {line_of(folder, 'helpers.py', b'ops.aten')})",
        "a02.tanh_forward": f"sub/tanh.py {UNREAD}it is in a sub-folder",
        "a02.sigmoid_forward": f"from .fast import sigmoid (layers.py line {line_of(folder, 'layers.py', b'.fast')}) "
                               f"{UNFOLLOWED}fast.py is not a file of the assignment",
    }
    for tid, message in expected.items():
        assert tasks[tid].score == 0 and tasks[tid].status == "banned", (tid, tasks[tid].status)
        assert message in tasks[tid].checks[0].message, (tid, tasks[tid].checks[0].message)
    assert set(expected) <= lost_tasks(result) <= callers(set(expected))


def test_honest_files_with_a_coding_line_or_a_bom_get_full_marks(solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    layers = (folder / "layers.py").read_bytes()
    (folder / "layers.py").write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\n" +
                                       layers.replace(b"Tensor = torch.Tensor\n",
                                                      b'Tensor = torch.Tensor\nCAFE = "caf\xe9"\n'))
    (folder / "mlp.py").write_bytes(codecs.BOM_UTF8 + "# café\n".encode() + (folder / "mlp.py").read_bytes())
    for tid in BANNED:
        assert scan_task(folder, tid) == [], tid
    result = grade_folder(folder)
    assert result.score == result.max_score, [(t.id, t.checks[0].message) for t in result.assignments[0].tasks
                                              if t.score < t.max_score]
