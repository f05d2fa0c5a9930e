"""Finding the assignments in what a student hands in: a folder, a course folder, a repository, a .zip, a notebook.

An assignment's folder is found by its id (``a02_mlp_backprop/``) at the top, or one level down
(a repository root, a zip's top folder). With one assignment asked for by name, a folder of
the assignment's files under any name is graded as that assignment. Symlinked folders, and
symlinked notebooks inside a submission, are never followed: a link could point at the reference.

A notebook stands in for an assignment's ``.py`` files where they are not there: ``<id>.ipynb``
(or the one notebook whose ``%%writefile <id>/<module>.py`` cells name the assignment) in the
assignment's folder, or, without that folder, at the top or one level down; or the notebook
itself, given as the submission. The modules its cells write are graded
(:mod:`grader.judge.notebook`), from a temporary folder; a notebook that cannot be read makes
its assignment an error that says why, and the others are graded.
"""
from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.course.config import AssignmentConfig
from grader.judge import notebook
from grader.i18n import _
from grader.judge.cases import GradingError
from grader.results import AssignmentError

ZIP_MAX_BYTES = 256 * 2**20  # unpacked; a submission is source code
ZIP_MAX_FILES = 10_000

Read = dict[Path, notebook.Notebook | notebook.NotebookError]  # each notebook looked at, read once


@dataclass
class Submission:
    """Where each assignment's folder is (None: not found), and what is there to say so."""

    root: Path
    folders: dict[str, Path | None] = field(default_factory=dict)
    unpacked: tempfile.TemporaryDirectory | None = None
    notes: dict[str, str] = field(default_factory=dict)  # how an assignment was read, when not from .py files
    problems: dict[str, tuple[AssignmentError, str]] = field(default_factory=dict)  # why it cannot be graded
    written: tempfile.TemporaryDirectory | None = None  # the modules notebooks write

    def close(self) -> None:
        for folder in (self.unpacked, self.written):
            if folder is not None:
                folder.cleanup()

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_submission(path: Path, wanted: list[AssignmentConfig], named: bool,
                    files: dict[str, list[str]] | None = None) -> Submission:
    """Locate ``wanted``'s folders in ``path``. ``named``: the assignments were asked for by name;
    ``files``: each assignment's module names, by which a folder under another name is recognised
    and without which a notebook stands in for it."""
    given = _is_notebook(path)
    zipped = path.is_file() and not given and zipfile.is_zipfile(path)
    if path.is_file() and not zipped and not given:
        raise GradingError(_("{path} is a file, not a folder, a notebook or a .zip: give the folder that holds the "
                             "assignment (e.g. {example}/), its notebook or a .zip of it", path=path,
                             example=wanted[0].id if wanted else "a02_mlp_backprop"))
    if not zipped and not given and not path.is_dir():
        raise GradingError(_("no such folder: {path}", path=path))
    unpacked = tempfile.TemporaryDirectory(prefix="submission-") if zipped else None
    root = Path(unpacked.name) if unpacked is not None else path
    sub = Submission(root, {}, unpacked)
    try:
        if zipped:
            _unzip(path, root)
        for cfg in wanted:
            sub.folders[cfg.id] = None if given else _find(root, cfg.id)
        only = wanted[0].id if len(wanted) == 1 else None
        if only and named and sub.folders[only] is None and _holds(root, (files or {}).get(only, [])):
            sub.folders[only] = root  # a folder of its files, under another name
        _notebooks_for(sub, wanted, files or {}, own=bool(only and named) or (given and len(wanted) == 1))
        if wanted and all(f is None for f in sub.folders.values()) and not sub.problems:
            raise GradingError(_nothing_in_notebook(path, named) if given else
                               _nothing_found(path, root, wanted, named, files or {}))
    except BaseException:
        sub.close()
        raise
    return sub


def assignment_named(path: Path, ids: list[str]) -> str | None:
    """The one assignment ``path`` is named after: a folder ``a02_mlp_backprop/``, a notebook
    ``a02_mlp_backprop.ipynb``, or a notebook whose ``%%writefile`` cells write that one's modules only."""
    if not _is_notebook(path):
        return path.name if path.name in ids else None
    if path.stem in ids:
        return path.stem
    try:
        named = notebook.read(path).assignments() & set(ids)
    except (notebook.NotebookError, OSError):
        return None
    return named.pop() if len(named) == 1 else None


def _is_notebook(path: Path) -> bool:
    return path.suffix == ".ipynb" and path.is_file()


def _notebooks_for(sub: Submission, wanted: list[AssignmentConfig], files: dict[str, list[str]], own: bool) -> None:
    """Each assignment with none of its ``.py`` files: the notebook that stands in for it, if any, read."""
    read: Read = {}
    for cfg in wanted:
        folder = sub.folders[cfg.id]
        if folder is not None and _holds(folder, files.get(cfg.id, [])):
            continue
        if folder is None and sub.root.is_file():  # the notebook handed in
            chosen = _pick([sub.root], cfg.id, own, read, sub.root.parent)
        else:
            chosen = _notebook_in(sub.root, folder, cfg.id, own or folder is not None, read)
        if chosen is not None:
            _use(sub, cfg.id, chosen, _read(chosen, read), files.get(cfg.id, []))


def _notebook_in(root: Path, folder: Path | None, aid: str, own: bool, read: Read) -> Path | None:
    """The notebook for ``aid`` in its folder, or without one at the top or one level down."""
    if folder is not None:
        levels = [[folder]]
    elif _real_dir(root):
        levels = [[root], [c for c in sorted(root.iterdir()) if _real_dir(c) and not c.name.startswith((".", "__"))]]
    else:
        levels = []
    for places in levels:
        candidates = [p for place in places for p in sorted(place.glob("*.ipynb"))
                      if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]
        found = _pick(candidates, aid, own and len(places) == 1, read, root)
        if found is not None:
            return found
    return None


def _pick(candidates: list[Path], aid: str, own: bool, read: Read, root: Path) -> Path | None:
    """``<aid>.ipynb``; else the notebook whose cells write ``aid``'s modules; else, where ``own``, the
    only notebook there is. Two that fit equally are refused, as two folders are."""
    fits = [p for p in candidates if p.stem == aid] or \
        [p for p in candidates if isinstance(_read(p, read), notebook.Notebook) and aid in read[p].assignments()]
    if not fits and own and len(candidates) == 1:
        fits = candidates
    if len(fits) > 1:
        names = ", ".join(str(p.relative_to(root)) for p in fits)
        raise GradingError(_("{root} holds several notebooks for {aid} ({names}): give the one to grade", root=root,
                             aid=aid, names=names))
    return fits[0] if fits else None


def _read(path: Path, read: Read) -> notebook.Notebook | notebook.NotebookError:
    if path not in read:
        try:
            read[path] = notebook.read(path)
        except notebook.NotebookError as e:
            read[path] = e
        except OSError as e:
            read[path] = notebook.NotebookError(_("cannot be opened ({why})", why=e.strerror))
    return read[path]


def _use(sub: Submission, aid: str, path: Path, found: notebook.Notebook | notebook.NotebookError,
         modules: list[str]) -> None:
    """Grade ``aid`` from the modules the notebook writes, written to a folder of its own; or say why not."""
    if isinstance(found, notebook.NotebookError):
        sub.folders[aid] = None
        sub.problems[aid] = (AssignmentError.NOTEBOOK_UNREADABLE, _("{name} cannot be read: {why}", name=path.name,
                                                                      why=found))
        return
    written = found.modules(aid)
    if not written:
        others = sorted(found.files)
        what = _("its %%writefile cells write {files}", files=", ".join(others[:4])) \
            + (" ..." if len(others) > 4 else "") if others else _("it has no %%writefile cell")
        example = f"%%writefile {aid}/{modules[0]}.py" if modules else f"%%writefile {aid}/<module>.py"
        sub.folders[aid] = None
        sub.problems[aid] = (AssignmentError.FILES_MISSING,
                             _("{name} writes none of {aid}'s files ({what}): the grader grades the files a "
                               "notebook's cells write, each cell starting `{example}`", name=found.path.name, aid=aid,
                               what=what, example=example))
        return
    if sub.written is None:
        sub.written = tempfile.TemporaryDirectory(prefix="notebooks-")
    folder = Path(sub.written.name) / aid
    folder.mkdir()
    for module, source in written.items():
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
    sub.folders[aid] = folder
    lacking = [f"{m}.py" for m in modules if m not in written]
    sub.notes[aid] = (_("graded from {name}: the files its %%writefile cells write ({files}); its other cells are "
                        "not run", name=found.path.name, files=", ".join(f"{m}.py" for m in sorted(written)))
                      + (_("; it writes no {files}", files=", ".join(lacking)) if lacking else ""))


def _find(root: Path, aid: str) -> Path | None:
    if root.name == aid and _real_dir(root):
        return root
    if _real_dir(root / aid):
        return root / aid
    below = [c / aid for c in sorted(root.iterdir()) if _real_dir(c) and _real_dir(c / aid)] if _real_dir(root) \
        else []
    if len(below) > 1:
        places = ", ".join(f"{b.parent.name}/" for b in below)
        raise GradingError(_("{root} holds {aid}/ in several places ({places}): give the one to grade", root=root,
                             aid=aid, places=places))
    return below[0] if below else None


def _real_dir(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink()


def _holds(folder: Path, modules: list[str]) -> bool:
    """Whether ``folder`` holds one of the assignment's files (``layers.py``)."""
    return _real_dir(folder) and any((folder / f"{m}.py").is_file() for m in modules)


def _listed_name(p: Path) -> str:
    """How a file of the submission is named in a list of what it holds: ``layers.py``, ``a02/``."""
    return p.name + (_(" (a symbolic link, never followed)") if p.is_symlink() else "/" if p.is_dir() else "")


def _nothing_found(path: Path, root: Path, wanted: list[AssignmentConfig], named: bool,
                   files: dict[str, list[str]]) -> str:
    """Why nothing of ``wanted`` is in ``path``. Where the assignment was named (a Gradescope upload, a
    workflow), the reader is a student who cannot pass options: say what to hand in, never a flag."""
    if root.is_symlink():
        return _("{path} is a symbolic link, never followed (it could point at the reference): give the folder "
                 "itself", path=path)
    held = sorted(_listed_name(p) for p in root.iterdir())[:12] if root.is_dir() else []
    expected = ", ".join(f"{c.id}/" for c in wanted[:4]) + (" ..." if len(wanted) > 4 else "")
    holds = _("it holds {names}", names=", ".join(held)) if held else _("it is empty")
    if named:
        modules = sorted({f"{m}.py" for c in wanted for m in files.get(c.id, [])})
        return (_("no assignment found in {name} ({holds}); hand in the folder {expected} or its files",
                  name=path.name, holds=holds, expected=expected)
                + (f" ({', '.join(modules)})" if modules else ""))
    return _("no assignment found in {path} ({holds}); expected a folder named {expected}, at the top or one level "
             "down, or the assignment's files with --assignment", path=path, holds=holds, expected=expected)


def _nothing_in_notebook(path: Path, named: bool = False) -> str:
    try:
        found = notebook.read(path)
    except notebook.NotebookError as e:
        return _("{name} cannot be read: {why}", name=path.name, why=e)
    written = sorted(found.files)
    what = _("its %%writefile cells write {files}", files=", ".join(written[:4])) if written \
        else _("it has no %%writefile cell")
    return (_("no assignment found in {name} ({what}); the course's notebooks write each module with a cell "
              "starting `%%writefile <assignment>/<module>.py`", name=path.name, what=what)
            + ("" if named else _("; or name the assignment with --assignment")))


def _unzip(archive: Path, dest: Path) -> None:
    """Unpack regular files only, inside ``dest``: no absolute paths, no ``..``, no links, bounded size."""
    total = 0
    with zipfile.ZipFile(archive) as z:
        members = z.infolist()
        if len(members) > ZIP_MAX_FILES:
            raise GradingError(_("{archive}: more than {n} files", archive=archive, n=ZIP_MAX_FILES))
        for m in members:
            name = PurePosixPath(m.filename)
            kind = stat.S_IFMT(m.external_attr >> 16)
            if name.is_absolute() or ".." in name.parts or (kind and kind not in (stat.S_IFREG, stat.S_IFDIR)):
                continue  # a link or a path outside the folder is no part of a submission
            if "__MACOSX" in name.parts:
                continue
            total += m.file_size
            if total > ZIP_MAX_BYTES:
                raise GradingError(_("{archive}: unpacks to more than {n} MiB", archive=archive, n=ZIP_MAX_BYTES // 2**20))
            target = dest.joinpath(*name.parts)
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
