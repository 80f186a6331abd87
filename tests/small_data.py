"""Tiny data sets in the on-disk formats of the small-data studies, made in the test."""

import bz2
import gzip
import pathlib
import struct

import h5py
import numpy as np


def write_usps_h5(path: pathlib.Path, train: int = 120, test: int = 40, seed: int = 0) -> pathlib.Path:
    """USPS layout: flat 16x16 floats in [0, 1]; the class sets one bright row, so it is learnable."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        for name, count in (("train", train), ("test", test)):
            labels = rng.integers(0, 10, count).astype(np.int32)
            images = rng.uniform(0, 0.2, (count, 16, 16)).astype(np.float32)
            images[np.arange(count), labels + 3, :] = 1.0
            handle[f"{name}/data"] = images.reshape(count, 256)
            handle[f"{name}/target"] = labels
    return path


def write_idx(path: pathlib.Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def write_fashion_idx(directory: pathlib.Path, train: int = 100, test: int = 40, seed: int = 0) -> pathlib.Path:
    """MNIST-style IDX files of 28x28 uint8 images; the class sets one bright row."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 50, (count, 28, 28)).astype(np.uint8)
        images[np.arange(count), labels * 2 + 4, :] = 255
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return directory


def write_house_csv(path: pathlib.Path, rows: int = 200, seed: int = 0) -> pathlib.Path:
    """Columns of the Kaggle file with a noisy linear price, plus a junk column and a missing value."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "Id": np.arange(rows),
        "OverallQual": rng.integers(1, 11, rows),
        "YearBuilt": rng.integers(1900, 2010, rows),
        "TotalBsmtSF": rng.uniform(0, 2000, rows).round(),
        "GrLivArea": rng.uniform(500, 3000, rows).round(),
        "Street": "Pave",
    })
    frame["SalePrice"] = (20000 * frame.OverallQual + 60 * frame.GrLivArea + 300 * (frame.YearBuilt - 1900)
                          + rng.normal(0, 15000, rows)).round()
    frame.loc[3, "TotalBsmtSF"] = np.nan
    frame.to_csv(path, index=False)
    return path


def write_libsvm_usps(path: pathlib.Path, labels, images) -> pathlib.Path:
    """The LIBSVM USPS format: label 1-10, then index:value with values in [-1, 1]."""
    with bz2.open(path, "wt") as handle:
        for label, image in zip(labels, images):
            values = image.reshape(-1) * 2.0 - 1.0
            handle.write(f"{label + 1} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(values)) + "\n")
    return path
