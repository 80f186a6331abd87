"""Makes the small real data samples shipped in kerashp/data/samples/.

    python scripts/make_samples.py cifar10 ../shared/datasets/cifar10-jpeg.tar.gz
    python scripts/make_samples.py cifar10_10k ../shared/datasets/cifar10-jpeg.tar.gz
    python scripts/make_samples.py fashion_mnist ../shared/datasets/fashion-mnist
    python scripts/make_samples.py usps ../shared/datasets/usps.h5
    python scripts/make_samples.py house_prices ../shared/datasets/house-prices/train.csv

Image samples take, per class, the first N training and M test examples of a
fixed-seed (seed 2026) permutation of that class's examples (fewer where a
class has fewer), mixed in a fixed-seed order. See samples/PROVENANCE.md.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

from kerashp.data.image_folder import decode_images, list_class_folder
from kerashp.data.local_files import read_h5_splits, read_idx_directory
from kerashp.data.sources import SAMPLES_DIR, resolve_folder, sample_path

SEED = 2026
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
HOUSE_COLUMNS = ("OverallQual", "YearBuilt", "TotalBsmtSF", "GrLivArea", "SalePrice")
HOUSE_ROWS = 400
# (train per class, test per class)
PER_CLASS = {"cifar10": (200, 50), "cifar10_10k": (1000, 50), "fashion_mnist": (300, 100), "usps": (200, 50)}


def pick_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `per_class` indices of each label, from a seeded permutation, mixed."""
    chosen = []
    for label in np.unique(labels):
        chosen.extend(rng.permutation(np.flatnonzero(labels == label))[:per_class])
    return rng.permutation(np.asarray(chosen))


def cifar10_arrays(source: str, rng: np.random.Generator):
    root = resolve_folder(source, None)
    arrays, class_names = {}, None
    for split, per_class in zip(("train", "test"), PER_CLASS["cifar10"]):
        paths, labels, class_names = list_class_folder(root / split, class_names)
        chosen = pick_indices(labels, per_class, rng)
        arrays[f"{split}_images"] = decode_images([paths[i] for i in chosen])
        arrays[f"{split}_labels"] = labels[chosen].astype(np.uint8)
    return arrays, class_names


def cifar10_jpeg_arrays(source: str, rng: np.random.Generator):
    """As `cifar10_arrays`, but each image kept as its JPEG file's bytes: `<split>_jpeg` (the
    files concatenated; compressed, their repeated headers cost little) and `<split>_ends`
    (where each ends)."""
    root = resolve_folder(source, None)
    arrays, class_names = {}, None
    for split, per_class in zip(("train", "test"), PER_CLASS["cifar10_10k"]):
        paths, labels, class_names = list_class_folder(root / split, class_names)
        chosen = pick_indices(labels, per_class, rng)
        blobs = [pathlib.Path(paths[i]).read_bytes() for i in chosen]
        arrays[f"{split}_jpeg"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        arrays[f"{split}_ends"] = np.cumsum([len(blob) for blob in blobs]).astype(np.int64)
        arrays[f"{split}_labels"] = labels[chosen].astype(np.uint8)
    return arrays, class_names


def split_arrays(train, test, name: str, rng: np.random.Generator, dtype) -> dict[str, np.ndarray]:
    arrays = {}
    for split_name, split, per_class in zip(("train", "test"), (train, test), PER_CLASS[name]):
        chosen = pick_indices(split.labels, per_class, rng)
        arrays[f"{split_name}_images"] = split.features[chosen].astype(dtype)
        arrays[f"{split_name}_labels"] = split.labels[chosen].astype(np.uint8)
    return arrays


def write_house_prices(source: str, rng: np.random.Generator) -> pathlib.Path:
    import pandas as pd

    frame = pd.read_csv(source, usecols=list(HOUSE_COLUMNS))[list(HOUSE_COLUMNS)]
    rows = np.sort(rng.permutation(len(frame))[:HOUSE_ROWS])
    path = SAMPLES_DIR / "house_prices_sample.csv"
    frame.iloc[rows].to_csv(path, index=False)
    print(f"wrote {path}: {len(rows)} of {len(frame)} rows, columns {', '.join(HOUSE_COLUMNS)}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=(*PER_CLASS, "house_prices"))
    parser.add_argument("source", help="the full local copy (see ../shared/datasets/README.md)")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    if args.name == "house_prices":
        write_house_prices(args.source, rng)
        return
    if args.name == "cifar10":
        arrays, class_names = cifar10_arrays(args.source, rng)
    elif args.name == "cifar10_10k":
        arrays, class_names = cifar10_jpeg_arrays(args.source, rng)
    elif args.name == "fashion_mnist":
        arrays, class_names = split_arrays(*read_idx_directory(pathlib.Path(args.source)), "fashion_mnist", rng,
                                           np.uint8), FASHION_CLASSES
    else:  # usps: floats in [0, 1], kept as float16 (exact to 1e-3)
        arrays, class_names = split_arrays(*read_h5_splits(pathlib.Path(args.source)), "usps", rng,
                                           np.float16), tuple(str(i) for i in range(10))
    path = sample_path(args.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, class_names=np.asarray(class_names), **arrays)
    print(f"wrote {path}: {len(arrays['train_labels'])} train + {len(arrays['test_labels'])} test images, "
          f"{path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
