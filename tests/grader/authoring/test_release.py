"""Skeleton generation: solution blocks become stubs naming their task; the sync check catches drift."""
from __future__ import annotations

import shutil

import pytest

from grader import paths
from grader.authoring.release import ReleaseError, out_of_sync, release, tasks_in, transform

SOURCE = '''\
def affine_forward(x, w, b):
    """Docstring stays."""
    ### BEGIN SOLUTION
    out = x @ w + b
    ### END SOLUTION
    cache = (x, w, b)
    return out, cache


class Layer:
    def backward(self, dout):
        ### BEGIN SOLUTION
        return dout
        ### END SOLUTION
'''


def test_stub_names_the_task_and_keeps_the_rest():
    skeleton = transform(SOURCE, "a02", solutions=False)
    assert 'raise NotImplementedError("a02.affine_forward")' in skeleton
    assert '        raise NotImplementedError("a02.backward")' in skeleton  # innermost function, its indent
    assert "x @ w + b" not in skeleton and "BEGIN SOLUTION" not in skeleton
    assert '"""Docstring stays."""' in skeleton and "cache = (x, w, b)" in skeleton
    compile(skeleton, "<skeleton>", "exec")


def test_solutions_copy_keeps_code_and_drops_markers():
    filled = transform(SOURCE, "a02", solutions=True)
    assert "out = x @ w + b" in filled and "SOLUTION" not in filled
    namespace: dict = {}
    exec(compile(filled, "<solutions>", "exec"), namespace)  # the test runs its own fixture, nothing else
    import torch
    out, _ = namespace["affine_forward"](torch.ones(1, 2), torch.ones(2, 3), torch.ones(3))
    assert torch.equal(out, torch.full((1, 3), 3.0))


@pytest.mark.parametrize("source,message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "BEGIN SOLUTION without END SOLUTION"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "END SOLUTION without BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "must be inside a function"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "inside another"),
])
def test_unbalanced_markers_are_errors_with_line(source, message):
    with pytest.raises(ReleaseError, match=message):
        transform(source, "a02", solutions=False, filename="layers.py")


def test_every_configured_a02_task_has_a_solution_block():
    from grader.course import config
    course = config.load(paths.COURSE)
    declared = tasks_in(paths.REFERENCE / "a02_mlp_backprop", "a02")
    assert {t.id for t in course.assignment("a02").tasks} <= set(declared)


def test_out_of_sync_reports_changed_missing_and_extra_files(tmp_path):
    copy = tmp_path / "assignments"
    release(paths.REFERENCE, copy, ["a02_mlp_backprop"])
    assert out_of_sync(paths.REFERENCE, copy, ["a02_mlp_backprop"], tmp_path / "s1") == []
    (copy / "a02_mlp_backprop" / "layers.py").write_text("# edited by hand\n")
    (copy / "a02_mlp_backprop" / "mlp.py").unlink()
    (copy / "a02_mlp_backprop" / "notes.py").write_text("x = 1\n")
    problems = out_of_sync(paths.REFERENCE, copy, ["a02_mlp_backprop"], tmp_path / "s2")
    assert "out of date: assignments/a02_mlp_backprop/layers.py" in problems
    assert "missing from assignments/: a02_mlp_backprop/mlp.py" in problems
    assert "not generated from reference/: assignments/a02_mlp_backprop/notes.py" in problems
    shutil.rmtree(copy / "a02_mlp_backprop")
    assert out_of_sync(paths.REFERENCE, copy, ["a02_mlp_backprop"], tmp_path / "s3") == \
        ["missing from assignments/: a02_mlp_backprop/"]


def test_skeleton_keeps_signatures_and_docstrings(tmp_path):
    import ast
    release(paths.REFERENCE, tmp_path, ["a02_mlp_backprop"])
    for name in ("layers.py", "mlp.py"):
        ref = ast.parse((paths.REFERENCE / "a02_mlp_backprop" / name).read_text())
        skel = ast.parse((tmp_path / "a02_mlp_backprop" / name).read_text())
        sig = {f.name: (ast.unparse(f.args), ast.get_docstring(f)) for f in ast.walk(ref) if isinstance(f, ast.FunctionDef)}
        sig2 = {f.name: (ast.unparse(f.args), ast.get_docstring(f)) for f in ast.walk(skel) if isinstance(f, ast.FunctionDef)}
        assert sig == sig2
