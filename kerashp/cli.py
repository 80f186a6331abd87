"""The command line every study shares: `python -m studies.NAME [options]`."""

from __future__ import annotations

import argparse
import ast
import logging
import os
import pathlib
import sys
from typing import Any, Sequence

from kerashp.distribute import PRECISIONS, STRATEGIES
from kerashp.errors import StudyError
from kerashp.settings import StudySettings

QUICK_EPOCHS = 2
QUICK_TRIALS = 3  # trials of a search with --quick


class _OneLineErrorParser(argparse.ArgumentParser):
    """Reports bad options in one line (no usage dump)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {value}")
    return value


def assignment(text: str) -> tuple[str, Any]:
    """Parses NAME=VALUE; VALUE as a Python literal when it is one, else a string."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return name.strip(), value


def build_parser(study_class) -> argparse.ArgumentParser:
    """The shared options plus the study's own (`study_class.add_arguments`)."""
    parser = _OneLineErrorParser(
        prog=f"python -m studies.{study_class.name}",
        description=study_class.description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    if study_class.experiments:
        quick_note = (f"; with --quick: {', '.join(study_class.quick_experiments)}"
                      if study_class.quick_experiments else "")
        add("--experiment", choices=(*study_class.experiments, "all"), default=None,
            help=f"which experiment to run (default all: each in turn, into <out>/<experiment>/{quick_note})")
        epochs_default = ", ".join(f"{n} {e.epochs}" for n, e in study_class.experiments.items())
    else:
        epochs_default = str(study_class.epochs)
    add("--epochs", type=positive_int, default=None, help=f"epochs per trial (study default: {epochs_default})")
    add("--batch-size", type=positive_int, default=None, help=f"global batch size (study default {study_class.batch_size})")
    add("--configs", default=None, help=f"comma-separated subset of: {', '.join(study_class.configs)}")
    add("--data", default=None, help=f"a tensorflow-datasets name, folder:PATH (class sub-folders or a .tar.gz of them) or sample (default {study_class.default_data})")
    add("--data-dir", default=None, help="where tensorflow-datasets stores data / archives are extracted")
    add("--train-limit", type=positive_int, default=None, metavar="N", help="use the first N training examples")
    add("--val-split", type=fraction, default=None, metavar="FRACTION", help=f"hold out this fraction of the training data for validation (default: {study_class.default_val_split or 'none, validate on the test split'})")
    add("--out", type=pathlib.Path, default=None, help=f"output directory (default artifacts/{study_class.name})")
    add("--seeds", type=positive_int, default=1, help="runs per configuration with seeds seed, seed+1, ...; tables show mean ± std, results.md the confidence intervals, paired comparisons and verdicts")
    add("--seed", type=int, default=0, help="first seed")
    add("--reference", default=None, metavar="NAME",
        help="with --seeds N >= 2: the configuration the others are compared with, seed by seed (default: the first)")
    add("--search", choices=("configs", "grid", "random", "bayesian", "hyperband"), default=study_class.default_search,
        help="run the named configurations, or search the space (grid: every point in a fixed order, resumable; "
             "hyperband: random configurations pruned in Hyperband's brackets, as --search random --prune hyperband)")
    add("--trials", type=positive_int, default=None, help=f"configurations of a random, Bayesian or Hyperband search (for grid: stop after N trials in all; with --quick: {QUICK_TRIALS})")
    add("--prune", choices=("none", "asha", "median", "hyperband"), default=None,
        help="train trials in stages to rungs of min-epochs * eta**k epochs and stop the poor ones: asha (the top 1/eta "
             "of a rung train on), hyperband (asha in brackets), median (stop below the rung's median); default none "
             "(hyperband with --search hyperband)")
    add("--min-epochs", type=positive_int, default=1, metavar="N", help="epochs of a pruned search's first rung")
    add("--max-minutes", type=float, default=None, metavar="M",
        help="start no new trial or rung after M minutes: the trials running finish, the report is written, and a rerun goes on")
    add("--eta", type=positive_int, default=3, help="a pruned search's reduction factor (rungs eta times apart; asha keeps the top 1/eta)")
    add("--early-stopping", type=positive_int, default=None, metavar="PATIENCE",
        help="stop a run after PATIENCE epochs without improving the study's objective and keep its best weights (default: off)")
    add("--set", type=assignment, action="append", default=[], metavar="NAME=VALUE", help="override a hyperparameter in every configuration (repeatable)")
    add("--overwrite", action="store_true", help="delete this study's earlier results in --out and start afresh")
    add("--quick", action="store_true", help=f"demo and smoke test: {study_class.quick_data or 'the default data'}, {QUICK_EPOCHS} epochs, output in artifacts/{study_class.name}_quick (runs offline)")
    add("--strategy", choices=STRATEGIES, default="auto",
        help="tf.distribute strategy: auto (several GPUs: mirrored; one: that GPU; CPU: default), default, mirrored, multiworker (TF_CONFIG)")
    add("--precision", choices=PRECISIONS, default="auto",
        help="Keras dtype policy; auto: float32 on CPU, mixed_float16 on GPU (softmax stays float32)")
    add("--jit", choices=("auto", "on", "off"), default="auto", help="XLA compilation; auto: off on CPU, on on GPU")
    add("--steps-per-execution", type=positive_int, default=1, metavar="N", help="batches per compiled call")
    add("--pack", type=positive_int, default=1, metavar="K",
        help="train up to K trials that share an architecture at once, in one compiled model (see kerashp.tuning.packing)")
    add("--worker-timeout", type=float, default=1800.0, metavar="SECONDS",
        help="distributed tuning: a worker that finishes no epoch for this long loses its trial to another worker")
    add("--verbose", type=int, choices=(0, 1, 2), default=None, help="Keras progress: 0 none, 1 bar, 2 a line per epoch (default: bar on a terminal)")
    before = {action.dest for action in parser._actions}
    group = parser.add_argument_group(f"{study_class.name} options")
    study_class.add_arguments(group)
    study_options = [a.dest for a in parser._actions if a.dest not in before]
    parser.set_defaults(_study_options=study_options)
    return parser


def parse_runs(study_class, argv: Sequence[str] | None = None) -> list[StudySettings]:
    """Parses the command line into one `StudySettings` per experiment to run.

    Exits with status 2 (one line on stderr) on bad options.
    """
    parser = build_parser(study_class)
    args = parser.parse_args(argv)
    if args.search == "hyperband" and args.prune not in (None, "hyperband"):
        parser.error(f"--search hyperband prunes with hyperband, not --prune {args.prune} "
                     f"(for that: --search random --prune {args.prune})")
    if args.max_minutes is not None and args.max_minutes < 0:
        parser.error(f"--max-minutes must be 0 or more, got {args.max_minutes}")
    if args.eta < 2:
        parser.error(f"--eta must be at least 2, got {args.eta}")
    if not study_class.experiments:
        return [settings_from_args(study_class, args, None)]
    if args.experiment is None:
        names = list(study_class.quick_experiments or study_class.experiments) if args.quick else list(study_class.experiments)
        if args.configs:  # the experiments that hold the named configurations
            wanted = {name.strip() for name in args.configs.split(",")}
            names = [name for name in study_class.experiments
                     if wanted & set(study_class.experiments[name].configs)] or names
    else:
        names = list(study_class.experiments) if args.experiment == "all" else [args.experiment]
    return [settings_from_args(study_class, args, name) for name in names]


def parse_settings(study_class, argv: Sequence[str] | None = None) -> StudySettings:
    """Parses the command line of a single run (the first, for `--experiment all`)."""
    return parse_runs(study_class, argv)[0]


def settings_from_args(study_class, args: argparse.Namespace, experiment: str | None) -> StudySettings:
    """The settings of one run from parsed options, with the study's defaults filled in."""
    data = args.data or ((study_class.quick_data or study_class.default_data) if args.quick else study_class.default_data)
    study_epochs = study_class.experiments[experiment].epochs if experiment else study_class.epochs
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else study_epochs)
    out = args.out or pathlib.Path("artifacts") / (f"{study_class.name}_quick" if args.quick else study_class.name)
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    overrides = dict(args.set)
    prune = args.prune or ("hyperband" if args.search == "hyperband" else "none")
    if study_class.epochs_hyperparameter and (args.epochs or args.quick):
        overrides.setdefault("epochs", epochs)  # an explicit length fixes the searched one
    return StudySettings(
        study=study_class.name,
        out=out / experiment if experiment else out,
        data=data,
        data_dir=args.data_dir,
        train_limit=args.train_limit,
        val_split=args.val_split if args.val_split is not None else study_class.default_val_split,
        epochs=epochs,
        batch_size=args.batch_size or study_class.batch_size,
        configs=[name.strip() for name in args.configs.split(",") if name.strip()] if args.configs else None,
        seeds=args.seeds,
        seed=args.seed,
        search=args.search,
        trials=args.trials or (QUICK_TRIALS if args.quick and args.search != "configs" else None),
        overrides=overrides,
        overwrite=args.overwrite,
        quick=args.quick,
        verbose=verbose,
        options={dest: getattr(args, dest) for dest in args._study_options},
        experiment=experiment,
        strategy=args.strategy,
        precision=args.precision,
        jit=args.jit,
        steps_per_execution=args.steps_per_execution,
        pack=args.pack,
        worker_timeout_s=args.worker_timeout,
        early_stopping=args.early_stopping,
        reference=args.reference,
        prune=prune,
        min_epochs=args.min_epochs,
        eta=args.eta,
        max_minutes=args.max_minutes,
    )


def configure_logging() -> None:
    """kerashp's own messages (INFO and up) to stderr, one line each; other
    libraries' (tensorflow-datasets', absl's) only from WARNING up, TensorFlow's
    only errors, TensorFlow's C++ chatter off."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s", stream=sys.stderr)
    for name in ("kerashp", "callbacks", "studies"):
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ("tensorflow", "absl"):  # absl: tensorflow-datasets' notes on half-prepared folders
        logging.getLogger(name).setLevel(logging.ERROR)


def main(study_class, argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m studies.NAME`; returns the process exit status."""
    configure_logging()
    runs = parse_runs(study_class, argv)
    from kerashp.tuning.runner import run_study

    for settings in runs:
        label = study_class.name + (f" {settings.experiment}" if settings.experiment else "")
        try:
            table = run_study(study_class, settings)
        except StudyError as error:
            print(f"{label}: error: {error}", file=sys.stderr)
            return 2
        failed = table[table["status"] != "COMPLETED"] if len(table) else table
        for _, row in failed.iterrows():
            print(f"{label}: trial {row['trial']} {row['name']} {row['status'].lower()}: {row['message']}", file=sys.stderr)
    return 0
