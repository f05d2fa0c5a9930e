"""A scan child's ``serve`` that fails the way the request's "fault" says (tests/grader/judge/test_scanning.py)."""
from __future__ import annotations

import json
import os
import time


def serve(request_fd: int, response_fd: int) -> None:
    with os.fdopen(request_fd, "rb") as requests, os.fdopen(response_fd, "wb") as answers:
        while len(size := requests.read(8)) == 8:
            fault = json.loads(requests.read(int.from_bytes(size, "big")))["fault"]
            if fault == "dies":
                os._exit(3)
            if fault == "hangs":
                time.sleep(3600)
            data = b'{"found": "not a list"}' if fault == "nonsense" else b'{"error": "Traceback: it raised"}'
            answers.write(len(data).to_bytes(8, "big") + data)
            answers.flush()
