"""Makes kerashp/data/samples/cifar10_sample.npz from a CIFAR-10 image-folder copy.

    python scripts/make_cifar10_sample.py ../shared/datasets/cifar10-jpeg.tar.gz

Takes, per class, the first 200 training and 50 test images of a fixed-seed
(seed 2026) permutation of that class's files, decoded to uint8.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

from kerashp.data.image_folder import decode_images, list_class_folder
from kerashp.data.sources import SAMPLE_PATH, resolve_folder

SEED = 2026


def pick(root: pathlib.Path, per_class: int, rng: np.random.Generator, class_names=None):
    paths, labels, class_names = list_class_folder(root, class_names)
    chosen = []
    for label in range(len(class_names)):
        indices = np.flatnonzero(labels == label)
        chosen.extend(rng.permutation(indices)[:per_class])
    chosen = rng.permutation(np.asarray(chosen))  # mix the classes
    return decode_images([paths[i] for i in chosen]), labels[chosen].astype(np.uint8), class_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", help="CIFAR-10 image folders or their .tar.gz")
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--test-per-class", type=int, default=50)
    args = parser.parse_args()
    root = resolve_folder(args.source, None)
    rng = np.random.default_rng(SEED)
    train_images, train_labels, class_names = pick(root / "train", args.train_per_class, rng)
    test_images, test_labels, _ = pick(root / "test", args.test_per_class, rng, class_names)
    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        SAMPLE_PATH,
        train_images=train_images, train_labels=train_labels,
        test_images=test_images, test_labels=test_labels,
        class_names=np.asarray(class_names),
    )
    print(f"wrote {SAMPLE_PATH}: {len(train_labels)} train + {len(test_labels)} test images")


if __name__ == "__main__":
    main()
