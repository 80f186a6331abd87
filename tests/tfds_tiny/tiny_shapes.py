"""`tiny_shapes`: a tensorflow-datasets builder whose source is files a test writes.

Defining the class registers it with tfds under the name `tiny_shapes`, so
`--data tiny_shapes` goes through tfds' own `download_and_prepare` (TFRecord
shards written into `--data-dir`) and `as_dataset`, as `cifar10` does online.
Set `TinyShapes.source_dir` to a directory with `train.npz` and `test.npz`
(arrays `images` (N, 12, 12, 1) uint8 and `labels` (N,) in 0..2) first.
"""

from __future__ import annotations

import pathlib

import numpy as np
import tensorflow_datasets as tfds

CLASS_NAMES = ("bar", "cross", "dot")


class TinyShapes(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")
    source_dir: pathlib.Path | None = None

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(12, 12, 1)),
                "label": tfds.features.ClassLabel(names=CLASS_NAMES),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(pathlib.Path(self.source_dir) / f"{split}.npz")
                for split in ("train", "test")}

    def _generate_examples(self, path):
        with np.load(path) as arrays:
            for index, (image, label) in enumerate(zip(arrays["images"], arrays["labels"])):
                yield index, {"image": image, "label": int(label)}


def write_source(directory: pathlib.Path, sizes=(("train", 90), ("test", 30)), seed: int = 0) -> dict:
    """Writes learnable source files: each class a fixed 12x12 pattern plus noise."""
    rng = np.random.default_rng(seed)
    patterns = np.zeros((3, 12, 12), np.float32)
    patterns[0, 5:7, :] = 1  # bar
    patterns[1, 5:7, :] = patterns[1, :, 5:7] = 1  # cross
    patterns[2, 4:8, 4:8] = 1  # dot
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, size in sizes:
        labels = rng.integers(0, 3, size)
        images = np.clip(patterns[labels] * 200 + rng.normal(0, 25, (size, 12, 12)), 0, 255).astype(np.uint8)
        np.savez(directory / f"{split}.npz", images=images[..., np.newaxis], labels=labels)
        written[split] = (images[..., np.newaxis], labels)
    return written
