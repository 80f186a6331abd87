"""The command line: `python -m studies.NAME`, `python my_study.py` and the
`kerashp` command (`run`, `list`, `status`, `report`, `compare`, `export`).

It only turns argv into the options `kerashp.run` takes: options are parsed
and checked before TensorFlow is imported, so `--help` and a mistyped option
answer at once; errors are one line on stderr (exit 2); Ctrl-C and SIGTERM end
a run with one line, the report of what finished and exit 130 / 143.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import pathlib
import sys
from typing import Sequence

from kerashp.errors import StudyError, option_style

logger = logging.getLogger("kerashp")

SHIPPED_STUDIES = ("adam_betas", "mobilenet_cifar100", "usps_cnn", "house_prices", "fashion_grid", "regularization")


def configure_logging() -> None:
    """kerashp's own messages (INFO and up) to stderr, one line each; other
    libraries' (tensorflow-datasets', absl's) only from WARNING up, TensorFlow's
    only errors, TensorFlow's C++ chatter off. Leaves handlers the user set alone."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s", stream=sys.stderr)
    for name in ("kerashp", "callbacks", "studies"):
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ("tensorflow", "absl"):  # absl: tensorflow-datasets' notes on half-prepared folders
        logging.getLogger(name).setLevel(logging.ERROR)


def parse_options(study_class, argv: Sequence[str] | None, prog: str | None = None) -> dict:
    """argv -> `kerashp.run`'s keyword arguments (exit 2 with one line on a bad option)."""
    from kerashp.options import default_prog, option_table

    parser = option_table(study_class).parser
    parser.prog = prog or default_prog(study_class)
    values = vars(parser.parse_args(argv))
    values.pop("_study_options")
    return values


def parse_runs(study_class, argv: Sequence[str] | None = None) -> list:
    """argv -> one `StudySettings` per experiment to run; exits 2 with one line on
    a bad option (as the command line does)."""
    from kerashp.settings import resolve_runs

    with option_style("cli"):
        options = parse_options(study_class, argv)
        try:
            return resolve_runs(study_class, options, parsed=True)
        except StudyError as error:
            print(f"{study_class.name}: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None


def parse_settings(study_class, argv: Sequence[str] | None = None):
    """The settings of a single run (the first, for `--experiment all`)."""
    return parse_runs(study_class, argv)[0]


def main(study_class, argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of a study run from the command line; returns the exit status.

    Args:
        study_class: the study.
        argv: its options (default: `sys.argv[1:]`).
        prog: the command shown in `--help` (default: how it was started).
    """
    configure_logging()
    with option_style("cli"):
        return _main(study_class, argv, prog)


def _main(study_class, argv: Sequence[str] | None, prog: str | None) -> int:
    options = parse_options(study_class, argv, prog)
    from kerashp.api import run_settings
    from kerashp.settings import resolve_runs

    label = study_class.name or study_class.__name__
    try:
        runs = resolve_runs(study_class, options, parsed=True)
    except StudyError as error:
        print(f"{label}: error: {error}", file=sys.stderr)
        return 2
    try:
        return run_settings(study_class, runs, label)
    except KeyboardInterrupt:  # before the run had its handlers (e.g. while importing TensorFlow)
        print(f"{label}: interrupted before any trial began; nothing changed", file=sys.stderr)
        return 130


def load_study_file(path: str | os.PathLike):
    """The one `kerashp.Study` subclass a file defines (imported as a module; the
    native libraries' start-up chatter while it imports them is dropped)."""
    from kerashp.quiet import quietly
    from kerashp.study import Study

    path = pathlib.Path(path)
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    module_name = f"kerashp_study_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        quietly(lambda: spec.loader.exec_module(module))
    except SyntaxError as error:
        raise StudyError(f"{path}:{error.lineno}: syntax error: {error.msg}") from None
    except ImportError as error:
        raise StudyError(f"{path}: {error}") from None
    studies = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, Study) and value.__module__ == module_name]
    return _one_study(studies, str(path))


def _one_study(studies: list, where: str):
    if not studies:
        raise StudyError(f"{where} defines no kerashp.Study subclass")
    names: dict[str, list[str]] = {}
    for study in studies:
        names.setdefault(study.name, []).append(study.__name__)
    twice = {name: classes for name, classes in names.items() if len(classes) > 1}
    if twice:
        name, classes = next(iter(twice.items()))
        raise StudyError(f"{where}: {', '.join(classes)} share the study name {name!r}; give each its own name")
    # A file may define a base class and the study built on it: the most derived one runs.
    leaves = [s for s in studies if not any(other is not s and issubclass(other, s) for other in studies)]
    if len(leaves) > 1:
        raise StudyError(f"{where} defines {len(leaves)} studies ({', '.join(s.__name__ for s in leaves)}); "
                         "keep one per file")
    return leaves[0]


def load_shipped_study(name: str):
    """A shipped study by name (`studies.NAME`)."""
    from kerashp.quiet import quietly
    from kerashp.study import Study

    if name not in SHIPPED_STUDIES:
        raise StudyError(f"unknown study {name!r}; shipped studies: {', '.join(SHIPPED_STUDIES)} "
                         "(or give a study file, FILE.py)")
    module = quietly(lambda: importlib.import_module(f"studies.{name}"))
    studies = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, Study) and value.__module__ == module.__name__]
    return _one_study(studies, f"studies.{name}")


def resolve_study(target: str):
    return load_study_file(target) if target.endswith(".py") or os.sep in target else load_shipped_study(target)


def _list() -> int:
    for name in SHIPPED_STUDIES:
        study = load_shipped_study(name)
        print(f"{name:20s} {study.description}")
    return 0


def _status(out: str) -> int:
    from kerashp.status import study_status

    print(study_status(out))
    return 0


def _report(out: str) -> int:
    from kerashp.report.study_report import rebuild

    for path in rebuild(out):
        print(path)
    return 0


def _compare(target: str, out: str, experiment: str | None) -> int:
    from kerashp.report.replication import compare_directory

    study = resolve_study(target)
    if experiment is not None:
        if experiment not in study.experiments:
            raise StudyError(f"{study.name} has no experiment {experiment!r}; its experiments: "
                             f"{', '.join(study.experiments) or 'none'}")
        original, where = study.experiments[experiment].original, f"{study.name} --experiment {experiment}"
    else:
        original, where = study.original, study.name
    if original is None:
        raise StudyError(f"{where} declares no original to compare with (Study.original"
                         f"{'' if experiment else ', or give --experiment'})")
    print(compare_directory(original, pathlib.Path(out), dict(study.table_metrics)))
    return 0


def _export(kind: str, out: str, storage: str | None, study_name: str | None) -> int:
    from kerashp.integrations.optuna_export import DEFAULT_STORAGE_FILE, import_optuna
    from kerashp.results import Results

    optuna = import_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "A new study created" lines; ours say more
    results = Results.load(out)
    storage = storage or str(pathlib.Path(out) / DEFAULT_STORAGE_FILE)
    parts = results.experiments or {None: results}
    for experiment, part in parts.items():
        name = study_name and (f"{study_name}/{experiment}" if experiment else study_name)
        study = part.to_optuna(storage, name)
        trials = study.get_trials(deepcopy=False)
        states = {}
        for trial in trials:
            states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
        print(f"{study.study_name}: {len(trials)} run(s) ({', '.join(f'{n} {state}' for state, n in states.items())})")
    shown = storage if "://" in storage else (f"sqlite:///{storage}" if not storage.endswith((".log", ".journal", ".jsonl"))
                                                else storage)
    print(f"stored in {storage}; see it with: optuna-dashboard {shown}")
    return 0


def console(argv: Sequence[str] | None = None) -> int:
    """The `kerashp` command (its output piped into `head` ends quietly)."""
    try:
        return _console(argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


def _console(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kerashp", description="Resumable hyperparameter studies with Keras 3.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run (or resume) a study: kerashp run FILE.py|NAME [options]",
                              add_help=False)
    run.add_argument("target", metavar="FILE.py|NAME")
    commands.add_parser("list", help="the shipped studies, one line each")
    status = commands.add_parser("status", help="trials finished / running / pending / failed / pruned of a study directory")
    status.add_argument("out", metavar="OUT")
    report = commands.add_parser("report", help="rebuild a study directory's tables and figures from its files "
                                                "(without training, without TensorFlow)")
    report.add_argument("out", metavar="OUT")
    compare = commands.add_parser("compare", help="write the \"Original vs here\" section of a study directory's "
                                                  "results.md from its results.csv (and seeds.csv), without "
                                                  "training: for tables kept after the runs' files went")
    compare.add_argument("target", metavar="FILE.py|NAME", help="the study whose declared original to compare with")
    compare.add_argument("out", metavar="OUT")
    compare.add_argument("--experiment", default=None, help="the experiment whose original to use")
    export = commands.add_parser("export", help="a study directory as an Optuna study (one trial per run, each "
                                                "epoch's objective as an intermediate value), for optuna-dashboard "
                                                "and Optuna's importance and plots; run again, it adds the new runs")
    export.add_argument("kind", choices=["optuna"], help="what to export to")
    export.add_argument("out", metavar="OUT")
    export.add_argument("--storage", default=None, metavar="URL|FILE",
                        help="an SQLAlchemy URL (sqlite:///FILE.db), an SQLite file (FILE.db) or Optuna's journal "
                             "file (FILE.log); default OUT/optuna.db")
    export.add_argument("--study-name", default=None, help="the Optuna study's name (default: the study's)")
    if argv and argv[0] == "run":  # the study's own parser takes every option after the target
        if len(argv) < 2 or argv[1].startswith("-"):
            parser.exit(2, "kerashp run: error: give a study file (FILE.py) or a shipped study's name; "
                           "see kerashp list\n")
        target, rest = argv[1], argv[2:]
        configure_logging()
        try:
            study = resolve_study(target)
        except StudyError as error:
            print(f"kerashp run: error: {error}", file=sys.stderr)
            return 2
        return main(study, rest, prog=f"kerashp run {target}")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        if args.command == "list":
            return _list()
        if args.command == "status":
            return _status(args.out)
        if args.command == "report":
            return _report(args.out)
        if args.command == "compare":
            return _compare(args.target, args.out, args.experiment)
        if args.command == "export":
            return _export(args.kind, args.out, args.storage, args.study_name)
    except StudyError as error:
        print(f"kerashp {args.command}: error: {error}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(console())
