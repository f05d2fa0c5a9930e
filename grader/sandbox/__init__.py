"""Running a submission: the Runner interface, the sandbox (host side) and the static banned-operation scan.

``inside/`` is exactly what the sandboxed child runs.
"""
