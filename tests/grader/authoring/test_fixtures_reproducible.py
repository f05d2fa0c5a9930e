"""Same commit, same bytes: the frozen public cases come out identical from two exports."""
from __future__ import annotations

import json
import subprocess
import sys

from grader import paths

FREEZE = """
import hashlib, json, sys
from grader.course import config
from grader import paths
from grader.judge import fixtures
from grader.tasks import suites
course = config.load(paths.COURSE)
junk = [bytearray(int(sys.argv[1])) for _ in range(3)]  # another heap layout in each process
print(json.dumps({a.id: hashlib.sha256(fixtures.freeze(course, a, suites.load(a.id))).hexdigest()
                  for a in course.assignments if a.available}))
"""


def frozen(layout: int) -> dict[str, str]:
    r = subprocess.run([sys.executable, "-c", FREEZE, str(layout)], cwd=paths.ROOT, capture_output=True, text=True,
                       timeout=900, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_two_exports_freeze_every_assignments_public_cases_to_the_same_bytes():
    first, second = frozen(1), frozen(4099)
    assert first.keys() == second.keys() and len(first) >= 13
    assert {a for a in first if first[a] != second[a]} == set()
