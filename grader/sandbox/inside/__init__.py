"""What the sandboxed child runs: its driver, the wire format, isolation and the run-time guard.

Everything under this folder imports only the standard library, torch, numpy and grader.tasks.
"""
