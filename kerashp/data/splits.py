"""In-memory data splits shared by every data source.

Every source (tensorflow-datasets, image folders, the shipped sample, local
files) decodes its examples once into NumPy arrays; the tf.data pipelines of
every trial are then built from these arrays, so images are never decoded twice.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerashp.errors import StudyError


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of a supervised data set: `features[i]` has label `labels[i]`."""

    features: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if len(self.features) != len(self.labels):
            raise ValueError(
                f"features ({len(self.features)}) and labels ({len(self.labels)}) differ in length"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices: np.ndarray) -> "Split":
        """Returns the examples at `indices`, in that order."""
        return Split(self.features[indices], self.labels[indices])


@dataclasses.dataclass(frozen=True)
class DataSplits:
    """Train, validation and (optional) test splits plus what a model needs to know.

    Attributes:
        train: training examples.
        validation: the examples `fit` validates on each epoch.
        test: held-out examples for a final evaluation, or None where the
            validation split is the test split (as in studies that validate on it).
        num_classes: number of classes (0 for regression).
        class_names: names of the classes, in label order.
        description: one line saying where the data came from and how it was split.
    """

    train: Split
    validation: Split
    test: Split | None
    num_classes: int
    class_names: tuple[str, ...]
    description: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.features.shape[1:])


def limit_examples(split: Split, limit: int | None) -> Split:
    """Returns the first `limit` examples of `split` (all of them when None)."""
    if limit is None:
        return split
    if limit <= 0:
        raise StudyError(f"--train-limit must be positive, got {limit}")
    return split.take(np.arange(min(limit, len(split))))


def hold_out(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Splits `split` into (kept, held_out) with a fixed-seed permutation.

    The same `seed` and `fraction` always give the same, disjoint index sets.
    """
    if not 0.0 < fraction < 1.0:
        raise StudyError(f"validation fraction must be in (0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(len(split))
    num_held_out = int(round(len(split) * fraction))
    if num_held_out == 0 or num_held_out == len(split):
        raise StudyError(
            f"validation fraction {fraction} of {len(split)} examples leaves an empty split"
        )
    return split.take(np.sort(order[num_held_out:])), split.take(np.sort(order[:num_held_out]))


def check_labels(train: Split, test: Split, class_names: tuple[str, ...], source: str,
                 every_class: bool = True) -> None:
    """Refuses labels outside 0..K-1 and, with `every_class`, classes without a
    training example (an empty class folder, or labels that skip a number):
    either would train a model with a class it can never learn."""
    for split_name, split in (("training", train), ("test", test)):
        labels = np.asarray(split.labels)
        outside = labels[(labels < 0) | (labels >= len(class_names))]
        if len(outside):
            raise StudyError(f"{source}: {len(outside)} {split_name} label(s) outside 0..{len(class_names) - 1}, "
                             f"e.g. {int(outside[0])}")
    if not every_class:
        return
    counts = np.bincount(np.asarray(train.labels), minlength=len(class_names))
    empty = [f"{class_names[i]!r}" for i in np.flatnonzero(counts == 0)]
    if empty:
        raise StudyError(f"{source}: class {', '.join(empty)} has no training examples "
                         f"(of {len(class_names)} classes); remove it or add examples")


def make_splits(
    train: Split,
    test: Split,
    *,
    num_classes: int,
    class_names: tuple[str, ...],
    source: str,
    train_limit: int | None = None,
    val_split: float | None = None,
    split_seed: int = 0,
    every_class: bool = True,
) -> DataSplits:
    """Checks the labels (see `check_labels`) and applies the shared
    `--train-limit` and `--val-split` options.

    With `val_split` None the test split doubles as the validation split (and
    `test` is None); otherwise a fixed-seed fraction of the (limited) training
    split is held out for validation and the test split is kept for the end.
    """
    if num_classes:
        check_labels(train, test, class_names, source, every_class)
    train = limit_examples(train, train_limit)
    if val_split:
        train, validation = hold_out(train, val_split, split_seed)
        held_test: Split | None = test
        how = f"{len(train)} train / {len(validation)} validation (held out, seed {split_seed}) / {len(test)} test"
    else:
        validation, held_test = test, None
        how = f"{len(train)} train / {len(validation)} validation (the test split)"
    return DataSplits(
        train=train,
        validation=validation,
        test=held_test,
        num_classes=num_classes,
        class_names=class_names,
        description=f"{source}: {how}",
    )
