"""Where the course lives: defaults for the CLI, in one place."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course.yaml"
REFERENCE = ROOT / "reference"
ASSIGNMENTS = ROOT / "assignments"

CACHE_ENV = "DEEPGRADE_CACHE_DIR"  # where the grader keeps what it computed once (the reference's outputs)


def cache_dir() -> Path:
    """The instructor's cache folder: ``$DEEPGRADE_CACHE_DIR``, else ``$XDG_CACHE_HOME/deepgrade``, else
    ``~/.cache/deepgrade`` (the XDG base directory rules: a relative ``XDG_CACHE_HOME`` is ignored)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "deepgrade"
