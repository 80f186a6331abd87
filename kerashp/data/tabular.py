"""Tabular regression data from CSV files (pandas), standardised with training statistics."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Sequence

import numpy as np

from kerashp.data.splits import DataSplits, Split
from kerashp.errors import StudyError

# Beyond this a value cannot be standardised in float64 without losing the others (1e308 squared is inf).
MAX_MAGNITUDE = 1e15


@dataclasses.dataclass(frozen=True)
class Standardizer:
    """x -> (x - mean) / std with statistics of the training part only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Standardizer":
        std = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.std).astype(np.float32)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean


def split_indices(count: int, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Disjoint, sorted index sets of the given fractions (summing to 1) of a fixed-seed permutation."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) <= 0:
        raise StudyError(f"train/validation/test fractions must be three positive numbers summing to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(count)
    first = int(round(count * fractions[0]))
    second = first + int(round(count * fractions[1]))
    parts = [order[:first], order[first:second], order[second:]]
    if any(len(part) == 0 for part in parts):
        raise StudyError(f"{count} rows are too few for a train/validation/test split of {fractions}")
    return [np.sort(part) for part in parts]


def numeric_columns(frame, path: pathlib.Path):
    """`frame` as numbers; empty cells (and NA) become NaN, anything else that is
    not a number ("$208,500", "n/a?") is refused, naming the first one."""
    import pandas as pd

    numeric = frame.apply(pd.to_numeric, errors="coerce")
    unreadable = numeric.isna() & frame.notna()
    if unreadable.to_numpy().any():
        rows = unreadable.any(axis=1)
        column = unreadable.columns[unreadable.loc[rows.idxmax()].to_numpy().argmax()]
        row = unreadable[column].idxmax()
        raise StudyError(
            f"{path}: {int(rows.sum())} row(s) hold values that are not numbers, the first "
            f"{frame.at[row, column]!r} in column {column} on line {frame.index.get_loc(row) + 2}; "
            "write plain numbers (no currency signs or thousands separators)"
        )
    return numeric


def load_csv_regression(
    path: str | pathlib.Path,
    features: Sequence[str],
    target: str,
    *,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    train_limit: int | None = None,
) -> tuple[DataSplits, Standardizer]:
    """Reads `features` and `target` from a CSV into standardised train/validation/test splits.

    Rows with a missing feature or target are left out (the description
    counts them); a value that is not a number is refused (StudyError). Features and target
    are standardised with the mean and std of the training rows only; the
    returned target `Standardizer` maps predictions back to the CSV's units.
    `train_limit` keeps the first N training rows (after the split).
    """
    import pandas as pd

    path = pathlib.Path(path).expanduser()
    if not path.exists():
        raise StudyError(f"CSV file {path} does not exist")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise StudyError(f"could not read {path}: {str(error).splitlines()[0]}") from None
    missing = [column for column in (*features, target) if column not in frame]
    if missing:
        raise StudyError(f"{path} has no column {', '.join(missing)}")
    frame = numeric_columns(frame[[*features, target]], path)
    values = frame.to_numpy(np.float64)
    infinite = np.isinf(values) | (np.abs(np.nan_to_num(values)) > MAX_MAGNITUDE)
    if infinite.any():
        row, column = map(int, np.argwhere(infinite)[0])
        raise StudyError(f"{path}: {int(infinite.any(axis=1).sum())} row(s) hold values that are infinite or beyond "
                         f"+-{MAX_MAGNITUDE:g}, the first {frame.iat[row, column]!r} in column {frame.columns[column]} "
                         f"on line {row + 2}; fix or drop them")
    missing_rows = int(frame.isna().any(axis=1).sum())
    frame = frame.dropna()
    x = frame[list(features)].to_numpy(np.float64)
    y = frame[target].to_numpy(np.float64)
    train_index, val_index, test_index = split_indices(len(frame), fractions, seed)
    if train_limit is not None:
        train_index = train_index[:train_limit]
    x_scaler = Standardizer.fit(x[train_index])
    y_scaler = Standardizer.fit(y[train_index])

    def part(index: np.ndarray) -> Split:
        return Split(x_scaler.transform(x[index]), y_scaler.transform(y[index]))

    dropped = f", {missing_rows} row(s) with a missing value left out" if missing_rows else ""
    description = (
        f"{path.name}: {len(train_index)} train / {len(val_index)} validation / {len(test_index)} test rows "
        f"(seed {seed}{dropped}); features {', '.join(features)} and target {target} standardised with training statistics"
    )
    splits = DataSplits(
        train=part(train_index), validation=part(val_index), test=part(test_index),
        num_classes=0, class_names=(), description=description, applied=frozenset({"train_limit"}),
    )
    return splits, y_scaler
