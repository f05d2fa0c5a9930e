"""Where the course lives: defaults for the CLI, in one place."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course.yaml"
REFERENCE = ROOT / "reference"
ASSIGNMENTS = ROOT / "assignments"
