"""Running a submission: the Runner interface (runner.py) and the sandbox's host side: isolation levels
(levels.py), a child's resource limits (limits.py) and bundle (bundle.py), the child process (process.py),
the runner session (session.py, with :func:`grader.sandbox.session.runner_for`), the fork server (warm.py),
and which of a submission's modules a file imports (resolve.py).

``inside/`` is exactly what the sandboxed child runs.
"""
