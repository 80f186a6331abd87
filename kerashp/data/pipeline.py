"""Input pipelines built from in-memory splits: tf.data where TensorFlow is
installed, otherwise a NumPy `keras.utils.PyDataset` that any Keras backend reads."""

from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np

from kerashp import backends
from kerashp.data.splits import Split

BatchFn = Callable  # (features, labels) -> (features, labels), applied to whole batches
AugmentFn = Callable  # (features, labels, seed) -> (features, labels); seed: int64 [2], see augment.py


def scale_to_unit(features, labels):
    """Casts uint8 pixels to float32 in [0, 1]; float features pass as float32
    (TensorFlow tensors in a tf.data map, NumPy arrays in `ArrayBatches`)."""
    if isinstance(features, np.ndarray):
        if features.dtype == np.uint8:
            return features.astype(np.float32) / 255.0, labels
        return features.astype(np.float32, copy=False), labels
    import tensorflow as tf

    if features.dtype == tf.uint8:
        return tf.cast(features, tf.float32) / 255.0, labels
    return tf.cast(features, tf.float32), labels


def make_dataset(
    split: Split,
    batch_size: int,
    *,
    training: bool,
    seed: int | None = None,
    preprocess: BatchFn | None = scale_to_unit,
    augment: AugmentFn | None = None,
):
    """Returns a batched, prefetched tf.data pipeline over `split` (an
    `ArrayBatches` where TensorFlow is absent).

    Order of operations: the decoded uint8 examples (already in memory, so the
    `cache` is the array itself) -> shuffle (training only, all examples, a new
    order each epoch, reproducible from `seed`) -> batch -> `preprocess` on whole
    batches -> `augment` (training only) -> prefetch. Work on batches rather than
    single examples keeps the per-element overhead out of the step time.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    tf = backends.tensorflow()
    if tf is None:
        return ArrayBatches(split, batch_size, training=training, seed=seed, preprocess=preprocess, augment=augment)
    dataset = tf.data.Dataset.from_tensor_slices((split.features, split.labels))
    if training:
        dataset = dataset.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if preprocess is not None:
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment is not None:
        # One [2]-shaped seed per batch from a seeded stream that changes every epoch:
        # `augment` draws statelessly from it, so parallel mapping stays reproducible.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda batch, batch_seed: augment(*batch, batch_seed), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


class ArrayBatches(keras.utils.PyDataset):
    """`make_dataset` without TensorFlow: batches of a split's NumPy arrays.

    Same order of operations as the tf.data pipeline: a new permutation each
    epoch (training only; drawn from `seed` and the epoch number, so runs with
    one seed see the same batches), then `preprocess` and (training only)
    `augment` on whole batches, in NumPy. `augment` receives a per-batch seed
    (two integers) from the same stream and must draw from it alone (see
    `kerashp.data.augment.pad_crop_flip`). Batches are prepared in the training
    process (`keras.utils.PyDataset` can spread them over worker threads).

    Args:
        repeat_targets: give each batch's labels as a tuple of this many copies
            (the targets of a packed model, `kerashp.tuning.packing`); 0: as is.
    """

    def __init__(self, split: Split, batch_size: int, *, training: bool, seed: int | None = None,
                 preprocess: BatchFn | None = scale_to_unit, augment: AugmentFn | None = None,
                 repeat_targets: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.split, self.batch_size, self.training = split, batch_size, training
        self.seed = 0 if seed is None else seed
        self.preprocess, self.augment, self.repeat_targets = preprocess, augment, repeat_targets
        self.epoch = 0
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.training:
            return np.arange(len(self.split))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.split))

    def with_repeated_targets(self, count: int) -> "ArrayBatches":
        """The same batches with `count` copies of the labels (see `repeat_targets`)."""
        return ArrayBatches(self.split, self.batch_size, training=self.training, seed=self.seed,
                            preprocess=self.preprocess, augment=self.augment, repeat_targets=count)

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        features, labels = self.split.features[rows], self.split.labels[rows]
        if self.preprocess is not None:
            features, labels = self.preprocess(features, labels)
        if self.training and self.augment is not None:
            features, labels = self.augment(features, labels, np.array([self.seed, self.epoch * len(self) + index]))
        if self.repeat_targets:
            labels = (labels,) * self.repeat_targets
        return features, labels

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._permutation()
