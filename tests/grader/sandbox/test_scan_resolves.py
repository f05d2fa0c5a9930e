"""The banned-operation scan follows names to objects: re-exports, private names, aliases, import forms.

Each variant replaces a02's ``relu_forward`` body (banned there: torch.relu, torch.Tensor.relu,
torch.nn.ReLU) or adds module-level code, and must be refused; every reference solution and
every alternative solution must pass.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import paths
from grader.quality.audit import ALTERNATIVES, apply_alternatives
from grader.judge import scan
from grader.sandbox import resolve, session
from grader.tasks import suites
from tests.helpers import COURSE

AID = "a02_mlp_backprop"
RELU = "    out = torch.clamp(x, min=0.0)\n"
REFUSED = {  # relu_forward's line -> what the first finding must say
    "    out = torch.nn.init.torch.ops.aten.relu(x)\n": "torch.nn.init.torch.ops",
    "    torch.nn.init.torch._C.DisableTorchFunction()\n    out = x.clamp(min=0)\n": "_C",
    "    out = torch.nn.init.torch.relu(x)\n": "reaches torch.relu, banned here as torch.relu",
    "    out = torch.nn.modules.activation.F.relu(x)\n": "banned here as torch.nn.functional",  # all of a02
    "    T = torch\n    out = T.ops.aten.relu(x)\n": "T.ops.aten.relu",
    "    T = torch\n    F = T.nn.functional\n    out = F.relu(x)\n": "T.nn.functional reaches",
    "    out = (T := torch).ops.aten.relu(x)\n": "a module used as a value",
    "    T, = torch,\n    out = T.relu(x)\n": "a module used as a value",
    "    out = [torch][0].relu(x)\n": "a module used as a value",
    "    out = _apply(torch, x)\n": "a module used as a value",
    "    from torch import _C\n    out = x.clamp(min=0)\n": "_C",
    "    import torch._C as C\n    out = x.clamp(min=0)\n": "torch._C",
    "    from torch.nn.functional import relu as r\n    out = r(x)\n": "banned here as torch.nn.functional",
    "    out = torch.Tensor.relu(x)\n": "banned operation torch.Tensor.relu",
    "    out = _RELU(x)\n": "banned here as torch.relu",
    "    out = _TABLE[0](x)\n": "banned operation torch.relu",
}
MODULE_LEVEL = "\n\n_RELU = torch.relu\n_TABLE = (torch.relu,)\n\n\ndef _apply(m, x):\n    return m.relu(x)\n"


def relu_scan(folder: Path, body: str) -> list:
    path = folder / "layers.py"
    text = path.read_text()
    assert text.count(RELU) == 1
    path.write_text(text.replace(RELU, body) + MODULE_LEVEL)
    task = next(t for t in COURSE.assignment(AID).tasks if t.id == "a02.relu_forward")
    return scan.scan(path, suites.load(AID).tasks[task.id].function, task.banned)


@pytest.mark.parametrize("body", list(REFUSED))
def test_a_name_is_followed_to_what_it_reaches(body, solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder, ignore=shutil.ignore_patterns("__pycache__"))
    found = relu_scan(folder, body)
    assert found, body
    said = found[0].describe()
    assert REFUSED[body] in said and "(layers.py line " in said, (body, said)


def test_a_private_module_of_scipy_is_refused(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "m.py").write_text("from scipy.optimize._lsap import linear_sum_assignment\n\n\n"
                                 "def match(c):\n    return linear_sum_assignment(c)\n")
    said = scan.scan(folder / "m.py", "match", ("scipy.optimize.linear_sum_assignment",))[0].describe()
    assert "_lsap" in said and "(m.py line 5)" in said, said  # where the task uses what the import bound
    (folder / "m.py").write_text("import sklearn.utils\n\n\ndef match(c):\n"
                                 "    return sklearn.utils.linear_assignment_(c)\n")  # absent: stops there
    assert scan.scan(folder / "m.py", "match", ("scipy.optimize.linear_sum_assignment",)) == []


def _all_tasks(folder: Path, aid: str) -> dict[str, list]:
    suite = suites.load(aid)
    return {t.id: scan.scan(folder / f"{suite.tasks[t.id].module}.py", suite.tasks[t.id].function, t.banned)
            for t in COURSE.assignment(aid).tasks}


@pytest.mark.parametrize("aid", [a.id for a in COURSE.assignments])
def test_every_reference_and_alternative_solution_passes_the_scan(aid, solutions, tmp_path):
    folder = tmp_path / aid
    shutil.copytree(solutions(aid), folder, ignore=shutil.ignore_patterns("__pycache__"))
    found = {tid: [v.describe() for v in f] for tid, f in _all_tasks(folder, aid).items() if f}
    assert found == {}
    if (ALTERNATIVES / aid).is_dir():
        apply_alternatives(folder, ALTERNATIVES / aid)
        found = {tid: [v.describe() for v in f] for tid, f in _all_tasks(folder, aid).items() if f}
        assert found == {}


def test_the_sandbox_imports_what_the_scan_follows(tmp_path):
    folder = tmp_path / AID
    folder.mkdir()
    (folder / "a.py").write_text("from . import b\nimport a02_mlp_backprop.c\n\n\ndef f():\n    from .d import g\n")
    (folder / "b.py").write_text("from a02_mlp_backprop import c\n")
    (folder / "c.py").write_text("x = 1\n")
    (folder / "d.py").write_bytes(b"# \xd6\xd0\xce\xc4\ng = 1\n")  # a GBK comment: Python reads it
    assert session._local_imports(folder, "a") == ["c", "b", "d", "a"]
    assert resolve.own_modules(scan.ast.parse("from a02_mlp_backprop import c").body[0], AID) == ["c"]


SCAN_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from grader.judge import scan
assert {before} not in sys.modules
found = scan.scan(Path(sys.argv[1]) / "m.py", "dist", ({ban!r},))
print(json.dumps({{"found": [v.describe() for v in found], "loaded": {before} in sys.modules}}))
"""


def test_a_ban_on_another_library_reached_by_another_name_is_found_though_the_library_was_not_imported(tmp_path):
    """A ban on another library (scipy, scikit-learn) is expanded only for what the scanning process has
    imported (importing scipy.optimize to expand a ban costs 0.4 s). A name that imports the library as it
    is followed, and reaches the banned function by another name, is found all the same: the scan goes again
    with the ban expanded once the library is there."""
    folder = tmp_path / "a99_x"
    folder.mkdir()
    (folder / "m.py").write_text("from sklearn.metrics import euclidean_distances\n\n\n"
                                 "def dist(a, b):\n    return euclidean_distances(a, b)\n")
    code = SCAN_IN_A_FRESH_PROCESS.format(before='"sklearn.metrics.pairwise"',
                                          ban="sklearn.metrics.pairwise.euclidean_distances")
    done = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=paths.ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["loaded"] and len(out["found"]) == 1, out
    assert "euclidean_distances reaches sklearn.metrics.pairwise.euclidean_distances" in out["found"][0]
