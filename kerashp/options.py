"""Every option of a study run, declared once as an argparse parser.

The command line parses argv with it; `kerashp.run(Study, **options)` takes the
same names (the parser's destinations: `epochs=`, `batch_size=`, `set=`...)
and `kerashp.settings.StudySettings.for_study` resolves both into settings.
Nothing here imports TensorFlow, Keras or KerasTuner: `--help` and a bad
option answer before any of them loads.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import os
import pathlib
import sys
import types
import typing
from typing import Any

from kerashp import searches


QUICK_EPOCHS = 2
QUICK_TRIALS = 3  # trials of a search with --quick
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
SEARCHES = tuple(searches.SEARCHES)  # kerashp.searches, the registry
PRUNERS = ("none", "asha", "median", "hyperband")
FRAMEWORKS = ("keras", "pytorch")
KEEP_WEIGHTS = ("all", "best", "none")  # kerashp.storage.weights.KEEP_WEIGHTS  # kerashp.frameworks.FRAMEWORKS, without importing Keras


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


SEED_LIMIT = 2**32  # NumPy's and TensorFlow's seeds are unsigned 32-bit integers


def seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_LIMIT - 1}, got {text!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_LIMIT - 1}, got {value}")
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


class _HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default once: where its help does not already say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) or action.nargs == 0:
            return text
        return f"{text} (default: %(default)s)"


def default_prog(study_class) -> str:
    """How the user started this study, for `--help` and error lines: `python -m
    studies.NAME` for a shipped study, `python FILE` for a study file run as a
    script, else `kerashp run NAME`."""
    module = study_class.__module__
    if module.startswith("studies."):
        return f"python -m {module}"
    if module == "__main__":
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name:  # python -m NAME
            return f"python -m {spec.name}"
        path = getattr(main, "__file__", None)
        if not path:
            return f"kerashp run {study_class.name}"
        shown = os.path.relpath(path)
        return f"python {shown if not shown.startswith('..') else path}"
    return f"kerashp run {study_class.name}"


def hyperparameter_names(study_class) -> list[str]:
    """The hyperparameter names `--set` accepts that are known without building
    the search space: those of the named configurations and the table's columns."""
    names: dict[str, None] = {}
    configs = [study_class.configs, *(e.configs for e in study_class.experiments.values())]
    for group in configs:
        for values in group.values():
            names.update(dict.fromkeys(values))
    names.update(dict.fromkeys(study_class.table_hyperparameters))
    return list(names)


def build_parser(study_class, prog: str | None = None) -> argparse.ArgumentParser:
    """The shared options plus the study's own (the fields of `study_class.Options`).

    Args:
        study_class: the study (a `kerashp.Study` subclass).
        prog: the command shown in `--help` and errors (default: `default_prog`).
    """
    parser = _OneLineErrorParser(
        prog=prog or default_prog(study_class),
        description=study_class.description,
        formatter_class=_HelpFormatter,
    )
    add = parser.add_argument
    if study_class.experiments:
        quick_note = (f"; with --quick: {', '.join(study_class.quick_experiments)}"
                      if study_class.quick_experiments else "")
        add("--experiment", choices=(*study_class.experiments, "all"), default=None,
            help=f"which experiment to run (default all: each in turn, into <out>/<experiment>/{quick_note})")
        epochs_default = ", ".join(f"{n} {e.epochs}" for n, e in study_class.experiments.items())
        config_help = "; ".join(f"{n}: {', '.join(e.configs)}" for n, e in study_class.experiments.items())
    else:
        epochs_default = str(study_class.epochs)
        config_help = ", ".join(study_class.configs) or "none (this study searches)"
    add("--epochs", type=positive_int, default=None, help=f"epochs per trial (default: {epochs_default})")
    add("--batch-size", type=positive_int, default=None, help=f"global batch size (default: {study_class.batch_size})")
    add("--configs", default=None, help=f"comma-separated subset of the named configurations ({config_help})")
    add("--data", default=None,
        help="a tensorflow-datasets name, folder:PATH (train/<class>/ and test/<class>/ image folders, or a .tar.gz "
             "of them), file:PATH (IDX or HDF5 arrays), sample or sample:NAME (shipped with kerashp) "
             f"(default: {study_class.default_data})")
    add("--data-dir", default=None, help="where tensorflow-datasets stores data / archives are extracted")
    add("--train-limit", type=positive_int, default=None, metavar="N", help="use the first N training examples")
    add("--val-split", type=fraction, default=None, metavar="FRACTION", help=f"hold out this fraction of the training data for validation (default: {study_class.default_val_split or 'none, validate on the test split'})")
    add("--out", type=pathlib.Path, default=None, help=f"output directory (default: artifacts/{study_class.name})")
    add("--seeds", type=positive_int, default=1, help="runs per configuration with seeds seed, seed+1, ...; tables show mean ± std, results.md the confidence intervals, paired comparisons and verdicts")
    add("--seed", type=seed_int, default=0, help="first seed")
    add("--reference", default=None, metavar="NAME",
        help="with --seeds N >= 2: the configuration the others are compared with, seed by seed (default: the first)")
    add("--search", choices=SEARCHES, default=study_class.default_search,
        help=f"run the named configurations, or search the space ({searches.search_help()})")
    add("--trials", type=positive_int, default=None, help=f"configurations of a random, Bayesian, TPE or Hyperband search (for grid: stop after N trials in all; with --quick: {QUICK_TRIALS})")
    add("--prune", choices=PRUNERS, default=None,
        help="train trials in stages to rungs of min-epochs * eta**k epochs and stop the poor ones: asha (the top 1/eta "
             "of a rung train on), hyperband (asha in brackets), median (stop below the rung's median); default none "
             "(hyperband with --search hyperband)")
    add("--min-epochs", type=positive_int, default=None, metavar="N",
        help="epochs of a pruned search's first rung (default: 3 for asha where the longest trial has at least "
             "3 x eta epochs, else 1)")
    add("--max-minutes", type=float, default=None, metavar="M",
        help="start no new trial or rung after M minutes: the trials running finish, the report is written, and a rerun goes on")
    add("--when-exhausted", choices=("stop", "promote"), default="stop",
        help="once a pruned search starts no new configuration (a finite space tried whole, or --trials reached): "
             "stop, or promote (the best trial that can train on trains to its next rung beyond the pruner's quota, "
             "until all are at full length or --max-minutes is up); default stop")
    add("--eta", type=positive_int, default=3, help="a pruned search's reduction factor (rungs eta times apart; asha keeps the top 1/eta)")
    add("--early-stopping", type=positive_int, default=None, metavar="PATIENCE",
        help="stop a run after PATIENCE epochs without improving the study's objective and keep its best weights (default: off)")
    add("--restore-best-weights", action=argparse.BooleanOptionalAction, default=None,
        help="test each run, and keep its weights, at its best epoch by the study's objective (the epoch the search "
             "ranks it by), as Keras' EarlyStopping(restore_best_weights=True) does; default: on for a pruned search, "
             "off otherwise (its last epoch's, as the mirrored originals report)")
    names = hyperparameter_names(study_class)
    add("--set", type=assignment, action="append", default=[], metavar="NAME=VALUE",
        help="override a hyperparameter in every configuration (repeatable)"
             + (f"; names: {', '.join(names)}" if names else "") + " and those of the search space")
    add("--keep-weights", choices=KEEP_WEIGHTS, default=None,
        help="what a finished trial keeps on disk: all (every run's final weights; the default of --search configs), "
             "best (only the best fully trained trial's; the default of a search), none; with best and none, the "
             "checkpoints of pruned trials go when the search is done")
    add("--overwrite", action="store_true", help="delete this study's earlier results in --out and start afresh")
    add("--track", default=None, metavar="mlflow[=URI]",
        help="track the study in MLflow (kerashp[mlflow]): a run per study, trial and seed, each epoch's metrics; "
             "URI: a tracking server (http://...) or database; default OUT/mlflow.db")
    add("--quick", action="store_true", help=f"demo and smoke test: {study_class.quick_data or 'the default data'}, {QUICK_EPOCHS} epochs, output in artifacts/{study_class.name}_quick (runs offline)")
    add("--strategy", choices=STRATEGIES, default="auto",
        help="tf.distribute strategy: auto (several GPUs: mirrored; one: that GPU; CPU: default), default, mirrored, multiworker (TF_CONFIG)")
    add("--precision", choices=PRECISIONS, default="auto",
        help="Keras dtype policy; auto (the default): float32 on CPU, mixed_float16 on GPU (softmax stays float32)")
    add("--jit", choices=("auto", "on", "off"), default="auto", help="XLA compilation; auto (the default): off on CPU, on on GPU")
    add("--steps-per-execution", type=positive_int, default=1, metavar="N",
        help="batches per compiled call, at most N: the largest divisor of an epoch's batches, so that epochs end "
             "where they should")
    add("--pack", type=positive_int, default=1, metavar="K",
        help="train up to K trials that share an architecture at once, in one compiled model (see kerashp.tuning.packing)")
    add("--worker-timeout", type=float, default=1800.0, metavar="SECONDS",
        help="distributed tuning: a worker that finishes no epoch for this long loses its trial to another worker")
    add("--defaults", choices=FRAMEWORKS, default=None,
        help="whose defaults the model builders and optimizers use where the study names none: initial weights and "
             "biases, batch-norm momentum and epsilon, Adam/RMSprop constants, SGD's momentum and weight-decay form "
             f"(default: {study_class.original_framework}, the framework of the original)")
    add("--verbose", type=int, choices=(0, 1, 2), default=None, help="Keras progress: 0 none, 1 bar, 2 a line per epoch (default: bar on a terminal, none in a notebook, else 2)")
    group = parser.add_argument_group(f"{study_class.name} options")
    study_options = add_study_options(group, study_class.Options)
    parser.set_defaults(_study_options=study_options)
    return parser


def add_study_options(group, options_class: type) -> list[str]:
    """Adds one option per field of a study's `Options` dataclass (see
    `kerashp.study.option`) and returns their names."""
    if not dataclasses.is_dataclass(options_class):
        raise TypeError(f"{options_class.__qualname__} must be a dataclass of kerashp.option fields")
    hints = typing.get_type_hints(options_class)
    names = []
    for field in dataclasses.fields(options_class):
        kind = hints[field.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            members = [member for member in typing.get_args(kind) if member is not type(None)]
            kind = members[0] if len(members) == 1 else str
        default = field.default if field.default is not dataclasses.MISSING else None
        meta = field.metadata
        flag = "--" + field.name.replace("_", "-")
        if kind is bool:
            group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=default,
                               help=meta.get("help", ""))
        else:
            group.add_argument(flag, dest=field.name, type=kind if kind in (int, float, str) else str,
                               default=default, choices=meta.get("choices"), metavar=meta.get("metavar"),
                               help=meta.get("help", ""))
        names.append(field.name)
    return names


@dataclasses.dataclass(frozen=True)
class OptionTable:
    """A study's options as `kerashp.run` and the command line take them, from one parser.

    Attributes:
        parser: the command line's parser (`prog` is set by whoever parses with it).
        defaults: every option's default by destination (the study's own included).
        actions: the parser's actions by destination, to check a `kerashp.run` keyword
            as argparse checks its option.
        study_options: the destinations of the study's own options.
    """

    parser: argparse.ArgumentParser
    defaults: dict[str, Any]
    actions: dict[str, argparse.Action]
    study_options: tuple[str, ...]


@functools.lru_cache(maxsize=64)
def option_table(study_class) -> OptionTable:
    """The study class's `OptionTable`, built once per process."""
    parser = build_parser(study_class)
    defaults = vars(parser.parse_args([]))
    study_options = tuple(defaults.pop("_study_options"))
    actions = {action.dest: action for action in parser._actions if action.dest != "help"}
    return OptionTable(parser, defaults, actions, study_options)
