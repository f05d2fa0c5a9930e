"""Gradescope's autograder zip: the grader, the reference and course.yaml, with the two scripts it runs.

``setup.sh`` builds the image once (Python 3.11+ and the pinned toolchain in ``/autograder/venv``);
``run_autograder`` grades ``/autograder/submission`` on every suite, in the sandbox, into
``/autograder/results/results.json``, applying the late policy to the submission's time from
``submission_metadata.json``. ``AUTOGRADER_ROOT`` and ``AUTOGRADER_PYTHON`` point it elsewhere
(the tests run it against a folder laid out like ``/autograder``).
"""
from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

from grader import paths
from grader.i18n import N_

SOURCES = ("grader", "reference")                          # packages, copied without caches
FILES = ("pyproject.toml", "constraints.txt", "README.md")  # what `pip install -e .` reads
STAMP = (2027, 1, 1, 0, 0, 0)                              # every entry's time: the same zip for the same files

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, building the autograder's image: Python 3.11+ and the pinned toolchain.
set -euo pipefail
cd /autograder/source
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
if ! "$PY" -m venv /autograder/venv; then
    apt-get update
    apt-get install -y "$(basename "$PY")-venv"
    "$PY" -m venv /autograder/venv
fi
/autograder/venv/bin/pip install --disable-pip-version-check -c constraints.txt -e .
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it into results/results.json, whatever happens.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
export PYTHONPATH="$ROOT/source"
args=(grade "$ROOT/submission" --suite all --format gradescope --output "$RESULTS"__ASSIGNMENTS__)
# The submission's time is Gradescope's, outside what the student uploaded: submission_metadata.json's
# created_at. Metadata that is there but cannot be read is an error, never an on-time submission.
log=$(mktemp)
status=0
if [ -e "$ROOT/submission_metadata.json" ]; then
    submitted=$("$PYTHON" -I - "$ROOT/submission_metadata.json" 2> "$log" <<'EOF'
import datetime, json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        created = json.load(f)["created_at"]
    if datetime.datetime.fromisoformat(created).tzinfo is None:
        raise ValueError(f"{created!r} has no time zone")
except (OSError, ValueError, KeyError, TypeError) as e:
    sys.exit(f"grader: submission_metadata.json: no readable created_at ({type(e).__name__}: {e}), "
             "so the submission's time is unknown")
print(created)
EOF
) || status=2
    args+=(--submitted-at "$submitted" --time-source gradescope_metadata)
fi
if [ "$status" -eq 0 ]; then
    "$PYTHON" -m grader "${args[@]}" 2> "$log"
    status=$?
fi
cat "$log" >&2
if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    # Exit 2 says in one line why nothing could be graded (no assignment's files, a bad zip): say it to the student.
    "$PYTHON" - "$log" "$RESULTS" "$status" <<'EOF'
import contextlib, json, sys
try:  # in the student's language: the environment's, else course.yaml's, as the grader chooses it
    from grader import i18n
    from grader.course import config
    words = i18n.using(i18n.choose(None, config.load_partly("course.yaml")[0].language))
    _ = i18n._
except Exception:  # a grader or course.yaml that does not load: English, as written here
    words, _ = contextlib.nullcontext(), lambda text, **values: text.format(**values)
lines = [l for l in open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines() if l.strip()]
with words:
    reason = lines[-1] if lines else _("the grader stopped with status {status}", status=sys.argv[3])
    output = _("Your submission could not be graded: {reason}", reason=reason)
json.dump({"score": 0.0, "output": output, "stdout_visibility": "hidden", "tests": []},
          open(sys.argv[2], "w", encoding="utf-8"))
EOF
fi
rm -f "$log"
exit 0
"""
# What run_autograder's last step says, in the catalogue (the step translates them where the grader loads)
SAID = (N_("the grader stopped with status {status}"), N_("Your submission could not be graded: {reason}"))


def _add(z: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    z.writestr(info, data)


def bundle(out: Path, course: Path = paths.COURSE, assignments: list[str] | None = None) -> list[str]:
    """Write the autograder zip to ``out``; ``assignments``: grade only these (a submission that is one
    assignment's files, uploaded as they are). Returns the names it holds."""
    run = RUN.replace("__ASSIGNMENTS__", "".join(f" --assignment {shlex.quote(a)}" for a in assignments or ()))
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w") as z:
        _add(z, "setup.sh", SETUP.encode(), executable=True)
        _add(z, "run_autograder", run.encode(), executable=True)
        _add(z, "course.yaml", course.read_bytes())
        names += ["setup.sh", "run_autograder", "course.yaml"]
        for name in FILES:
            _add(z, name, (paths.ROOT / name).read_bytes())
            names.append(name)
        for package in SOURCES:
            for path in sorted((paths.ROOT / package).rglob("*")):
                rel = path.relative_to(paths.ROOT)
                if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".mo") \
                        and not any(p.startswith(".") for p in rel.parts):
                    _add(z, rel.as_posix(), path.read_bytes())
                    names.append(rel.as_posix())
    return names
