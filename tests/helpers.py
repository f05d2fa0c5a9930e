"""Shared test helpers: release copies, grading, seeded bugs, numerical ground truth."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Callable

import torch

from grader import paths
from grader.course import config
from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from grader.sandbox.session import runner_for
from grader.tasks import suites
from grader.tasks.numeric import central_difference, weighted_sum
from grader.results import GradingResult, TaskResult
from grader.authoring.release import release

COURSE = config.load(paths.COURSE)


def solutions_copy(dest: Path, aid: str) -> Path:
    """A fresh solutions copy of one assignment under ``dest``; returns the assignment folder."""
    release(paths.REFERENCE, dest, [aid], solutions=True)
    return dest / aid


def skeleton_copy(dest: Path, aid: str) -> Path:
    release(paths.REFERENCE, dest, [aid], solutions=False)
    return dest / aid


def seeded_bugs(solutions: Path, dest: Path, edits: list[tuple[str, str, str]]) -> Path:
    """Copy an assignment folder under ``dest`` and apply every (file, old, new) edit; each ``old``
    must occur exactly once in its file, so an edit can never silently miss."""
    target = dest / solutions.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(solutions, target, ignore=shutil.ignore_patterns("__pycache__"))
    for file, old, new in edits:
        path = target / file
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
        path.write_text(text.replace(old, new))
    return target


def seeded_bug(solutions: Path, dest: Path, file: str, old: str, new: str) -> Path:
    """A copy of an assignment folder with one occurrence of ``old`` replaced by ``new`` in ``file``."""
    return seeded_bugs(solutions, dest, [(file, old, new)])


def grade_folder(folder: Path, suite: str = "public", device: str = "cpu", sandboxed: bool = True) -> GradingResult:
    """Grade one assignment folder. ``sandboxed=False`` runs it through the in-process runner (the
    Runner the audit uses: same pipeline, wire format, guard and diagnoses, no child process), for
    tests about what a suite catches (seeded bugs); the sandbox itself is proven by tests/grader/sandbox
    and by every assignment's sandboxed gradings of its solutions and skeleton."""
    runner = runner_for(device) if sandboxed else InProcessRunner()
    return grade(folder, COURSE, [folder.name], suite=suite, device=device, runner=runner)


def comparable(data: dict) -> dict:
    """A JSON report without what differs from one grading to the next: when it was graded and how
    long each task took."""
    data = dict(data)
    data.pop("graded_at", None)
    data["assignments"] = [{**a, "tasks": [{k: v for k, v in t.items() if k != "time_s"} for t in a["tasks"]]}
                           for a in data["assignments"]]
    return data


def callers(aid: str) -> dict[str, set[str]]:
    """Task id -> the tasks of its assignment that declare they call it (``Task.calls``)."""
    tasks = suites.load(aid).tasks.values()
    return {t.id: {o.id for o in tasks if t.id in o.calls} for t in tasks}


def grade_seeded_bugs(solutions: Path, dest: Path, bugs: list[tuple[str, str, str, str]]) -> GradingResult:
    """Grade (in process) a copy of ``solutions`` with every ``(file, old, new, task)`` bug applied, and
    check that each bugged task loses points and that no other task does, unless it declares it calls
    a bugged one. The grading is returned for further checks of its diagnoses."""
    result = grade_folder(seeded_bugs(solutions, dest, [b[:3] for b in bugs]), sandboxed=False)
    lost, bugged = lost_tasks(result), {b[3] for b in bugs}
    assert bugged <= lost, f"seeded bugs that cost their task nothing: {sorted(bugged - lost)}"
    calling = callers(solutions.name)
    allowed = bugged | {caller for task in bugged for caller in calling[task]}
    assert lost <= allowed, f"tasks that lost points though neither bugged nor calling a bugged task: " \
                            f"{sorted(lost - allowed)}"
    return result


def grade_named_bugs(solutions: Path, dest: Path, bugs: dict[str, tuple], group: tuple[str, ...],
                     crash_ok: bool = False) -> dict[str, TaskResult]:
    """Grade (in process) a copy of ``solutions`` with the bugs named in ``group`` applied. Each entry of
    ``bugs`` is ``(file, old, new, lost tasks, first task, word)``: the grading must lose exactly the
    union of the group's lost tasks, and each bug's first task must fail (an error for a bug whose name
    says "banned"; either, with ``crash_ok``, where a wrong shape can crash the task) with ``word`` in
    its diagnosis. Returns the graded tasks by id."""
    result = grade_folder(seeded_bugs(solutions, dest, [bugs[bug][:3] for bug in group]), sandboxed=False)
    tasks = {t.id: t for t in result.assignments[0].tasks}
    assert lost_tasks(result) == set().union(*(bugs[b][3] for b in group))
    for bug in group:
        first, word = bugs[bug][4], bugs[bug][5]
        messages = " ".join(c.said for c in tasks[first].checks if not c.passed)
        allowed = {"banned"} if "banned" in bug else ({"failed", "error"} if crash_ok else {"failed"})
        assert tasks[first].status in allowed, (bug, tasks[first].status)
        assert word in messages, (bug, messages)
    return tasks


def task_scores(result: GradingResult) -> dict[str, tuple[str, float, float]]:
    return {t.id: (t.status, t.score, t.max_score) for a in result.assignments for t in a.tasks}


def lost_tasks(result: GradingResult) -> set[str]:
    return {t.id for a in result.assignments for t in a.tasks if t.score < t.max_score}


def numeric_grad(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dout: torch.Tensor | None = None,
                 h: float = 1e-6) -> torch.Tensor:
    """Central differences of ``sum(f(x) * dout)`` in float64 (the grader's own helper)."""
    return central_difference(lambda p: weighted_sum(f(p), dout), x.detach().to(torch.float64), h)


def ordinary_user() -> tuple[int, Callable[[], None] | None]:
    """A uid no one uses, and what makes a child process that user (nothing where we are not root).

    One per test process, below the block the sandboxes draw their uids from (200,000 and up), so a
    sandbox of this process or of another test worker never runs as the same uid (a uid's process
    limit and kill(-1) count every process of that uid)."""
    import os

    if os.geteuid() != 0:
        return os.getuid(), None
    uid = 150_000 + os.getpid() % 50_000

    def become() -> None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    return uid, become


def ordinary_python(become: Callable[[], None] | None, code: str = "pass") -> str | None:
    """A Python of this version that the ordinary user may run (this one, or the system's when this
    one lives where only root may enter) and that runs ``code``, given this checkout and torch."""
    import os
    import subprocess
    import sys
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for python in dict.fromkeys([sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]):
        if not os.path.exists(python):
            continue
        try:
            r = subprocess.run(ordinary_command(python, code), preexec_fn=become, capture_output=True, cwd="/",
                               timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return python
    return None


def ordinary_command(python: str, code: str) -> list[str]:
    """``python`` running ``code`` with this checkout and torch's site-packages on its path."""
    site = str(Path(torch.__file__).resolve().parent.parent)
    return [python, "-c", f"import sys; sys.path[:0] = [{str(paths.ROOT)!r}, {site!r}]; " + code]


def splice_source(target: Path, text: str) -> None:
    """Splice ``text`` into the file ``target``: each of its top-level ``def``s replaces the function
    of that name, its other top-level statements are appended (so they run at import); a leading
    docstring is left out."""
    base = target.read_text()
    tree, atk = ast.parse(base), ast.parse(text)
    lines, atk_lines = base.splitlines(keepends=True), text.splitlines(keepends=True)
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    replaced, extra = {}, []
    for i, node in enumerate(atk.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the attack's docstring
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        segment = "".join(atk_lines[start:node.end_lineno])
        if isinstance(node, ast.FunctionDef) and node.name in defs:
            replaced[node.name] = segment
        else:
            extra.append(segment)
    for node in sorted((defs[n] for n in replaced), key=lambda n: -n.lineno):
        start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
        lines[start:node.end_lineno] = [replaced[node.name]]
    target.write_text("".join(lines) + "\n\n" + "\n\n".join(extra) + "\n")


def run_autograder(root: Path, timeout: float = 600) -> dict:
    """Run an unpacked Gradescope autograder (``root/source``) on ``root/submission`` as Gradescope would,
    with this Python; returns its ``results.json``."""
    import json
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env |= {"AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    r = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text())
