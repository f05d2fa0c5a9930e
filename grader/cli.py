"""The ``grader`` command: argument parsing and dispatch over the typed API, one ``cmd_*`` per command
(grade, batch, watch, sandbox, release, reproduce, audit, validate, export, insights, gradescope-bundle).

What the commands show while they work is :mod:`grader.reports.progress`; what they print is rendered
in :mod:`grader.reports`."""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import faulthandler
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from grader import i18n, paths
from grader.reports import FORMATS, GRADING_FORMATS, render
from grader.reports.progress import batch_progress, progress
from grader.results import KILL_RATE_FAIL_UNDER, AssignmentError, UnreadableReports, read_reports

def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def cmd_grade(args: argparse.Namespace) -> int:
    from grader.course import config
    from grader.judge.cases import GradingError
    from grader.judge.pipeline import grade
    from grader.judge.submission import assignment_named
    from grader.sandbox.levels import IsolationRefused
    from grader.sandbox.session import runner_for

    course = config.load(args.course)
    submitted = None
    if args.submitted_at:
        try:
            submitted = dt.datetime.fromisoformat(args.submitted_at)
        except ValueError:
            raise SystemExit(f"grader: --submitted-at: not an ISO 8601 date-time: {args.submitted_at}") from None
        if submitted.tzinfo is None:
            raise SystemExit("grader: --submitted-at needs a time zone, e.g. 2027-02-16T10:00:00+00:00")
    elif args.time_source != "option":
        raise SystemExit("grader: --time-source says where --submitted-at was read: give --submitted-at too")
    if args.format == "html" and not args.output:
        raise SystemExit("grader: --format html writes a page: give it a file with --output FILE")
    steps = len(args.assignment) if args.assignment else \
        1 if assignment_named(Path(args.path), [a.id for a in course.assignments]) else \
        sum(a.available for a in course.assignments)  # the steps the bar counts: one per assignment graded
    try:
        device = course.device(args.device)
        runner = runner_for(device, args.isolation, args.require_isolation, args.isolation_via)
    except config.SelectionError as e:
        raise GradingError(str(e)) from None
    except IsolationRefused as e:
        raise GradingError(f"grading refused: {e}") from None
    started = time.monotonic()
    with progress(args.quiet, steps) as (report, _):
        result = grade(args.path, course, args.assignment, args.suite, device, submitted, progress=report,
                       runner=runner, jobs=args.jobs, every=args.every_assignment)
    if result.late is not None:
        result.late = dataclasses.replace(result.late, time_source=args.time_source)
    color = args.format == "text" and not args.output and sys.stdout.isatty()
    _emit(render(result, args.format, color=color, seconds=time.monotonic() - started,
                 every_task=not args.passed_in_one_row), args.output)
    unreadable = [a for a in result.assignments if a.error == AssignmentError.NOTEBOOK_UNREADABLE]
    if unreadable:  # the same input exits the same way whether or not --assignment named it
        print(f"grader: {unreadable[0].message}", file=sys.stderr)
        return 2
    if args.fail_under is not None and 100.0 * result.fraction < args.fail_under:
        print(f"grader: score {100.0 * result.fraction:.1f}% is under --fail-under {args.fail_under:g}%",
              file=sys.stderr)
        return 1
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from grader.batch import run
    from grader.batch.gradebook import Gradebook
    from grader.batch.jobs import BatchError
    from grader.course import config

    course = config.load(args.course)
    if args.scheduler and args.executor != "dask":
        raise SystemExit("grader: --scheduler is the address of a Dask scheduler: give it with --executor dask")
    if args.scheduler and args.jobs is not None:
        raise SystemExit("grader: --jobs sizes the local pool or a local Dask cluster; with --scheduler, "
                         "the cluster's workers decide")
    try:
        settings = run.settle(course, args.assignment, args.suite, args.device, args.executor,
                              args.require_isolation, args.isolation_via)
        settings = dataclasses.replace(settings, language=i18n.current())  # the workers write the same language
        if not Path(args.submissions).is_dir():  # before the gradebook: a typo creates nothing
            raise BatchError(f"{args.submissions}: no such folder")
        with Gradebook(Path(args.gradebook)) as book:
            worklist = run.plan(Path(args.submissions), settings, book, args.force, args.times == "nbgrader")
            pool, settings = run.launch(args.executor, args.jobs or os.cpu_count() or 1, settings, worklist,
                                        args.scheduler)
            try:
                with batch_progress(args.quiet, len(worklist.todo), pool.in_flight) as advance:
                    summary = run.execute(worklist, book, pool, settings, advance)
            finally:
                pool.close()
    except BatchError as e:
        raise SystemExit(f"grader: {e}") from None
    except KeyboardInterrupt:
        print("grader: interrupted; every submission graded so far is in the gradebook: run the same command "
              "again to grade the rest", file=sys.stderr)
        return 130
    sys.stdout.write(summary.describe())
    return 1 if summary.failed else 0


def cmd_watch(args: argparse.Namespace) -> int:
    from grader.course import config
    from grader.watch import watch

    def out(text: str) -> None:
        print(text, flush=True)

    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID` shows where a long-running watch is, without stopping it
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    return watch(Path(args.folder), config.load(args.course), args.assignment, set(args.task) if args.task else None,
                 runs=args.runs, out=out)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from grader.sandbox import doctor, levels

    sys.stdout.write(doctor.render(doctor.rows(args.device, args.isolation_via),
                                   levels.detect(args.device, args.isolation_via)))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from grader.authoring import release
    from grader.course import config

    course = config.load(args.course)
    ids = [a.id for a in course.assignments if (paths.REFERENCE / a.id).is_dir()]
    release.check_solved(paths.REFERENCE, {aid: {t.id for t in course.assignment(aid).tasks} for aid in ids})
    if args.student_repo:
        return _student_repo(args, course)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            problems = release.out_of_sync(paths.REFERENCE, paths.ASSIGNMENTS, ids, Path(tmp))
        if problems:
            sys.stderr.write(release.out_of_sync_advice(
                problems, bool(release.edited(paths.REFERENCE, paths.ASSIGNMENTS, ids))))
            return 1
        print(f"assignments/ is in sync with reference/ ({len(ids)} assignments)")
        return 0
    if args.notebooks:
        from grader.authoring import notebooks
        print(notebooks.write(course, paths.REFERENCE, Path(args.notebooks), ids).describe(Path(args.notebooks)))
        return 0
    if args.solutions:
        written = release.release(paths.REFERENCE, Path(args.solutions), ids, solutions=True)
        print(f"wrote the solutions copy of {len(written)} assignments to {args.solutions}")
        return 0
    try:
        written = release.release(paths.REFERENCE, Path(args.out), ids, force=args.force)
    except release.WorkWouldBeLost as e:
        sys.stderr.write(e.advice(args.out))
        return 2
    print(f"wrote {len(written)} skeletons to {args.out}")
    return 0


def _student_repo(args: argparse.Namespace, course) -> int:
    from grader.authoring import student_repo

    if args.force or args.check or args.solutions or args.notebooks:
        raise SystemExit("grader: --student-repo goes alone: it never overwrites what it did not write, so --force "
                         "does not apply")
    try:
        export = student_repo.write(Path(args.student_repo), course)
    except student_repo.StudentRepoRefused as e:
        sys.stderr.write(e.advice())
        return 2
    print(export.describe())
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from grader.authoring import reproduce
    from grader.course import config

    course = config.load(args.course)
    _select(course, args.ids, available=False)
    try:
        with progress(False) as (report, say):
            rows = reproduce.reproduce(course, args.ids, Path(args.plots) if args.plots else None,
                                       progress=report, wrote=say,
                                       submission=Path(args.submission) if args.submission else None)
    except LookupError as e:
        raise SystemExit(f"grader: {e.args[0]}") from None
    _emit(render(rows, args.format), args.output)
    return 0 if all(r.ok for r in rows) else 1


def cmd_validate(args: argparse.Namespace) -> int:
    from grader.course import config
    from grader.judge.cases import suite_mismatches, suite_tasks
    from grader.tasks import suites

    course, problems = config.load_partly(args.course)  # the file's errors and the suites' together, in one run
    problems += [p for a in course.assignments if a.available and a.id in suites.available()
                 for p in suite_mismatches(course, a, suite_tasks(a.id) or [])]
    if problems:
        raise config.ConfigError(*problems)
    n = sum(a.available for a in course.assignments)
    print(f"{args.course}: ok ({len(course.assignments)} assignments, {n} available, "
          f"{sum(len(a.tasks) for a in course.assignments)} tasks)")
    if args.explain:
        try:
            chosen = course.select(args.explain, available=False, task_ids=True)
        except config.SelectionError as e:
            raise SystemExit(f"grader: {e}") from None
        from grader.sandbox.inside import bans
        print("\n".join(bans.explain([(t.id, t.banned) for cfg, only in chosen for t in cfg.tasks
                                      if only is None or t.id in only])))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from grader.course import config
    from grader.quality import audit

    course = config.load(args.course)
    from grader.quality.mutate import OPERATORS

    with progress(args.quiet) as (report, _):
        results = audit.audit(course, args.ids, jobs=args.jobs, which=args.suite, extra_seeds=args.extra_seeds,
                              operators=tuple(args.operator or OPERATORS), progress=report, sample=args.sample)
    _emit(render(results, args.format, fail_under=args.fail_under), args.output)
    under = [f"{r.id} ({r.kill_rate:.1f}%)" for r in results if r.kill_rate < args.fail_under]
    false = [r.id for r in results if not r.ok]
    if under:
        print(f"grader: kill rate under --fail-under {args.fail_under:g}%: {', '.join(under)}", file=sys.stderr)
    if false:
        print(f"grader: an alternative implementation lost points: {', '.join(false)}", file=sys.stderr)
    return 1 if under or false else 0


def cmd_export(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if folder.is_file():
        return _export_gradebook(folder, args.output)
    try:
        gradings = read_reports(folder)
    except UnreadableReports as e:
        raise SystemExit(f"grader: {e}") from None
    _emit(render(gradings, "csv"), args.output)
    return 0


def _export_gradebook(path: Path, output: str | None) -> int:
    """The CSV of a gradebook's graded assignments; those that failed to grade are named on stderr."""
    from grader.batch.gradebook import Gradebook
    from grader.batch.jobs import BatchError

    try:
        with Gradebook(path, create=False) as book:
            gradings, failed = book.gradings()
    except BatchError as e:
        raise SystemExit(f"grader: {e}") from None
    if not gradings:
        raise SystemExit(f"grader: {path}: no submissions in the gradebook")
    _emit(render(gradings, "csv"), output)
    for row in failed:
        print(f"grader: not graded (a row without a score): {row['student']} {row['assignment']}: {row['error']}",
              file=sys.stderr)
    return 1 if failed else 0


def cmd_insights(args: argparse.Namespace) -> int:
    from grader.insights import InsightsError, analyse
    from grader.reports.insights import render_html, render_json

    if not Path(args.gradebook).is_file():  # the first thing to say: nothing else matters without it
        raise SystemExit(f"grader: {args.gradebook}: no such gradebook (grader batch writes one)")
    if args.format == "html" and not args.output:
        raise SystemExit("grader: --format html writes a page: give it a file with --output FILE")
    if not 0.0 <= args.flag_above <= 1.0:
        raise SystemExit(f"grader: --flag-above is a score in [0, 1], not {args.flag_above:g}")
    with progress(args.quiet) as (step, say):
        try:
            found = analyse(Path(args.gradebook), Path(args.submissions) if args.submissions else None,
                            args.assignment, Path(args.skeletons), flag_above=args.flag_above, top=args.top,
                            step=step)
        except InsightsError as e:
            raise SystemExit(f"grader: {e}") from None
        data = found.to_dict()
        _emit(render_html(data) if args.format == "html" else render_json(data), args.output)
        if args.output:
            say(f"wrote {args.output}")
    return 0


def cmd_gradescope_bundle(args: argparse.Namespace) -> int:
    from grader.authoring import gradescope
    from grader.course import config

    course = config.load(args.course)
    ids = _select(course, args.assignment or (), available=False)
    names = gradescope.bundle(Path(args.out), Path(args.course), ids)
    print(f"wrote {args.out} ({len(names)} files): upload it as the Gradescope autograder"
          + (f" of {', '.join(ids)}" if ids else ""))
    return 0


def _select(course, keys, available: bool = True) -> list[str]:
    """The assignment ids ``keys`` name, or exit 2 with the nearest ids for one that is misspelt."""
    from grader.course.config import SelectionError
    try:
        return [cfg.id for cfg, _ in course.select(keys, available=available)]
    except SelectionError as e:
        raise SystemExit(f"grader: {e}") from None


def _add_selection(parser: argparse.ArgumentParser, suite: str = "public") -> None:
    """What is graded and where: the flags ``grade`` and ``batch`` share (``--suite`` also ``audit``'s)."""
    parser.add_argument("--assignment", action="append", metavar="ID", help="grade only this one (repeatable)")
    parser.add_argument("--suite", choices=("public", "hidden", "all"), default=suite)
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    parser.add_argument("--require-isolation", choices=("process", "namespaces", "full"), metavar="LEVEL",
                        help="refuse to grade if the sandbox is weaker than LEVEL (process, namespaces, full)")
    _add_isolation_via(parser)


def _add_isolation_via(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--isolation-via", choices=("auto", "root", "user-namespace"), default="auto",
                        help="how the namespace layers are made (default: root's way when root, else a user "
                             "namespace); user-namespace on a root machine shows what an ordinary user gets")


def _add_report(parser: argparse.ArgumentParser, formats: tuple[str, ...], help: str | None = None) -> None:
    """``--format`` and ``--output``: how a command's result is rendered and where it goes."""
    parser.add_argument("--format", choices=formats, default="text", help=help)
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    try:
        from grader.quality.mutate import EXTRA_OPERATORS, MIN_PER_TASK, OPERATORS
    except ImportError:  # a student repository ships no mutation testing (nor the reference it mutates)
        EXTRA_OPERATORS, MIN_PER_TASK, OPERATORS = (), 0, ()

    p = argparse.ArgumentParser(prog="grader", description="Grade deep-learning assignments numerically.")
    p.add_argument("--course", default=str(paths.COURSE), help="course.yaml to use (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade a submission laid out like assignments/")
    g.add_argument("path", help="the submission: a course folder, one assignment's folder, a .zip of either, or "
                                "a notebook (.ipynb; a notebook also stands in for a folder's .py files)")
    _add_selection(g)
    _add_report(g, GRADING_FORMATS, "text (a table), json, junit (XML), gradescope (results.json), markdown (a "
                                    "pull-request comment), html (a page, needs --output); default: %(default)s")
    g.add_argument("--fail-under", type=float, metavar="PERCENT",
                   help="exit 1 if the score is under this percentage of the maximum")
    g.add_argument("--submitted-at", metavar="ISO8601", help="apply the late policy for this submission time")
    g.add_argument("--time-source", choices=("option", "gradescope_metadata", "nbgrader_collect", "file_time"),
                   default="option", help="where --submitted-at was read, recorded in the report (default: "
                                          "%(default)s; Gradescope's runner says gradescope_metadata)")
    g.add_argument("--passed-in-one-row", action="store_true",
                   help="text format: an assignment whose every task passed is one row, not one per task")
    g.add_argument("--isolation", choices=("auto", "process", "namespaces", "full"), default="auto", metavar="LEVEL",
                   help="grade at this level instead of the strongest the machine gives (auto), e.g. process to "
                        "see what a machine without namespaces gets")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="assignments graded at once, each in its own sandboxed child (default: %(default)s)")
    g.add_argument("--every-assignment", action="store_true",
                   help="grade every available assignment, those not in the submission at zero (default: the "
                        "ones it holds, the others listed once as not handed in)")
    _add_quiet(g)
    g.set_defaults(func=cmd_grade)

    bt = sub.add_parser("batch", help="grade a class's submissions in parallel into a resumable SQLite gradebook")
    bt.add_argument("submissions", metavar="SUBMISSIONS",
                    help="a folder with one folder, .zip or notebook (.ipynb) per student, named by student id")
    bt.add_argument("--gradebook", required=True, metavar="FILE", help="the SQLite gradebook (made if missing)")
    bt.add_argument("--jobs", type=int, metavar="N",
                    help="worker processes of the local pool or of a local Dask cluster (default: the CPUs)")
    bt.add_argument("--executor", choices=("local", "dask"), default="local",
                    help="local: a pool of processes here; dask: a Dask distributed cluster (default: %(default)s)")
    bt.add_argument("--scheduler", metavar="ADDRESS",
                    help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default with dask: a local cluster)")
    bt.add_argument("--force", action="store_true", help="grade every submission again, even those already graded")
    _add_selection(bt)
    bt.add_argument("--times", choices=("files", "nbgrader"), default="files",
                    help="where submission times come from: files (each entry's modification time, the default) "
                         "or nbgrader (SUBMISSIONS is nbgrader's submitted/: <student>/<assignment>/timestamp.txt)")
    _add_quiet(bt)
    bt.set_defaults(func=cmd_batch)

    w = sub.add_parser("watch", help="grade an assignment's public suite now and after every change (warm)")
    w.add_argument("folder", help="the assignment's folder, e.g. assignments/a02_mlp_backprop")
    w.add_argument("--assignment", metavar="ID", help="its id, when the folder is named otherwise")
    w.add_argument("--task", action="append", metavar="ID", help="grade only this task (repeatable)")
    w.add_argument("--runs", type=int, metavar="N", help="stop after N gradings (default: until Ctrl-C)")
    w.set_defaults(func=cmd_watch)

    sb = sub.add_parser("sandbox", help="what the sandbox gives here: each layer, whether it holds, why not, how "
                                        "to enable it")
    sb.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    _add_isolation_via(sb)
    sb.set_defaults(func=cmd_sandbox)

    r = sub.add_parser("release", help="regenerate assignments/ from reference/")
    r.add_argument("--check", action="store_true", help="fail if assignments/ is out of sync")
    r.add_argument("--solutions", metavar="DIR", help="write a copy filled with the solutions")
    r.add_argument("--notebooks", metavar="DIR",
                   help="make DIR an nbgrader course directory: source notebooks (DIR/source/<id>/<id>.ipynb) "
                        "and DIR/nbgrader_config.py")
    r.add_argument("--student-repo", metavar="DIR",
                   help="write the student repository (a GitHub Classroom template: skeletons, public tests on frozen "
                        "cases, the grader, a grading workflow; no reference, no hidden suite) to DIR, new or empty, "
                        "or a previous export")
    r.add_argument("--out", default=str(paths.ASSIGNMENTS), help="where skeletons go (default: %(default)s)")
    r.add_argument("--force", action="store_true",
                   help="overwrite skeleton files even where a stub was replaced by code, and delete files "
                        "release did not write (discards that work)")
    r.set_defaults(func=cmd_release)

    x = sub.add_parser("reproduce", help="run an assignment's experiments against the published numbers")
    x.add_argument("ids", nargs="*", metavar="ID")
    _add_report(x, FORMATS)
    x.add_argument("--plots", metavar="DIR", help="write the experiments' figures as PNG here (each path is printed)")
    x.add_argument("--submission", metavar="DIR",
                   help="run the experiments.py of this folder (laid out like assignments/) on its own functions, "
                        "in this process, instead of the reference's")
    x.set_defaults(func=cmd_reproduce)

    a = sub.add_parser("audit", help="mutation-test the grading suites and grade the alternative solutions")
    a.add_argument("ids", nargs="*", metavar="ID", help="assignments or tasks (default: every available one)")
    _add_report(a, FORMATS)
    a.add_argument("--suite", choices=("public", "hidden", "all"), default="all",
                   help="the cases a mutant must pass to survive (default: %(default)s)")
    a.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: %(default)s)")
    a.add_argument("--extra-seeds", type=int, default=20, metavar="N",
                   help="extra cases a surviving mutant must match to count as equivalent (default: %(default)s)")
    a.add_argument("--operator", action="append", metavar="NAME", choices=OPERATORS + EXTRA_OPERATORS,
                   help="only this mutation operator (repeatable; default: all but "
                        f"{', '.join(EXTRA_OPERATORS)}): {', '.join(OPERATORS + EXTRA_OPERATORS)}")
    a.add_argument("--fail-under", type=float, default=KILL_RATE_FAIL_UNDER, metavar="PERCENT",
                   help="exit 1 if an assignment's kill rate is under this (default: %(default)s)")
    a.add_argument("--sample", type=float, metavar="FRACTION",
                   help="grade only this fraction (0 < FRACTION <= 1) of each task's mutants, never fewer "
                        f"than one per operator that applies to it and {MIN_PER_TASK} in all; chosen by a stable "
                        "hash, so the same mutants on every machine and run; the report says it is a sample "
                        "and of how many (alternatives are still graded in full)")
    _add_quiet(a)
    a.set_defaults(func=cmd_audit)

    v = sub.add_parser("validate", help="check course.yaml and that every task has checks")
    v.add_argument("--explain", action="append", metavar="ID",
                   help="also print what each task's banned entries cover (an assignment or a task id; repeatable)")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("export", help="a CSV for an LMS from a gradebook, or from a folder of JSON results")
    e.add_argument("folder", metavar="GRADEBOOK|FOLDER",
                   help="a gradebook written by grader batch, or a folder of STUDENT.json files written by "
                        "grader grade --format json")
    e.add_argument("--output", metavar="FILE", help="write the CSV here instead of stdout")
    e.set_defaults(func=cmd_export)

    ins = sub.add_parser("insights", help="an instructor's view of a gradebook: scores at a glance, a misconception "
                                          "map, similar submissions")
    ins.add_argument("gradebook", metavar="GRADEBOOK", help="the SQLite gradebook grader batch wrote (read, never "
                                                            "written)")
    ins.add_argument("--submissions", metavar="DIR",
                     help="the class's submissions folder grader batch graded: compare the students' code")
    ins.add_argument("--assignment", action="append", metavar="ID", help="only this assignment (repeatable)")
    ins.add_argument("--format", choices=("html", "json"), default="html",
                     help="html (a page, needs --output) or json; default: %(default)s")
    ins.add_argument("--output", metavar="FILE", help="write it here instead of stdout")
    ins.add_argument("--skeletons", default=str(paths.ASSIGNMENTS), metavar="DIR",
                     help="where the released skeletons are (DIR/<id>/), excluded from similarity as boilerplate "
                          "(default: %(default)s)")
    ins.add_argument("--flag-above", type=float, default=0.4, metavar="SCORE",
                     help="a pair scoring at least this (in [0, 1]) is similar, worth a look (default: %(default)s)")
    ins.add_argument("--top", type=int, default=25, metavar="N",
                     help="similar pairs listed per assignment, highest first (default: %(default)s)")
    _add_quiet(ins)
    ins.set_defaults(func=cmd_insights)

    b = sub.add_parser("gradescope-bundle", help="write the Gradescope autograder zip")
    b.add_argument("out", metavar="OUT.zip")
    b.add_argument("--assignment", action="append", metavar="ID",
                   help="grade only this assignment (repeatable): the submission may then be its files as uploaded")
    b.set_defaults(func=cmd_gradescope_bundle)
    _add_language(sub)
    return p


def _add_language(sub: argparse._SubParsersAction) -> None:
    """``--lang`` on every command: the language of what students read (diagnoses, reports, messages)."""
    for parser in sub.choices.values():
        parser.add_argument("--lang", choices=i18n.LANGUAGES, metavar="LANG",
                            help="the feedback's language: en or zh_CN (default: LC_ALL, LC_MESSAGES or LANG where "
                                 "they name one, else course.yaml's language, else en)")


def language(args: argparse.Namespace) -> str:
    """``--lang``, else the environment's language, else course.yaml's (read only when it decides)."""
    from grader.course import config
    if args.lang or i18n.from_environment():
        return i18n.choose(args.lang)
    try:
        course, _ = config.load_partly(args.course)
    except (config.ConfigError, ValueError):  # the command itself says what is wrong with it
        return i18n.choose()
    return i18n.choose(None, course.language)


REFERENCE_COMMANDS = ("release", "audit", "gradescope-bundle", "batch")  # the instructors': they need reference/
TENSOR_FREE_COMMANDS = ("validate", "export")  # they import no torch (nor does --help)
SANDBOX_COMMANDS = ("grade", "watch")  # they run students' code in this process's sandboxed children


def main(argv: list[str] | None = None) -> int:
    from grader.course.config import ConfigError
    from grader.judge.cases import GradingError
    from grader.authoring.release import ReleaseError

    args = build_parser().parse_args(argv)
    if (args.command in REFERENCE_COMMANDS or args.command == "reproduce" and not args.submission) \
            and not paths.REFERENCE.is_dir():
        print(f"grader: {args.command} needs the course's reference/, which this repository does not hold (a "
              "student repository: grade your work with `grader grade` or pytest)", file=sys.stderr)
        return 2
    if args.command in SANDBOX_COMMANDS:
        from grader.sandbox import warm
        warm.start_now()  # the fork server imports torch while this process does
    if args.command not in TENSOR_FREE_COMMANDS:
        import torch
        torch.set_num_threads(1)  # the grader's own tensors are tiny; a thread pool only adds waiting
    try:
        with i18n.using(language(args)):
            return args.func(args)
    except ConfigError as e:
        if len(e.errors) > 1:
            print(f"grader: {len(e.errors)} errors", file=sys.stderr)
        for error in e.errors:
            print(f"grader: {error}", file=sys.stderr)
        return 2
    except (GradingError, ReleaseError) as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
