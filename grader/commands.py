"""What each ``grader`` command does, over the typed API: one ``cmd_*`` per command, called by
:func:`grader.cli.main` with the parsed arguments; it returns the exit status.

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
from grader.reports import render
from grader.reports.progress import batch_progress, progress
from grader.results import AssignmentError, UnreadableReports, read_reports


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
