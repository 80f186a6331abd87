"""The settings of one study run, as parsed from the shared command line."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

# Settings that change what a trial trains; a project on disk made with other
# values cannot be resumed with these (it would mix incomparable trials).
TRAINING_KEYS = (
    "experiment", "data", "train_limit", "val_split", "epochs", "batch_size", "seeds", "seed", "search", "options",
    "precision", "early_stopping", "prune", "min_epochs", "eta",
)


@dataclasses.dataclass
class StudySettings:
    """Everything a study run needs to know besides the study itself.

    Attributes:
        study: the study's name (its module name under `studies/`).
        out: output directory (`artifacts/<study>` by default).
        data: data specification (`cifar10`, `folder:PATH`, `sample`, ...).
        data_dir: where data sets are stored or extracted.
        train_limit: use only the first N training examples.
        val_split: hold out this fraction of the training data for validation
            (None: validate on the test split).
        epochs: training epochs per trial.
        batch_size: global batch size.
        configs: names of the configurations to run (None: all of them).
        seeds: repeats of each configuration with different seeds.
        seed: first seed; repeat i uses `seed + i`.
        search: "configs" (the named configurations), "grid", "random",
            "bayesian" or "hyperband" (random proposals, Hyperband's brackets).
        trials: number of trials (configurations) of a search.
        prune: "none", "asha", "median" or "hyperband": train trials in stages
            to rungs of `min_epochs * eta**k` epochs and stop the poor ones
            (see `kerashp.tuning.pruning`).
        min_epochs: epochs of the first rung of a pruned search.
        eta: reduction factor of a pruned search.
        max_minutes: start no trial (or rung) after this many minutes; the
            report is written and a rerun goes on where this one stopped.
        overrides: hyperparameter values applied to every configuration (`--set`).
        overwrite: start afresh, deleting this study's earlier results in `out`.
        quick: the `--quick` demo mode (shipped sample, 2 epochs).
        verbose: Keras `fit` verbosity (0, 1 progress bar, 2 one line per epoch).
        options: study-specific options (e.g. `weights`, `bn_momentum`).
        experiment: the experiment run, for studies made of several.
        strategy: `--strategy` (see `kerashp.distribute.choose_strategy`).
        precision: Keras dtype policy, or "auto" (see `kerashp.distribute`).
        jit: XLA: "auto", "on" or "off".
        steps_per_execution: batches per compiled call.
        pack: train up to this many trials with equal `StudyHyperModel.pack_key`
            side by side in one compiled model (1: one trial at a time).
        early_stopping: stop a run after this many epochs without improving
            the study's objective, keeping its best weights (None: off).
        worker_timeout_s: in distributed tuning, a worker silent this long
            (no epoch finished) loses its trial to the next worker.
        reference: the configuration the across-seeds report compares the
            others with (None: the first); reporting only, so not part of the
            training fingerprint.
    """

    study: str
    out: pathlib.Path
    data: str
    data_dir: str | None = None
    train_limit: int | None = None
    val_split: float | None = None
    epochs: int = 1
    batch_size: int = 32
    configs: list[str] | None = None
    seeds: int = 1
    seed: int = 0
    search: str = "configs"
    trials: int | None = None
    overrides: dict[str, Any] = dataclasses.field(default_factory=dict)
    overwrite: bool = False
    quick: bool = False
    verbose: int = 2
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    experiment: str | None = None
    strategy: str = "auto"
    precision: str = "auto"
    jit: str = "auto"
    steps_per_execution: int = 1
    pack: int = 1
    worker_timeout_s: float = 1800.0
    early_stopping: int | None = None
    reference: str | None = None
    prune: str = "none"
    min_epochs: int = 1
    eta: int = 3
    max_minutes: float | None = None

    @classmethod
    def default_of(cls, key: str) -> Any:
        """The default value of a field (None where it has none)."""
        field = cls.__dataclass_fields__[key]
        return None if field.default is dataclasses.MISSING else field.default

    def training_fingerprint(self) -> dict[str, Any]:
        """The settings that must match for a project on disk to be resumed."""
        values = dataclasses.asdict(self)
        fingerprint = {key: values[key] for key in TRAINING_KEYS}
        fingerprint["overrides"] = dict(sorted(self.overrides.items()))
        return fingerprint

    def describe(self) -> dict[str, Any]:
        """All settings as JSON-friendly values."""
        values = dataclasses.asdict(self)
        values["out"] = str(self.out)
        return values
