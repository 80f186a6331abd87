"""Readers for data sets kept as local files in their native formats.

- HDF5 with `train/data`, `train/target`, `test/data`, `test/target` (the USPS
  layout of `../shared/datasets/usps.h5`): flat square images become
  (side, side, 1);
- a directory of IDX files (MNIST / FashionMNIST: `train-images-idx3-ubyte[.gz]`,
  `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
  `t10k-labels-idx1-ubyte[.gz]`, the names Keras and tfds download).
"""

from __future__ import annotations

import gzip
import math
import pathlib

import numpy as np

from kerashp.data.splits import Split, check_finite
from kerashp.errors import StudyError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}


def image_shape_of(flat_size: int) -> tuple[int, int, int]:
    """(side, side, 1) for a flattened square grayscale image."""
    side = math.isqrt(flat_size)
    if side * side != flat_size:
        raise StudyError(f"cannot reshape rows of {flat_size} values into square images")
    return side, side, 1


def read_h5_splits(path: pathlib.Path) -> tuple[Split, Split]:
    """Reads train and test splits from an HDF5 file with data/target per split."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            splits = []
            for name in ("train", "test"):
                features = np.asarray(handle[f"{name}/data"], dtype=np.float32)
                labels = np.asarray(handle[f"{name}/target"]).astype(np.int32)
                if len(features) != len(labels):
                    raise StudyError(f"{path}: {name}/data has {len(features)} rows but {name}/target "
                                     f"{len(labels)} labels")
                check_finite(features, f"{path} {name}/data")
                if features.ndim == 2:
                    features = features.reshape((-1, *image_shape_of(features.shape[1])))
                splits.append(Split(features, labels))
    except KeyError as error:
        raise StudyError(f"{path} lacks {error} (expected train/data, train/target, test/data, test/target)") from None
    except OSError as error:
        raise StudyError(f"could not read {path}: {error}") from None
    return splits[0], splits[1]


def read_idx(path: pathlib.Path) -> np.ndarray:
    """Reads one IDX file (gzip-compressed or not) into an array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        content = handle.read()
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in IDX_DTYPES:
        raise StudyError(f"{path} is not an IDX file")
    dtype = np.dtype(IDX_DTYPES[content[2]]).newbyteorder(">")
    ndim = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(content, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise StudyError(f"{path} is truncated: {data.size} values for shape {shape}")
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def find_idx(directory: pathlib.Path, stem: str) -> pathlib.Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.exists():
            return candidate
    raise StudyError(f"{directory} has no {stem}[.gz] (expected the four MNIST-style IDX files)")


def read_idx_directory(directory: pathlib.Path) -> tuple[Split, Split]:
    """Reads train and test splits from a directory of MNIST-style IDX files."""
    splits = []
    for name in ("train", "test"):
        images_stem, labels_stem = IDX_FILES[name]
        images = read_idx(find_idx(directory, images_stem))
        labels = read_idx(find_idx(directory, labels_stem)).astype(np.int32)
        if len(images) != len(labels):
            raise StudyError(f"{directory}: {images_stem} holds {len(images)} images but {labels_stem} "
                             f"{len(labels)} labels")
        if images.ndim == 3:
            images = images[..., np.newaxis]
        splits.append(Split(images, labels))
    return splits[0], splits[1]


def read_local(path_text: str) -> tuple[Split, Split]:
    """Reads the train and test splits of `file:PATH` (an .h5 file or an IDX directory)."""
    path = pathlib.Path(path_text).expanduser()
    if not path.exists():
        raise StudyError(f"data path {path} does not exist")
    if path.is_dir():
        return read_idx_directory(path)
    if path.suffix in (".h5", ".hdf5"):
        return read_h5_splits(path)
    raise StudyError(f"data path {path}: expected an .h5 file or a directory of IDX files")
