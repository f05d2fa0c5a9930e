"""The student repository, ready to publish as a GitHub Classroom template: no reference in it.

It holds the skeletons of the available assignments (their public tests included), the public
cases frozen in ``fixtures/`` (inputs and expected outputs, so the tests run with no reference),
the grading code those tests need, a ``course.yaml`` without the hidden suite, a README for
students, the bootstrap (``dev.py``, ``constraints.txt``, a ``pyproject.toml`` that installs the
grader alone) and ``.github/workflows/grade.yml``, which grades every push and pull request.

Everything is assembled in memory and checked before a file is written: no line of a solution
block (:func:`leaks`), no hidden seed. Writing never loses work: a non-empty folder that is not a
previous export, or an export with a file changed or added since, is refused naming the files.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from grader import i18n, paths
from grader.authoring.release import ReleaseError, solution_blocks, transform
from grader.course import config
from grader.course.config import Course, LatePolicy
from grader.judge import fixtures
from grader.tasks import suites

TEMPLATE = Path(__file__).resolve().parent / "student_template"
MANIFEST = ".deepgrade-export.json"  # what the export wrote, so that the next one knows what it may replace
WORKFLOW = ".github/workflows/grade.yml"
# What the workflow trusts, hashed at export (``sha256sum -c`` format) so that its first grading step shows an
# edit of any of them: the grading code, the course, the frozen cases, what installs them, and the workflow.
TRUSTED_MANIFEST = ".github/grader.sha256"
TRUSTED_FOLDERS = ("grader/", "fixtures/")
TRUSTED_FILES = ("course.yaml", "pyproject.toml", "constraints.txt", WORKFLOW)
COPIED = ("dev.py", "constraints.txt")
# The grading code the public tests and the workflow run: the top-level modules and these packages. Left out:
# mutation testing and batch grading (they need the reference) and the rest of authoring/ (it writes from it).
GRADER_SHIPPED = ("course", "judge", "reports", "results", "sandbox", "tasks", "authoring", "locale")
AUTHORING_KEPT = ("__init__.py", "release.py", "reproduce.py")  # release's stub rules; reproduce --submission
NOT_SHIPPED = ("nbformat",)                                      # dependencies of what is left out
CACHES = {"__pycache__", ".pytest_cache", ".hypothesis"}  # anywhere: nobody's work, neither exported nor kept
KEPT_ASIDE = {".git", ".venv", "build", "plots"}           # at the top of the repository: never touched
MIN_LEAK_CHARS = 12  # code shorter than this (``return out``, ``dx = dout * sig``) says nothing of a solution
# Solution lines the grader's own code holds too, for a reason of its own (the grader ships in the repository).
SHARED = {"mask=mask.unsqueeze(1)": "a11's attention inputs broadcast a 3-D mask over the heads, as the solution does"}
SIZES = re.compile(r"[\w,]+=\w+\.shape(\[-?\d+\])?")  # ``n, c, h, w = x.shape``: sizes read, nothing solved


class StudentRepoRefused(ReleaseError):
    """Writing the student repository would overwrite or delete files it did not write; ``found`` says which."""

    def __init__(self, out: Path, found: list[str]):
        super().__init__(f"{out}: would lose work, so nothing was written: " + "; ".join(found))
        self.out, self.found = out, found

    def advice(self) -> str:
        """What ``grader release --student-repo`` says when it refused: each file it would lose."""
        return "\n".join([f"grader: release --student-repo would lose work in {self.out}, so nothing was written:"]
                         + [f"  {line}" for line in self.found]) + "\n"


@dataclass(frozen=True)
class Export:
    """What :func:`write` wrote: file -> sha256, and the figures it reports."""

    root: Path
    files: dict[str, str]
    assignments: tuple[str, ...]
    tasks: int
    fixture_bytes: int
    total_bytes: int
    removed: tuple[str, ...] = ()

    def describe(self) -> str:
        mb = 1024 * 1024
        lines = [f"wrote the student repository to {self.root}: {len(self.files)} files, "
                 f"{self.total_bytes / mb:.1f} MiB",
                 f"  assignments/  skeletons and public tests of {len(self.assignments)} assignments "
                 f"({', '.join(a.split('_', 1)[0] for a in self.assignments)})",
                 f"  fixtures/     the public cases of {self.tasks} tasks, frozen ({self.fixture_bytes / mb:.1f} MiB)",
                 "  grader/       the grading code the public tests run (no mutation testing, batch grading or "
                 "authoring)",
                 "  course.yaml   without the hidden suite; README.md for students; dev.py, constraints.txt, "
                 "pyproject.toml",
                 "  .github/workflows/grade.yml  grades every push and pull request (advisory feedback), after "
                 f"checking the grader against {TRUSTED_MANIFEST}"]
        if self.removed:
            lines.append(f"  removed {len(self.removed)} files of the previous export: {', '.join(self.removed)}")
        return "\n".join(lines)


def contents(course: Course, reference: Path = paths.REFERENCE, root: Path = paths.ROOT) -> dict[str, bytes]:
    """Every file of the student repository, by its path there (``/`` separated)."""
    ids = [a.id for a in course.assignments if a.available and (reference / a.id).is_dir()]
    files: dict[str, bytes] = {}
    for aid in ids:
        prefix = aid.split("_", 1)[0]
        for src in _tree(reference / aid):
            rel = src.relative_to(reference)
            data = src.read_bytes()
            if src.suffix == ".py":
                data = transform(data.decode("utf-8"), prefix, False, str(src)).encode("utf-8")
            files[f"assignments/{rel.as_posix()}"] = data
        cfg = course.assignment(aid)
        files[f"{fixtures.FOLDER}/{aid}/{fixtures.SUITE}.bin"] = fixtures.freeze(course, cfg, suites.load(aid))
    for src in _tree(root / "grader"):
        rel = src.relative_to(root)
        if len(rel.parts) > 2 and rel.parts[1] not in GRADER_SHIPPED \
                or rel.parts[1] == "authoring" and rel.name not in AUTHORING_KEPT or src.suffix == ".mo":
            continue
        files[rel.as_posix()] = src.read_bytes()
        if rel.parts[1] == "locale" and src.suffix == ".po":  # compiled here, the same bytes at every export
            files[rel.with_suffix(".mo").as_posix()] = i18n.compiled(src)
    for name in COPIED:
        files[name] = (root / name).read_bytes()
    files["course.yaml"] = student_course(course.path.read_text(encoding="utf-8"), str(course.path)).encode()
    files["pyproject.toml"] = _pyproject(root / "pyproject.toml").encode()
    files["README.md"] = readme(course).encode()
    files["README.zh-CN.md"] = readme(course, "zh_CN").encode()
    files[".gitignore"] = (TEMPLATE / "gitignore").read_bytes()
    files[WORKFLOW] = (TEMPLATE / "grade.yml").read_bytes()
    files[TRUSTED_MANIFEST] = trusted_manifest(files)
    return files


def trusted_manifest(files: dict[str, bytes]) -> bytes:
    """``<sha256>  <path>`` for every file the workflow trusts (:data:`TRUSTED_FOLDERS`, :data:`TRUSTED_FILES`),
    by path: what ``sha256sum -c`` reads, and what the workflow's verification step checks."""
    names = sorted(n for n in files if n.startswith(TRUSTED_FOLDERS) or n in TRUSTED_FILES)
    return "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in names).encode()


def _tree(folder: Path) -> list[Path]:
    """The files under ``folder`` that are source: no caches, no hidden files."""
    return [p for p in _files(folder) if not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def _files(root: Path) -> list[Path]:
    """Every file under ``root`` but caches, compiled files, egg-info and, at the top, the folders kept aside
    (a .git, a .venv, build outputs): those are pruned, not walked."""
    found = []
    for folder, dirs, names in os.walk(root):
        top = Path(folder) == root
        dirs[:] = sorted(d for d in dirs if d not in CACHES and not d.endswith(".egg-info")
                         and not (top and d in KEPT_ASIDE))
        found += [Path(folder) / n for n in sorted(names) if not n.endswith(".pyc")]
    return found


def student_course(text: str, file: str = "course.yaml") -> str:
    """course.yaml without the hidden suite (its lines cut out, the rest kept as written, comments too).

    Fails when what is left does not load, or still mentions the hidden seed anywhere."""
    course = config.parse(text, file)
    if "hidden" not in course.suites:
        return text
    seed = str(course.suites["hidden"].seed)
    top = yaml.compose(text, Loader=yaml.SafeLoader)
    suites_node = next(v for k, v in top.value if k.value == "suites")
    key, value = next((k, v) for k, v in suites_node.value if k.value == "hidden")
    lines = text.splitlines(keepends=True)
    out = "".join(lines[:key.start_mark.line] + lines[_last_line(value) + 1:])
    try:
        same = _unplaced(config.parse(out, file)) == \
            _unplaced(dataclasses.replace(course, suites={"public": course.suites["public"]}))
    except config.ConfigError:
        same = False
    if not same:
        raise ReleaseError(f"{file}:{key.start_mark.line + 1}: the hidden suite could not be cut out alone: write "
                           "it on lines of its own under suites")
    for n, line in enumerate(out.splitlines(), start=1):
        if re.search(rf"(?<!\d){seed}(?!\d)", line):
            raise ReleaseError(f"{file}: the student repository's course.yaml would still show the hidden seed "
                               f"{seed} (its line {n}: {line.strip()!r}); take it out of that line")
    return out


def _unplaced(course: Course) -> Course:
    """The course without the line numbers of its assignments and tasks (cutting lines moves them)."""
    return dataclasses.replace(course, assignments=tuple(
        dataclasses.replace(a, line=0, tasks=tuple(dataclasses.replace(t, line=0) for t in a.tasks))
        for a in course.assignments))


def _last_line(node: yaml.Node) -> int:
    """The line a YAML value ends on. A block mapping's own end mark is the next token, past any comment
    or blank line that follows it, so it is found from its last scalar instead."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    return end.line if end.column > 0 or end.line == node.start_mark.line else end.line - 1


def _pyproject(main: Path) -> str:
    """The student repository's pyproject: the grader's package alone, with the course's pinned dependencies."""
    project = tomllib.loads(main.read_text(encoding="utf-8"))["project"]
    names = ("pytest", "pytest-xdist")
    test = [d for d in project["optional-dependencies"]["test"] if re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] in names]
    deps = [d for d in project["dependencies"] if re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] not in NOT_SHIPPED]
    return Template((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8")).substitute(
        name=f"{project['name']}-student", version=project["version"], python=project["requires-python"],
        dependencies="\n".join(f'    "{d}",' for d in deps), test=", ".join(f'"{d}"' for d in test))


def readme(course: Course, lang: str = "en") -> str:
    """The student README (``README.md``, or ``README.zh-CN.md`` for ``zh_CN``): the workflow, the public tests,
    and the deadlines and late policy of course.yaml, with each assignment's title in that language."""
    rows = [f"| `{a.id}` | {a.title_in(lang)} | {a.max_score:g} | {_when(a.deadline, lang)} |"
            for a in course.assignments if a.available]
    template = "README.zh-CN.md" if lang == "zh_CN" else "README.md"
    return Template((TEMPLATE / template).read_text(encoding="utf-8")).substitute(
        course=course.name, cases=course.suites["public"].cases, assignments="\n".join(rows),
        late_policy=late_policy_zh(course.late_policy) if lang == "zh_CN" else late_policy(course.late_policy))


def _when(deadline: dt.datetime | None, lang: str = "en") -> str:
    if deadline is None:
        return "无" if lang == "zh_CN" else "none"
    offset = deadline.utcoffset() or dt.timedelta(0)
    return f"{deadline:%Y-%m-%d %H:%M} " + ("UTC" if not offset else f"UTC{deadline:%z}")


def late_policy(policy: LatePolicy) -> str:
    """The late policy in words, as :func:`grader.course.policy.late_penalty` applies it."""
    if not policy.penalty_per_day:
        return "Late work is not penalised."
    after = f"the deadline and a grace period of {policy.grace_minutes:g} minutes" if policy.grace_minutes \
        else "the deadline"
    return (f"Work handed in after {after} loses {policy.penalty_per_day:.0%} of the assignment's score for every "
            f"started day, and never more than {policy.cap:.0%} in all.")


def late_policy_zh(policy: LatePolicy) -> str:
    """:func:`late_policy` in Chinese, for ``README.zh-CN.md``."""
    if not policy.penalty_per_day:
        return "迟交不扣分。"
    after = f"截止时间和 {policy.grace_minutes:g} 分钟的宽限期" if policy.grace_minutes else "截止时间"
    return (f"在{after}之后提交的作业，每开始一天扣除该作业得分的 {policy.penalty_per_day:.0%}，"
            f"总共最多扣除 {policy.cap:.0%}。")


def leaks(files: dict[str, bytes], reference: Path = paths.REFERENCE) -> list[str]:
    """Where a solution shows in ``files``: a line of any solution block's body, found as a line of a file.

    Lines are compared by their code alone: the comment cut off and every space taken out, so
    re-indenting, re-spacing or re-commenting a line does not hide it. A solution line counts
    when that code is at least :data:`MIN_LEAK_CHARS` characters long, is not a mere reading of
    sizes (``n, d = x.shape``), is not also a line of the reference outside every solution block
    (the skeletons carry those by design), and is not one of the few :data:`SHARED` with the grader.
    Every file is read as text (UTF-8, undecodable bytes ignored), the frozen fixtures too."""
    secret = secret_lines(reference)
    found = []
    for name, data in sorted(files.items()):
        for n, line in enumerate(data.decode("utf-8", "ignore").splitlines(), start=1):
            key = _squash(line)
            if key in secret:
                found.append(f"{name}:{n}: a line of the solution of {secret[key]}: {line.strip()}")
    return found


def secret_lines(reference: Path = paths.REFERENCE) -> dict[str, str]:
    """Every line of a solution body that :func:`leaks` looks for (its code, squashed -> its task)."""
    solution: dict[str, str] = {}
    shown: set[str] = set()
    for py in sorted(reference.rglob("*.py")):
        aid = py.relative_to(reference).parts[0] if py.parent != reference else ""
        text = py.read_text(encoding="utf-8")
        lines = text.splitlines()
        inside: dict[int, str] = {}
        if aid:
            for b in solution_blocks(text, aid.split("_", 1)[0], str(py)):
                inside.update((i, b.task) for i in range(b.start + 1, b.end))
        for i, line in enumerate(lines):
            key = _squash(line)
            if i not in inside:
                shown.add(key)
            elif len(key) >= MIN_LEAK_CHARS and not SIZES.fullmatch(key) and key not in SHARED:
                solution.setdefault(key, inside[i])
    return {line: task for line, task in solution.items() if line not in shown}


def _squash(line: str) -> str:
    """The line's code without its comment and with no whitespace at all."""
    quote = None
    for i, ch in enumerate(line):
        if quote is None and ch == "#":
            line = line[:i]
            break
        if ch in "'\"":
            quote = None if quote == ch else ch if quote is None else quote
    return "".join(line.split())


def write(out: Path, course: Course, reference: Path = paths.REFERENCE, root: Path = paths.ROOT) -> Export:
    """Write the student repository to ``out`` (created if needed): refused, with nothing written, when
    ``out`` holds anything the previous export did not write or changed since, or when the export
    would leak a solution line or the hidden seed."""
    previous = _previous(out)
    files = contents(course, reference, root)
    problems = leaks(files, reference)
    if "hidden" in course.suites:
        seed = str(course.suites["hidden"].seed).encode()
        problems += [f"{name}: holds the hidden seed" for name, data in files.items() if seed in data]
    if problems:
        raise ReleaseError("the student repository would show what students must not see:\n  " +
                           "\n  ".join(problems))
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
    removed = tuple(sorted(set(previous) - set(files)))
    for name in removed:
        (out / name).unlink(missing_ok=True)
        _prune(out, (out / name).parent)
    manifest = {"what": "the files `grader release --student-repo` wrote here; the next export replaces only these",
                "files": dict(sorted(digests.items()))}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    ids = tuple(sorted({n.split("/")[1] for n in files if n.startswith("assignments/")}))
    fixture_bytes = sum(len(d) for n, d in files.items() if n.startswith(fixtures.FOLDER + "/"))
    tasks = sum(len(course.assignment(a).tasks) for a in ids)
    return Export(out, digests, ids, tasks, fixture_bytes, sum(len(d) for d in files.values()), removed)


def _previous(out: Path) -> dict[str, str]:
    """The files of the previous export in ``out`` (empty for a new or empty folder, or only a ``.git``);
    refuses a folder with anything else, or with an exported file changed since."""
    if out.exists() and not out.is_dir():
        raise StudentRepoRefused(out, [f"{out} is a file, not a folder"])
    if not out.is_dir():
        return {}
    manifest = out / MANIFEST
    if not manifest.is_file():
        entries = sorted(p.name for p in out.iterdir() if p.name != ".git")  # an empty repository's clone is empty
        if entries:
            raise StudentRepoRefused(out, [f"it is not empty and no student repository was exported there (it holds "
                                           f"{', '.join(entries[:10])}{', ...' if len(entries) > 10 else ''}); "
                                           "choose an empty or new folder"])
        return {}
    try:
        written = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        if not isinstance(written, dict):
            raise TypeError("its files are not a mapping")
    except (ValueError, KeyError, TypeError) as e:
        raise StudentRepoRefused(out, [f"{MANIFEST} is not readable ({type(e).__name__}), so what the export wrote "
                                       "is unknown"]) from None
    found = []
    for p in _files(out):
        rel = p.relative_to(out).as_posix()
        if rel == MANIFEST:
            continue
        if rel not in written:
            found.append(f"{rel}: not written by the export")
        elif hashlib.sha256(p.read_bytes()).hexdigest() != written[rel]:
            found.append(f"{rel}: changed since the export")
    if found:
        raise StudentRepoRefused(out, found)
    return written


def _prune(out: Path, folder: Path) -> None:
    """Remove the folders a removed file leaves empty, up to ``out``."""
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
