"""A scan child's ``serve`` that fails the way the request's "fault" says (tests/grader/judge/test_scanning.py)."""
from __future__ import annotations

import json
import os
import time


def serve(request_fd: int, response_fd: int) -> None:
    with os.fdopen(request_fd, "rb") as f:
        fault = json.loads(f.read())["fault"]
    if fault == "dies":
        os._exit(3)
    if fault == "hangs":
        time.sleep(3600)
    with os.fdopen(response_fd, "wb") as f:
        f.write(b'{"found": "not a list"}' if fault == "nonsense" else b'{"error": "Traceback: it raised"}')
