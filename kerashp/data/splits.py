"""In-memory data splits shared by every data source.

Every source (tensorflow-datasets, image folders, the shipped sample, local
files) decodes its examples once into NumPy arrays; the tf.data pipelines of
every trial are then built from these arrays, so images are never decoded twice.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerashp.errors import StudyError, option_name


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
        applied: which of the shared options (`train_limit`, `val_split`) the
            source applied itself; the runner applies the others (see
            `apply_shared_options`).
    """

    train: Split
    validation: Split
    test: Split | None
    num_classes: int
    class_names: tuple[str, ...]
    description: str
    applied: frozenset[str] = frozenset()  # shared options already applied: "train_limit", "val_split"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.features.shape[1:])


def check_finite(values: np.ndarray, where: str, limit: float | None = None) -> None:
    """Refuses NaN and inf (and, with `limit`, magnitudes above it) in one line naming
    `where` and the first example (row) that holds one."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return
    flat = values.reshape(len(values), -1) if values.ndim else values.reshape(1, 1)
    bad = ~np.isfinite(flat)
    what = "a non-finite value (NaN or inf)"
    if limit is not None and not bad.any():
        bad = np.abs(flat) > limit
        what = f"a value beyond +-{limit:g}"
    rows = np.flatnonzero(bad.any(axis=1))
    if len(rows):
        raise StudyError(f"{where}: {len(rows)} example(s) hold {what}, the first at example {int(rows[0])}; "
                         "fix or drop them")


def limit_examples(split: Split, limit: int | None) -> Split:
    """Returns the first `limit` examples of `split` (all of them when None)."""
    if limit is None:
        return split
    if limit <= 0:
        raise StudyError(f"{option_name('train_limit')} must be positive, got {limit}")
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
        applied=frozenset({"train_limit", "val_split"}),
    )


def apply_shared_options(data: DataSplits, train_limit: int | None, val_split: float | None,
                         split_seed: int) -> DataSplits:
    """Applies `--train-limit` and `--val-split` to any study's data where its
    source has not (`data.applied`): the first `train_limit` training examples;
    a held-out validation fraction where the data validates on its test split."""
    changes: dict = {}
    train, validation, test = data.train, data.validation, data.test
    notes = []
    if train_limit is not None and "train_limit" not in data.applied and len(train) > train_limit:
        train = limit_examples(train, train_limit)
        notes.append(f"first {len(train)} training examples")
    if val_split and "val_split" not in data.applied:
        if test is None:  # validating on the test split: hold a validation split out instead
            train, validation = hold_out(train, val_split, split_seed)
            test = data.validation
            notes.append(f"{len(validation)} validation examples held out of the training split (seed {split_seed})")
        else:
            notes.append("val_split not applied: the data already has its own validation split")
    if not notes:
        return dataclasses.replace(data, applied=data.applied | {"train_limit", "val_split"})
    changes.update(train=train, validation=validation, test=test,
                   description=f"{data.description}; {'; '.join(notes)}",
                   applied=data.applied | {"train_limit", "val_split"})
    return dataclasses.replace(data, **changes)


def from_arrays(
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    class_names: tuple[str, ...] | None = None,
    regression: bool = False,
    source: str = "arrays",
) -> DataSplits:
    """`DataSplits` from your own NumPy arrays, for a study's `load_data`.

    The test split is the validation split unless the run holds one out
    (`val_split=` / `--val-split`); `train_limit=` applies too.

    Args:
        x_train, y_train: training features (any shape, first axis examples)
            and labels (integers 0..K-1, or numbers with `regression`).
        x_test, y_test: test features and labels.
        class_names: names of the K classes (default "0".."K-1").
        regression: labels are real numbers (num_classes 0).
        source: one line saying where the data came from (shown in results.md).

    Raises:
        StudyError: mismatched lengths, non-finite values, labels outside 0..K-1.
    """
    splits = []
    for name, features, labels in (("training", x_train, y_train), ("test", x_test, y_test)):
        features, labels = np.asarray(features), np.asarray(labels)
        if len(features) != len(labels):
            raise StudyError(f"{source}: {len(features)} {name} examples but {len(labels)} labels")
        for what, array in (("features", features), ("labels", labels)):
            check_finite(array, f"{source}: {name} {what}")
        if not regression:
            if not np.issubdtype(labels.dtype, np.integer):
                if np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)):
                    labels = labels.astype(np.int64)
                else:
                    raise StudyError(f"{source}: {name} labels must be class numbers 0..K-1 "
                                     "(or pass regression=True)")
        splits.append(Split(features, labels))
    train, test = splits
    if regression:
        names: tuple[str, ...] = ()
    else:
        count = int(max(train.labels.max(initial=0), test.labels.max(initial=0))) + 1
        names = tuple(class_names) if class_names is not None else tuple(str(i) for i in range(count))
    data = make_splits(train, test, num_classes=len(names), class_names=names, source=source)
    return dataclasses.replace(data, applied=frozenset())  # the run applies train_limit and val_split
