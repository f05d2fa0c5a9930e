"""The sandbox: isolation levels, --require-isolation, banned operations (static and at run time), determinism."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from grader import cli, paths
from grader.course import config
from grader.sandbox import bundle as bundles
from grader.sandbox import levels
from grader.judge import scan as banned
from grader.sandbox.inside import guard, isolation
from grader.judge.pipeline import grade
from grader.reports.json import render as to_json
from grader.reports.text import render as to_text
from grader.sandbox.session import runner_for
from tests.helpers import COURSE, comparable, grade_folder, lost_tasks, ordinary_python, ordinary_user
from tests.grader.sandbox.test_adversarial import ATTACKS_DIR, callers, splice

AID = "a02_mlp_backprop"
BEST = levels.detect("cpu")


def test_levels_are_ordered_by_their_layers():
    assert isolation.level_of([]) == "process"
    assert isolation.level_of(["network", "pid", "uid"]) == "namespaces"
    assert isolation.level_of(["network", "pid", "uid", "filesystem"]) == "full"
    assert isolation.level_of(["network", "pid", "filesystem"]) == "process"  # no uid of its own


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the namespace layers are Linux's")
def test_detected_level_matches_the_machine():
    import os
    import subprocess
    may_unshare = subprocess.run([sys.executable, "-c", (
        "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
        "os._exit(0 if libc.unshare(0x40000000 | 0x20000000 | 0x00020000) == 0 else 1)")], timeout=60).returncode == 0
    if os.geteuid() != 0 or not may_unshare:
        assert BEST.level == "process" or BEST.via == "user-namespace"
    else:  # root allowed to make namespaces (CI): every layer is set up and verified from inside the probe
        assert BEST.level == "full" and set(BEST.layers) == {"network", "pid", "uid", "filesystem"}
        assert BEST.via == "root" and "full isolation via root (" in BEST.describe()
    d = BEST.info()
    assert d.level == BEST.level and d.layers[:4] == ["session", "clean-environment", "resource-limits", "timeout"]
    assert set(d.missing) | set(BEST.layers) == set(isolation.LAYERS["full"])


def test_a_weaker_machine_is_refused_when_isolation_is_required(monkeypatch):
    monkeypatch.setattr(levels, "detect", lambda device="cpu", via="auto": levels.Isolation("process", ()))
    with pytest.raises(levels.IsolationRefused, match="--require-isolation full: this machine gives only process"):
        runner_for("cpu", require="full")
    with pytest.raises(levels.IsolationRefused, match="asked for, but this machine gives only"):
        levels.choose("cpu", "namespaces")
    assert levels.choose("cpu", "auto", "process").level == "process"
    with pytest.raises(levels.IsolationRefused, match="unknown isolation level"):
        levels.choose("cpu", "auto", "sealed")


def test_cli_refuses_below_the_required_level(monkeypatch, solutions, capsys):
    monkeypatch.setattr(levels, "detect", lambda device="cpu", via="auto": levels.Isolation("process", ()))
    code = cli.main(["grade", str(solutions(AID)), "-q", "--require-isolation", "namespaces"])
    assert code == 2
    assert "grading refused: --require-isolation namespaces" in capsys.readouterr().err


def test_a_lower_level_than_available_can_be_chosen_but_not_below_the_requirement():
    if BEST.level == "process":
        pytest.skip("only the process level here")
    assert levels.choose("cpu", "process") == levels.Isolation("process", ())
    with pytest.raises(levels.IsolationRefused, match="below the required"):
        levels.choose("cpu", "process", BEST.level)
    try:  # a level below the best is probed too: it may not hold where the best does
        lower = levels.choose("cpu", "namespaces")
    except levels.IsolationRefused as e:
        assert "does not hold on this machine" in str(e)
    else:
        assert lower.level == "namespaces" and lower.via == BEST.via
    with pytest.raises(levels.IsolationRefused, match="unknown way to isolate"):
        levels.choose("cpu", via="setuid")


@pytest.mark.skipif(BEST.via != "root" or levels.detect("cpu", "user-namespace").level != "full",
                    reason="needs root and user namespaces")
def test_root_can_grade_the_way_an_ordinary_user_does(solutions):
    result = grade(solutions(AID), COURSE, [AID], runner=runner_for("cpu", via="user-namespace"))
    assert result.score == result.max_score
    assert result.sandbox.via == "user-namespace" and result.sandbox.level == "full"
    assert "sandbox: full isolation via user-namespace (" in to_text(result)
    assert json.loads(to_json(result))["sandbox"]["via"] == "user-namespace"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the namespace layers are Linux's")
def test_an_ordinary_user_gets_every_layer_through_a_user_namespace():
    """Not root: a user namespace first, then no network, its own PIDs and uid, and a file system without the reference."""
    import subprocess
    import tempfile
    uid, become = ordinary_user()
    python = ordinary_python(become)
    if python is None:
        pytest.skip("no Python here that an ordinary user may run")
    python_path = [p for p in json.loads(subprocess.run(
        [python, "-I", "-S", "-c", "import sys, json; print(json.dumps(sys.path))"], capture_output=True,
        text=True, preexec_fn=become, cwd="/", timeout=120).stdout) if Path(p).is_dir()]
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:  # not under pytest's folder: only root may enter that
        root = Path(tmp)
        bundle = bundles.make(root, None, None)
        iso = levels.Isolation("full", isolation.LAYERS["full"], "user-namespace")
        plan = bundles.layout(root, bundle, iso.layers, iso.via, "cpu", [])
        prefix = str(Path(python_path[0]).parent) if python_path else "/usr"
        plan.update(uid=uid, python=python_path, binds=[*bundles.SYSTEM_DIRS, prefix])
        hidden = [str(paths.REFERENCE), str(paths.COURSE)]
        cfg = {"paths": [str(bundle / "_grader")], "isolation": plan, "hidden": hidden}
        out = subprocess.run([python, "-I", "-S", "-c", levels.PROBE, json.dumps(cfg)], capture_output=True,
                             text=True, cwd=root, timeout=60, preexec_fn=become)
        held = [layer for layer, why in json.loads(out.stdout or "{}").items() if not why]
        if not held:
            may = subprocess.run([python, "-I", "-S", "-c", (
                "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
                "os._exit(0 if libc.unshare(0x10000000) == 0 else 1)")], preexec_fn=become, cwd="/", timeout=60)
            if may.returncode != 0:
                pytest.skip("this kernel lets no ordinary user make a user namespace")
        assert sorted(held) == sorted(isolation.LAYERS["full"]), out.stderr
        why = json.loads(subprocess.run(  # the control: a path it does show is seen, and said
            [python, "-I", "-S", "-c", levels.PROBE, json.dumps({**cfg, "hidden": hidden + [prefix]})],
            capture_output=True, text=True, cwd=root, timeout=60, preexec_fn=become).stdout or "{}")
        assert why["filesystem"] == f"{prefix} is readable inside" and not why["uid"]


WAYS = [via for via in isolation.VIAS if "filesystem" in levels.detect("cpu", via).layers]


@pytest.mark.skipif(not WAYS, reason="needs the file-system layer")
@pytest.mark.parametrize("via", WAYS)
def test_an_installed_copy_of_the_reference_is_hidden_too(via, tmp_path, monkeypatch):
    import subprocess
    site = tmp_path / "site-packages"  # as `pip install .` would leave it: reference/ beside torch
    (site / "reference" / AID).mkdir(parents=True)
    (site / "reference" / AID / "layers.py").write_text("SOLUTION = 'leaked'\n")
    real = bundles.site_dirs()
    monkeypatch.setattr(bundles, "site_dirs", lambda: [*real, str(site)])
    root = tmp_path / "run"
    root.mkdir()
    bundle = bundles.make(root, None, None)
    best = levels.detect("cpu", via)
    plan = bundles.layout(root, bundle, best.layers, best.via, "cpu", [])
    assert str(site) in plan["binds"] and str(site / "reference") in plan["hide"]

    def held(plan: dict) -> list[str]:
        cfg = {"paths": [str(bundle / "_grader")], "isolation": plan, "hidden": [str(site / "reference")]}
        out = subprocess.run([sys.executable, "-I", "-S", "-c", levels.PROBE, json.dumps(cfg)],
                             capture_output=True, cwd=root, timeout=60)
        return [layer for layer, why in json.loads(out.stdout).items() if not why]

    assert "filesystem" in held(plan)
    assert "filesystem" not in held({**plan, "hide": []})  # the control: without hiding, it shows


# Banned operations: the static scan.

SOURCE = '''\
import torch
import torch.nn.functional as F
from torch.nn.functional import softmax as sm
from torch import autograd


def helper(x):
    return sm(x, dim=1)


def relu_forward(x):
    out = F.relu(x)
    return out, x


def sigmoid_forward(x):
    return helper(x), x


def tanh_forward(x):
    return getattr(F, "tanh")(x), x


def affine_backward(dout, cache):
    x, w, b = cache
    dx, = autograd.grad(x, x, dout)
    return dx


def clean(x):
    return torch.clamp(x, min=0.0), F


def local_import(x):
    from torch.func import grad
    return grad(torch.sin)(x)
'''


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "layers.py"
    path.write_text(SOURCE)
    return path


@pytest.mark.parametrize("function, names, found", [
    ("relu_forward", ["torch.nn.functional.*"], [("torch.nn.functional.relu", 12)]),
    ("sigmoid_forward", ["torch.nn.functional"], [("torch.nn.functional.softmax", 8)]),  # through a helper
    ("tanh_forward", ["torch.nn.functional.tanh"], [("torch.nn.functional.tanh", 21)]),  # getattr with a constant
    ("affine_backward", ["torch.autograd"], [("torch.autograd.grad", 26)]),
    ("clean", ["torch.nn.functional.*", "torch.autograd"], [("torch.nn.functional", 31)]),  # a module as a value: refused
    ("clean", ["torch.nn.functional"], [("torch.nn.functional", 31)]),
    ("local_import", ["torch.func"], [("torch.func.grad", 35), ("torch.func.grad", 36)]),
    ("relu_forward", [], []),
])
def test_scan_finds_banned_names_through_aliases(source, function, names, found):
    got = banned.scan(source, function, names)
    assert [(v.name, v.line) for v in got] == found
    assert all(v.file == "layers.py" for v in got)


ESCAPE_SOURCE = """\
import gc
import sys
import torch
from torch import ops as aten_ops
from .helpers import sneaky_relu
from . import helpers as h

CACHE = sys.modules  # runs at import: every task of the file is refused


def uses_ops(x):
    return aten_ops.aten.relu(x)


def pops_the_mode(x):
    torch._C._pop_torch_function_stack()
    return x


def dynamic(x, name):
    return getattr(torch, name)(x), eval("x"), type(x).__mro__


def fine(x, vars):
    locals_ = vars
    return getattr(torch, "clamp")(x, min=0.0), locals_


def cross_file(x):
    return sneaky_relu(x) + h.pops(x)
"""
HELPERS_SOURCE = """\
import torch.nn.functional as F
import gc


def sneaky_relu(x):
    return F.relu(x)


def pops(x):
    return gc.get_objects()


def unused(x):
    return F.relu(x)
"""


@pytest.mark.parametrize("function, found", [
    ("uses_ops", [("torch.ops", 12)]),
    ("pops_the_mode", [("torch._C", 16)]),
    ("dynamic", [("getattr", 21), ("torch", 21), ("eval", 21), ("__mro__", 21)]),  # torch: a module as a value
    ("fine", []),  # a literal getattr, and an argument that happens to be called vars
    ("cross_file", [("torch.nn.functional.relu", 6, "helpers.py"), ("gc", 10, "helpers.py")]),
])
def test_scan_refuses_the_ways_around_the_checks(tmp_path, function, found):
    (tmp_path / "layers.py").write_text(ESCAPE_SOURCE.replace("CACHE = sys.modules", "CACHE = None"))
    (tmp_path / "helpers.py").write_text(HELPERS_SOURCE)
    got = banned.scan(tmp_path / "layers.py", function, ["torch.nn.functional"])
    assert sorted((v.name, v.line, v.file) for v in got) == \
        sorted((f[0], f[1], f[2] if len(f) > 2 else "layers.py") for f in found)
    assert all(v.escape == (v.name != "torch.nn.functional.relu") for v in got)
    assert banned.scan(tmp_path / "layers.py", function, []) == []  # nothing banned: nothing to get around
    if got and got[0].escape:
        assert "is not allowed in a task with banned operations" in got[0].describe()


def test_scan_looks_at_what_runs_when_a_file_is_imported(tmp_path):
    (tmp_path / "layers.py").write_text(ESCAPE_SOURCE)
    (tmp_path / "helpers.py").write_text(HELPERS_SOURCE)
    got = banned.scan(tmp_path / "layers.py", "fine", ["torch.autograd"])
    assert [(v.name, v.line, v.escape) for v in got] == [("sys.modules", 8, True)]


def test_scan_of_a_file_that_does_not_parse_finds_nothing(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text("def relu_forward(x:\n")
    assert banned.scan(path, "relu_forward", ["torch"]) == []


def test_matches_covers_a_module_and_what_is_in_it():
    assert banned.matches("torch.autograd.grad", ["torch.autograd"]) == "torch.autograd"
    assert banned.matches("torch.autograd", ["torch.autograd"]) == "torch.autograd"
    assert banned.matches("torch.autograd", ["torch.autograd.*"]) is None
    assert banned.matches("torch.autograd_x", ["torch.autograd"]) is None
    assert banned.matches("torch.relu", ["torch.nn.functional", "torch.relu"]) == "torch.relu"


# Banned operations: the run-time guard (a torch function mode).

def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_guard_blames_the_students_line_and_ignores_the_graders(tmp_path):
    folder = tmp_path / "submission" / AID
    folder.mkdir(parents=True)
    (folder / "layers.py").write_text(textwrap.dedent('''\
        import torch


        def sneaky(x):
            f = getattr(__import__("torch").nn.functional, "re" + "lu")
            return f(x)


        def uses_autograd(x):
            x = x.clone().requires_grad_()
            with torch.enable_grad():
                (x * x).sum().backward()
            return x.grad
        '''))
    mod = _load(folder / "layers.py", "guard_case")
    x = torch.randn(3)
    g = guard.Guard(["torch.nn.functional", "torch.Tensor.backward"], str(tmp_path / "submission"))
    with g:
        torch.nn.functional.relu(x)  # the grader's own call: not the student's
        assert g.violation is None
        mod.sneaky(x)
        assert g.still_active()
    assert g.violation == banned.Violation("torch.nn.functional.relu", "layers.py", 6)
    g = guard.Guard(["torch.Tensor.backward"], str(tmp_path / "submission"))
    with g:
        mod.uses_autograd(x)
    assert g.violation == banned.Violation("torch.Tensor.requires_grad_ (autograd)", "layers.py", 10)  # the first use


# Banned operations: course.yaml.

def _course_with(banned_yaml: str, task_extra: str = "") -> str:
    return textwrap.dedent(f'''\
        course: c
        devices: [cpu]
        tolerances:
          float64: {{cpu: {{rtol: 1.0e-7, atol: 1.0e-9}}}}
          float32: {{cpu: {{rtol: 1.0e-4, atol: 1.0e-5}}}}
        limits: {{time_s: 10, memory_mb: 1024}}
        suites:
          public: {{seed: 1, cases: 2}}
          hidden: {{seed: 2, cases: 2}}
        assignments:
          - id: a02_mlp_backprop
            title: t
            {banned_yaml}
            tasks:
              - {{id: a02.relu_forward, points: 1{task_extra}}}
              - {{id: a02.relu_backward, points: 1}}
        ''')


def test_banned_lists_merge_the_assignments_and_the_tasks():
    course = config.parse(_course_with("banned: [torch.autograd, torch.nn.functional.*]",
                                       ", banned: [torch.relu, torch.autograd]"))
    relu_fwd, relu_bwd = course.assignment("a02").tasks
    assert relu_fwd.banned == ("torch.autograd", "torch.nn.functional.*", "torch.relu")
    assert relu_bwd.banned == ("torch.autograd", "torch.nn.functional.*")


@pytest.mark.parametrize("banned_yaml, extra, error", [
    ("banned: [torch.nn.functional.*.relu]", "", "is not a qualified name"),
    ("banned: [os.system]", "", "'os.system' is not a qualified name"),
    ("banned: [torch.relu, torch.relu]", "", "'torch.relu' is listed twice"),
    ("banned: torch.relu", "", "expected a list"),
    ("", ", banned: [3]", "expected a string"),
    ("", ", forbidden: [torch.relu]", "unknown key 'forbidden'"),
])
def test_bad_banned_lists_are_errors_naming_the_line(banned_yaml, extra, error):
    with pytest.raises(config.ConfigError, match=error) as e:
        config.parse(_course_with(banned_yaml, extra))
    assert "course.yaml:" in str(e.value)


def test_course_yaml_bans_autograd_and_functional_for_every_a02_task():
    for task in COURSE.assignment("a02").tasks:
        assert {"torch.autograd", "torch.func", "torch.nn.functional"} <= set(task.banned)


BANNED_BODIES = {
    # the static scan sees this one: the task is not even run
    "relu_forward": "def relu_forward(x):\n    out = F.relu(x)\n    return out, x\n",
    # hidden from the scan; the guard sees torch.sigmoid being called
    "sigmoid_forward": "def sigmoid_forward(x):\n    f = getattr(__import__('torch'), 'sig' + 'moid')\n"
                       "    return f(x), f(x)\n",
    # the guard itself taken off torch's mode stack before a hidden F.tanh
    "tanh_forward": "def tanh_forward(x):\n    while torch._C._len_torch_function_stack():\n"
                    "        torch._C._pop_torch_function_stack()\n"
                    "    f = getattr(getattr(__import__('torch').nn, 'func' + 'tional'), 'tanh')\n"
                    "    return f(x), f(x)\n",
    # autograd for a backward pass
    "affine_backward": "def affine_backward(dout, cache):\n"
                       "    x, w, b = (t.clone().requires_grad_() for t in cache[:3])\n"
                       "    with torch.enable_grad():\n        (x @ w + b).backward(dout)\n"
                       "    return x.grad, w.grad, b.grad\n",
}


@pytest.mark.parametrize("static", [True, False], ids=["with-scan", "guard-alone"])
def test_banned_operations_score_zero_and_name_the_call_and_line(static, solutions, tmp_path, monkeypatch):
    """Each way round the checks is caught by the static scan; and with the scan switched off,
    the torch function mode in the sandbox still catches each one at run time."""
    if not static:
        monkeypatch.setattr(banned, "scan", lambda *a, **k: [])
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    attack = tmp_path / "attack"
    attack.mkdir()
    body = "\n\n".join(BANNED_BODIES.values())
    (attack / "layers.py").write_text("import torch.nn.functional as F\n\n\n" + body)
    splice(folder, attack, {})
    result = grade_folder(folder)
    tasks = {t.id: t for t in result.assignments[0].tasks}
    lines = (folder / "layers.py").read_text().splitlines()

    def line_of(text: str) -> int:
        return next(i for i, line in enumerate(lines, start=1) if text in line)

    escape = "is not allowed in a task with banned operations: it could reach them unseen"
    hidden_sigmoid = "'sig' + 'moid'"
    expected = {
        "a02.relu_forward": f"banned operation torch.nn.functional.relu (layers.py line {line_of('F.relu(x)')})",
        "a02.sigmoid_forward": f"__import__ {escape} (layers.py line {line_of(hidden_sigmoid)})" if static else
                               f"banned operation torch.sigmoid (layers.py line {line_of('return f(x), f(x)')})",
        "a02.tanh_forward": f"torch._C {escape} (layers.py line {line_of('_len_torch_function_stack')})"
                            if static else f"torch._C._pop_torch_function_stack {escape} (layers.py line "
                                           f"{line_of('_pop_torch_function_stack()')})",
        # the scan stops at the first banned name of the code: enable_grad is torch.autograd's
        "a02.affine_backward": "banned operation torch.autograd.grad_mode.enable_grad (layers.py line "
                               f"{line_of('torch.enable_grad()')})" if static else
                               "banned operation torch.Tensor.requires_grad_ (autograd) (layers.py line "
                               f"{line_of('.requires_grad_()')})",
    }
    for tid, message in expected.items():
        t = tasks[tid]
        assert t.score == 0 and t.status == "banned", (tid, t.status)
        assert message in t.checks[0].message, (tid, t.checks[0].message)
    assert set(expected) <= lost_tasks(result) <= callers(set(expected))


# Determinism.

@pytest.mark.parametrize("level", ["auto", "process"])
def test_grading_twice_gives_identical_json_apart_from_the_timestamp(level, solutions, tmp_path):
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    for name in ("sys_exit_mid_task", "tensor_subclass", "forge_response", "threads_daemons"):
        splice(folder, ATTACKS_DIR / name, {})
    runs = [grade(folder, COURSE, [AID], runner=runner_for("cpu", level)) for _ in range(2)]
    dumps = []
    for r in runs:
        data = json.loads(to_json(r))
        assert data["graded_at"]
        dumps.append(json.dumps(comparable(data), sort_keys=True))
    assert dumps[0] == dumps[1]
    assert runs[0].score < runs[0].max_score
    tasks = {t.id: t for t in runs[0].assignments[0].tasks}
    feedback = tasks["a02.softmax_cross_entropy"].feedback
    assert f'File "{AID}/layers.py", line' in feedback  # the student's own path, wherever the sandbox put it
    assert f"{isolation.SANDBOX}/submission" not in feedback
    assert "grade-" not in dumps[0]  # no temporary directory name leaks into the result
    assert "sandbox: " in to_text(runs[0])
    expected_level = BEST.level if level == "auto" else level
    assert runs[0].sandbox.level == expected_level


@pytest.mark.cuda
def test_cuda_runs_are_graded_under_the_same_isolation(solutions):
    result = grade_folder(solutions(AID), device="cuda")
    assert result.score == result.max_score
    assert result.sandbox.level == levels.detect("cuda").level


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_grader_that_is_killed_takes_its_sandboxed_children_with_it(solutions, tmp_path):
    import signal
    import subprocess
    import time
    folder = tmp_path / AID
    shutil.copytree(solutions(AID), folder)
    with open(folder / "layers.py", "a") as f:
        f.write("\n\ndef sigmoid_forward(x):\n    while True:\n        pass\n")
    import os
    tmp = tmp_path / "tmp"  # its own temporary folder: what the killed grader leaves behind is seen there
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    grader = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(folder), "-q"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(600):  # until a sandboxed child is well into the looping task
            kids = _descendants(grader.pid)
            if any(_runs_a_task(k, grader.pid) and _cpu_seconds(k) > 3.0 for k in kids):
                break
            time.sleep(0.1)
        else:
            pytest.fail("no sandboxed child ran the task")
        kids = _descendants(grader.pid)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait(timeout=60)
    for _ in range(100):  # SIGKILL is delivered asynchronously
        alive = [k for k in kids if _running(k)]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == []
    left = sorted(p.name.rsplit("-", 1)[0] for p in tmp.iterdir())
    assert left == ["deepgrade-code", "deepgrade-session"][0 if "filesystem" in levels.detect("cpu").layers else 1:]
    # the next grading of this user removes what the killed one left, and nothing else
    (tmp / "deepgrade-of-another-kind").mkdir()
    again = subprocess.run([sys.executable, "-m", "grader", "grade", str(solutions(AID)), "-q"], env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in tmp.iterdir()) == ["deepgrade-of-another-kind"]


def _runs_a_task(pid: int, grader: int) -> bool:
    """A sandboxed child: started cold (``inside.child``), or forked by the grader's fork server
    (which is itself the grader's child, and runs no task)."""
    command = _cmdline(pid)
    return b"grader.sandbox.inside.child" in command or (
        b"grader.sandbox.inside.forkserver" in command and _parent(pid) != grader)


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_seconds(pid: int) -> float:
    import os
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("level", ["best", "process"])
def test_a_traceback_starts_in_the_students_code_without_the_graders_or_the_suites_frames(level, solutions,
                                                                                           tmp_path):
    """a04's LeNet task is run by a function of its suite (in the session's bundle), which the grader's code
    (shared between sessions, or the session's own) calls: neither's frames reach the student."""
    from tests.helpers import splice_source
    aid = "a04_cnn"
    folder = tmp_path / aid
    shutil.copytree(solutions(aid), folder)
    splice_source(folder / "lenet.py", textwrap.dedent('''\
        def _helper(x):
            raise ValueError("boom in the helper")


        def lenet_forward(x, params):
            return _helper(x)
        '''))
    result = grade(folder, COURSE, [aid], runner=runner_for("cpu", "auto" if level == "best" else "process"))
    task = next(t for t in result.assignments[0].tasks if t.id == "a04.lenet_forward")
    assert task.status == "error" and "ValueError: boom in the helper" in task.feedback, task.feedback
    frames = [line.strip() for line in task.feedback.splitlines() if line.strip().startswith("File ")]
    assert frames and all("lenet.py" in f for f in frames), task.feedback
    assert "in lenet_forward" in frames[0] and "in _helper" in frames[-1]
