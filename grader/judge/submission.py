"""Finding the assignments in what a student hands in: a folder, a course folder, a repository, or a .zip.

An assignment's folder is found by its id (``a02_mlp_backprop/``) at the top, or one level down
(a repository root, a zip's top folder). With one assignment asked for by name, a folder of
the assignment's files under any name is graded as that assignment. Symlinked folders are
never followed: a link could point at the reference.
"""
from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.course.config import AssignmentConfig
from grader.judge.cases import GradingError

ZIP_MAX_BYTES = 256 * 2**20  # unpacked; a submission is source code
ZIP_MAX_FILES = 10_000


@dataclass
class Submission:
    """Where each assignment's folder is (None: not found), and what is there to say so."""

    root: Path
    folders: dict[str, Path | None] = field(default_factory=dict)
    unpacked: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self.unpacked is not None:
            self.unpacked.cleanup()

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_submission(path: Path, wanted: list[AssignmentConfig], named: bool,
                    files: dict[str, list[str]] | None = None) -> Submission:
    """Locate ``wanted``'s folders in ``path``. ``named``: the assignments were asked for by name;
    ``files``: each assignment's module names, by which a folder under another name is recognised."""
    zipped = path.is_file() and zipfile.is_zipfile(path)
    if path.is_file() and not zipped:
        raise GradingError(f"{path} is a file, not a folder or a .zip: give the folder that holds the assignment "
                           f"(e.g. {wanted[0].id if wanted else 'a02_mlp_backprop'}/) or a .zip of it")
    if not zipped and not path.is_dir():
        raise GradingError(f"no such folder: {path}")
    unpacked = tempfile.TemporaryDirectory(prefix="submission-") if zipped else None
    root = Path(unpacked.name) if unpacked is not None else path
    sub = Submission(root, {}, unpacked)
    try:
        if zipped:
            _unzip(path, root)
        for cfg in wanted:
            sub.folders[cfg.id] = _find(root, cfg.id)
        only = wanted[0].id if len(wanted) == 1 else None
        if only and named and sub.folders[only] is None and _holds(root, (files or {}).get(only, [])):
            sub.folders[only] = root  # a folder of its files, under another name
        if wanted and all(f is None for f in sub.folders.values()):
            raise GradingError(_nothing_found(path, root, wanted))
    except BaseException:
        sub.close()
        raise
    return sub


def _find(root: Path, aid: str) -> Path | None:
    if root.name == aid and _real_dir(root):
        return root
    if _real_dir(root / aid):
        return root / aid
    below = [c / aid for c in sorted(root.iterdir()) if _real_dir(c) and _real_dir(c / aid)] if _real_dir(root) \
        else []
    if len(below) > 1:
        places = ", ".join(f"{b.parent.name}/" for b in below)
        raise GradingError(f"{root} holds {aid}/ in several places ({places}): "
                           f"give the one to grade")
    return below[0] if below else None


def _real_dir(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink()


def _holds(folder: Path, modules: list[str]) -> bool:
    """Whether ``folder`` holds one of the assignment's files (``layers.py``)."""
    return _real_dir(folder) and any((folder / f"{m}.py").is_file() for m in modules)


def _shown(p: Path) -> str:
    return p.name + (" (a symbolic link, never followed)" if p.is_symlink() else "/" if p.is_dir() else "")


def _nothing_found(path: Path, root: Path, wanted: list[AssignmentConfig]) -> str:
    if root.is_symlink():
        return f"{path} is a symbolic link, never followed (it could point at the reference): give the folder itself"
    held = sorted(_shown(p) for p in root.iterdir())[:12] if root.is_dir() else []
    expected = ", ".join(f"{c.id}/" for c in wanted[:4]) + (" ..." if len(wanted) > 4 else "")
    holds = f"it holds {', '.join(held)}" if held else "it is empty"
    return (f"no assignment found in {path} ({holds}); expected a folder named {expected}, at the top or one "
            f"level down, or the assignment's files with --assignment")


def _unzip(archive: Path, dest: Path) -> None:
    """Unpack regular files only, inside ``dest``: no absolute paths, no ``..``, no links, bounded size."""
    total = 0
    with zipfile.ZipFile(archive) as z:
        members = z.infolist()
        if len(members) > ZIP_MAX_FILES:
            raise GradingError(f"{archive}: more than {ZIP_MAX_FILES} files")
        for m in members:
            name = PurePosixPath(m.filename)
            kind = stat.S_IFMT(m.external_attr >> 16)
            if name.is_absolute() or ".." in name.parts or (kind and kind not in (stat.S_IFREG, stat.S_IFDIR)):
                continue  # a link or a path outside the folder is no part of a submission
            if "__MACOSX" in name.parts:
                continue
            total += m.file_size
            if total > ZIP_MAX_BYTES:
                raise GradingError(f"{archive}: unpacks to more than {ZIP_MAX_BYTES // 2**20} MiB")
            target = dest.joinpath(*name.parts)
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
