"""The ``grader`` command: argument parsing and dispatch. Each command (grade, batch, watch, sandbox,
release, reproduce, audit, validate, export, insights, gradescope-bundle) is a ``cmd_*`` of
:mod:`grader.commands`; the flags several commands share are added by one function each."""
from __future__ import annotations

import argparse
import os
import sys

from grader import i18n, paths
from grader.commands import (cmd_audit, cmd_batch, cmd_export, cmd_grade, cmd_gradescope_bundle, cmd_insights,
                             cmd_release, cmd_reproduce, cmd_sandbox, cmd_validate, cmd_watch)
from grader.reports import FORMATS, GRADING_FORMATS
from grader.results import KILL_RATE_FAIL_UNDER


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
TENSOR_FREE_COMMANDS = ("validate", "export")  # they import no torch (nor does --help; nor "grade" and "batch",
# once their expected values are cached, for submissions that pass)
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
    if args.command in ("grade", "batch") and "torch" not in sys.modules:
        # A grading whose expected values are cached and whose submission passes imports no torch here
        # (grader.judge.pipeline), nor does a batch's coordinator; where it does (computing them, a
        # diagnosis), one thread, as below.
        os.environ["OMP_NUM_THREADS"] = "1"
    elif args.command not in TENSOR_FREE_COMMANDS:
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
