"""The fork server starts before the grader imports torch, and the child never sees the instructor's cache."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from grader import paths
from grader.sandbox import bundle as bundles
from grader.sandbox import warm

pytestmark = pytest.mark.skipif(not warm.available(), reason="the fork server needs Linux with pidfds")


def test_grade_orders_the_fork_server_before_it_imports_torch(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from grader import cli
        from grader.sandbox import warm
        seen = []
        real = warm.start_now
        warm.start_now = lambda: seen.append("torch" in sys.modules) or real()
        code = cli.main(["grade", {str(paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop")!r}, "-q"])
        print(seen, code, warm._server is not None and warm._server.ready)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **{paths.CACHE_ENV: str(tmp_path / "cache")}))
    assert done.stdout.split()[-3:] == ["[False]", "0", "True"], done.stderr[-2000:]  # ordered first; then used


def test_the_warm_modules_import_no_torch():
    done = subprocess.run([sys.executable, "-c", "import sys, grader.sandbox.warm; print('torch' in sys.modules)"],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_a_server_started_now_is_waited_for_when_used_and_ended_at_once_when_not():
    warm.shutdown()
    warm.start_now()
    started = warm._server
    assert started is not None and not started.ready  # ordered, not waited for
    assert warm.server() is started and started.ready and started.alive()
    warm.shutdown()
    warm.start_now()
    unused = warm._server
    warm.shutdown()  # never used: killed rather than waited for
    assert unused.proc.poll() is not None


def test_the_cache_folder_is_hidden_from_the_child():
    assert str(paths.cache_dir()) in bundles.hidden()
