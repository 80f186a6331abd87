"""USPS handwritten digits (Hull 1994): download and parse the public LIBSVM copy.

Offline, pass the data as a local HDF5 file instead (`--data file:PATH.h5`,
read by `kerashp.data.local_files`).
"""

from __future__ import annotations

import bz2
import pathlib

import numpy as np

from kerashp.data.splits import Split
from kerashp.errors import StudyError

LIBSVM_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}
NUM_FEATURES = 256  # 16 x 16


def parse_libsvm_usps(path: pathlib.Path) -> Split:
    """Parses a (bz2) LIBSVM USPS file: labels 1-10 become 0-9, values in
    [-1, 1] become pixels in [0, 1], shaped (16, 16, 1)."""
    opener = bz2.open if path.suffix == ".bz2" else open
    features, labels = [], []
    with opener(path, "rt") as handle:
        for line in handle:
            parts = line.split()
            if not parts:
                continue
            row = np.zeros(NUM_FEATURES, dtype=np.float32)
            for item in parts[1:]:
                index, value = item.split(":")
                row[int(index) - 1] = float(value)
            labels.append(int(float(parts[0])) - 1)
            features.append(row)
    if not labels:
        raise StudyError(f"{path} holds no examples")
    images = ((np.stack(features) + 1.0) / 2.0).reshape(-1, 16, 16, 1)
    return Split(np.clip(images, 0.0, 1.0), np.asarray(labels, dtype=np.int32))


def download_usps(data_dir: str | None) -> tuple[Split, Split]:
    """Downloads (once, cached by `keras.utils.get_file`) and parses USPS."""
    import keras

    splits = []
    for name in ("train", "test"):
        try:
            path = keras.utils.get_file(
                FILES[name], origin=LIBSVM_URL + FILES[name], cache_dir=data_dir, cache_subdir="usps"
            )
        except Exception as error:  # urllib raises several kinds offline
            raise StudyError(
                f"could not download USPS ({str(error).splitlines()[0][:120]}); offline, use "
                "--data file:PATH.h5 (train/data, train/target, test/data, test/target)"
            ) from None
        splits.append(parse_libsvm_usps(pathlib.Path(path)))
    return splits[0], splits[1]
