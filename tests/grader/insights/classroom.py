"""A class of a02 submissions made for the insights tests, each with what it is known to be.

ann hands in the reference's solutions; ben hands in ann's code with every local variable renamed, the
comments gone, the layout rewritten and the functions in reverse order; cat hands in an independent
correct solution (grader/quality/alternatives/, written into the skeleton as a student would); dan, eve and fay
hand in the skeleton untouched; gus, hal and ivy each implement a few tasks, in their own words, with
seeded mistakes of known kinds. Every submission is graded in process and recorded in a gradebook as
``grader batch`` records it.
"""
from __future__ import annotations

import ast
import datetime as dt
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from grader.batch.gradebook import Gradebook, Key
from grader.batch.jobs import Job, Outcome, Stamp
from grader.quality.audit import ALTERNATIVES
from grader.results import DiagnosisKind as K
from grader.judge.pipeline import grade
from tests.helpers import COURSE

AID = "a02_mlp_backprop"
DEADLINE = COURSE.assignment(AID).deadline
ON_TIME = DEADLINE - dt.timedelta(days=2)
LATE = DEADLINE + dt.timedelta(days=1, hours=3)  # two started days late: a fifth off

# Hand-written bodies (after the docstring) of the buggy students' functions, each in its own style.
GUS = {"layers.py": {
    "affine_forward": """
        out = x @ w + b
        return out, (x, w, b)
    """,
    "affine_backward": """
        x, w, b = cache
        grad_x = dout @ w.T
        grad_w = x.T @ dout
        grad_b = dout  # one value per example: the batch sum is missing
        return grad_x, grad_w, grad_b
    """}}
HAL = {"layers.py": {
    "affine_forward": """
        result = torch.addmm(b.expand(x.shape[0], -1), x, w)
        saved = (x, w, b)
        return result, saved
    """,
    "affine_backward": """
        inputs, weights, _bias = cache
        d_inputs = torch.matmul(dout, weights.transpose(0, 1))
        d_weights = torch.einsum("ni,nj->ij", inputs, dout)
        d_bias = dout.clone()
        return d_inputs, d_weights, d_bias
    """,
    "tanh_forward": """
        t = torch.tanh(x)
        return t, t
    """,
    "tanh_backward": """
        t = cache
        return dout * (t * t - 1.0)
    """}}
IVY = {"layers.py": {
    "tanh_forward": """
        value = torch.tanh(x)
        return value, value
    """,
    "softplus_forward": """
        value = torch.log(1 + torch.exp(x))  # overflows for large x
        return value, x
    """,
    "tanh_backward": """
        y = cache
        grad = -dout
        grad = grad * (1 - y ** 2)
        return grad
    """,
    "relu_forward": """
        return torch.clamp(x, min=0.0), x
    """,
    "relu_backward": """
        mask = (cache > 0).to(dout.dtype)
        return dout * mask
    """}}
# task -> the diagnosis kind most of its failures must carry
DOMINANT = {"a02.affine_backward": K.MISSING_SUM, "a02.tanh_backward": K.SIGN}


@dataclass
class Classroom:
    folder: Path        # SUBMISSIONS: one folder per student, the assignment's folder inside
    gradebook: Path
    skeleton: Path      # the skeleton released to the class (the boilerplate)
    students: dict[str, str]  # student -> what they handed in


def disguised(source: str) -> str:
    """``source`` as a copier hides a copy: locals renamed, comments and layout gone, functions reversed."""
    tree = ast.parse(source)
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
        stored = sorted({n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                        - params)
        renamed = {name: f"tmp{i}_{name[::-1]}" for i, name in enumerate(stored)}
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and n.id in renamed:
                n.id = renamed[n.id]
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    tree.body = [n for n in tree.body if not isinstance(n, ast.FunctionDef)] + functions[::-1]
    return ast.unparse(tree) + "\n"


def implemented(skeleton: str, bodies: dict[str, str]) -> str:
    """The skeleton's source with each named function's body after its docstring replaced by ``bodies``' code
    (functions the skeleton lacks are added at the end)."""
    tree = ast.parse(skeleton)
    lines = skeleton.splitlines()
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    extra = []
    for name, body in sorted(bodies.items(), key=lambda kv: -defs[kv[0]].lineno if kv[0] in defs else 0):
        code = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ").splitlines()
        fn = defs.get(name)
        if fn is None:
            extra += [""] + textwrap.dedent(body).strip("\n").splitlines()
            continue
        has_doc = isinstance(fn.body[0], ast.Expr) and isinstance(getattr(fn.body[0], "value", None), ast.Constant)
        start = fn.body[1].lineno if has_doc else fn.body[0].lineno
        # the stub's "# YOUR CODE HERE" line belongs to the body too
        while start - 2 >= 0 and lines[start - 2].strip().startswith("#"):
            start -= 1
        lines[start - 1:fn.end_lineno] = code
    return "\n".join(lines + extra) + "\n"


def alternative_bodies(py: Path) -> dict[str, str]:
    """Each function of an alternative file as a body to write into the skeleton (docstrings left out)."""
    source = py.read_text()
    tree = ast.parse(source)
    bodies = {}
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
            else fn.body
        segment = "\n".join(source.splitlines()[body[0].lineno - 1:fn.end_lineno])
        bodies[fn.name] = textwrap.dedent(segment)
    return bodies


def independent(skeleton: Path, dest: Path) -> Path:
    """The skeleton with grader/quality/alternatives/ written into it: a correct solution written independently."""
    shutil.copytree(skeleton, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for py in sorted((ALTERNATIVES / AID).glob("*.py")):
        bodies = alternative_bodies(py)
        skel = (dest / py.name).read_text()
        known = {n.name for n in ast.parse(skel).body if isinstance(n, ast.FunctionDef)}
        helpers = "".join("\n\n" + _whole_function(py, name) for name in bodies if name not in known)
        (dest / py.name).write_text(implemented(skel, {k: v for k, v in bodies.items() if k in known}) + helpers)
    return dest


def _whole_function(py: Path, name: str) -> str:
    source = py.read_text()
    fn = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "\n".join(source.splitlines()[fn.lineno - 1:fn.end_lineno]) + "\n"


def with_bodies(skeleton: Path, dest: Path, files: dict[str, dict[str, str]]) -> Path:
    shutil.copytree(skeleton, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for name, bodies in files.items():
        (dest / name).write_text(implemented((dest / name).read_text(), bodies))
    return dest


def make_classroom(root: Path, solutions: Path, skeleton: Path) -> Classroom:
    folder = root / "class"
    students: dict[str, Path] = {}
    students["ann"] = Path(shutil.copytree(solutions, folder / "ann" / AID,
                                           ignore=shutil.ignore_patterns("__pycache__")))
    ben = Path(shutil.copytree(solutions, folder / "ben" / AID, ignore=shutil.ignore_patterns("__pycache__")))
    for name in ("layers.py", "mlp.py"):
        (ben / name).write_text(disguised((ben / name).read_text()))
    students["ben"] = ben
    students["cat"] = independent(skeleton, folder / "cat" / AID)
    for s in ("dan", "eve", "fay"):
        students[s] = Path(shutil.copytree(skeleton, folder / s / AID, ignore=shutil.ignore_patterns("__pycache__")))
    for s, files in (("gus", GUS), ("hal", HAL), ("ivy", IVY)):
        students[s] = with_bodies(skeleton, folder / s / AID, files)
    what = {"ann": "solutions", "ben": "ann's, disguised", "cat": "independent", "dan": "skeleton",
            "eve": "skeleton", "fay": "skeleton", "gus": "buggy", "hal": "buggy", "ivy": "buggy"}
    late = {"hal", "eve"}
    gradebook = root / "grades.sqlite"
    key = Key("deepgrade test", "public", "cpu")
    with Gradebook(gradebook) as book:
        for student, path in students.items():
            at = LATE if student in late else ON_TIME
            result = grade(path, COURSE, [AID], suite="public", device="cpu", submitted_at=at,
                           runner=_in_process())
            job = Job(student, student, "folder", f"hash-{student}", {AID: Stamp(at, "file_time")})
            book.record(job, Outcome(student, result, seconds=1.0 + len(student)),
                        [AID], key)
        # a submission that could not be graded: its row has a reason and no score
        (folder / "zed.zip").write_bytes(b"not a zip")
        job = Job("zed", "zed.zip", "zip", "", {})
        book.record(job, Outcome("zed", None, error="zed.zip is not a readable .zip archive"), [AID], key)
    return Classroom(folder, gradebook, skeleton, what)


def _in_process():
    from grader.quality.inprocess import InProcessRunner
    return InProcessRunner()
