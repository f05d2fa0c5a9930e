"""A submitted notebook read as files: what its ``%%writefile <id>/<module>.py`` cells write.

The course's notebooks (``grader release --notebooks``) hold each module in a solution cell that
writes it with ``%%writefile``; the grader grades those files in the sandbox, as it grades ``.py``
files. Only these cells are read: grading runs the written modules, never the notebook, so
other code cells (imports, experiments, the grade cells) are not run. The file is read as JSON
and checked only as far as grading needs (nbformat 4, code cells with their source): a
notebook that fails that is an error that says why, never a notebook with nothing in it.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.i18n import _

MAX_BYTES = 64 * 2**20  # a notebook is source code and its outputs; past this, clear the outputs


class NotebookError(ValueError):
    """The notebook cannot be read: the message says why, for the student."""


@dataclass
class Notebook:
    """The files a notebook's ``%%writefile`` cells write, as running its cells in order would leave them."""

    path: Path
    files: dict[str, str] = field(default_factory=dict)  # "a01_neurons/units.py" -> source

    def assignments(self) -> set[str]:
        """The assignment folders its cells write modules into."""
        return {name for name, _ in self._modules()}

    def modules(self, aid: str) -> dict[str, str]:
        """``{"units": source}``: the modules it writes into ``aid/``."""
        return {module: self.files[f"{name}/{module}.py"] for name, module in self._modules() if name == aid}

    def _modules(self) -> list[tuple[str, str]]:
        found = []
        for path in self.files:
            parts = PurePosixPath(path).parts
            if len(parts) == 2 and parts[1].endswith(".py") and parts[1][:-3].isidentifier():
                found.append((parts[0], parts[1][:-3]))
        return found


def read(path: Path) -> Notebook:
    """The notebook at ``path``; :class:`NotebookError` when it is not one the grader can read."""
    if path.stat().st_size > MAX_BYTES:
        raise NotebookError(_("larger than {n} MiB (clear its outputs and save it again)", n=MAX_BYTES // 2**20))
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise NotebookError(_("not UTF-8 text (byte {at}): a notebook is a JSON file", at=e.start)) from None
    except json.JSONDecodeError as e:
        raise NotebookError(_("not valid JSON (line {line}, column {column}: {why}): was it saved completely?",
                              line=e.lineno, column=e.colno, why=e.msg)) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookError(_("JSON, but not a notebook (no 'nbformat' field)"))
    if data["nbformat"] != 4:
        raise NotebookError(_("nbformat {version}; the grader reads nbformat 4 (open and save it in Jupyter to "
                              "convert it)", version=repr(data["nbformat"])))
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(_("nbformat 4, but its 'cells' is not a list"))
    notebook = Notebook(path)
    for i, cell in enumerate(cells):
        source = _source(cell, i)
        if source is not None:
            _run_writefile(notebook, source)
    return notebook


def _source(cell: object, i: int) -> str | None:
    """A code cell's source as one string (None for other cells)."""
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        raise NotebookError(_("cell {n} is not a cell (no 'cell_type')", n=i + 1))
    if cell["cell_type"] != "code":
        return None
    source = cell.get("source")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if not isinstance(source, str):
        raise NotebookError(_("code cell {n} has no text 'source'", n=i + 1))
    return source


def _run_writefile(notebook: Notebook, source: str) -> None:
    """What ``%%writefile [-a] PATH`` does to ``notebook.files``: the cell's body after its first line,
    written or appended. Leading blank lines are allowed, as IPython allows them."""
    lines = source.lstrip("\n").split("\n", 1)
    if not lines[0].startswith("%%writefile"):
        return
    try:
        words = shlex.split(lines[0])
    except ValueError:
        return  # IPython would refuse the line too: nothing is written
    names = [w for w in words[1:] if not w.startswith("-")]
    if words[0] != "%%writefile" or len(names) != 1:
        return
    append = any(w in ("-a", "--append") for w in words[1:])
    key = "/".join(p for p in PurePosixPath(names[0]).parts if p != ".")
    body = lines[1] if len(lines) > 1 else ""
    notebook.files[key] = (notebook.files.get(key, "") if append else "") + body
