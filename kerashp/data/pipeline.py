"""Input pipelines built from in-memory splits: tf.data where TensorFlow is
installed, otherwise a NumPy `keras.utils.PyDataset` that any Keras backend reads."""

from __future__ import annotations

import collections
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


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be smaller)."""
    return math.ceil(num_examples / batch_size)


def make_dataset(
    split: Split,
    batch_size: int,
    *,
    training: bool,
    seed: int | None = None,
    preprocess: BatchFn | None = scale_to_unit,
    augment: AugmentFn | None = None,
    first_epoch: int = 0,
    num_epochs: int = 1,
    tensors: tuple | None = None,
):
    """Returns a batched, prefetched tf.data pipeline over `split` (an
    `ArrayBatches` where TensorFlow is absent).

    Order of operations: the decoded examples (already in memory) -> batches
    of indices (training: a permutation of all examples per epoch) -> gather ->
    `preprocess` on whole batches -> `augment` (training only) -> prefetch.
    Work on batches rather than single examples keeps the per-element overhead
    out of the step time.

    Training pipelines hold epochs `first_epoch`, ..., `first_epoch + num_epochs - 1`
    one after the other: epoch e's order is a permutation drawn from (`seed`, e) and
    batch i's augmentation seed is (`seed`, e * batches_per_epoch + i), stateless
    functions of their numbers. So a run resumed at epoch k (`first_epoch=k`)
    sees exactly the batches the uninterrupted run saw from epoch k on, and
    parallel mapping or tf.distribute cannot change them. Fit such a pipeline
    with `steps_per_epoch=steps_per_epoch(len(split), batch_size)`.

    `tensors`: the split's features and labels as TensorFlow tensors made before
    (`split_tensors`), so that pipelines over one split share one copy of it.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    tf = backends.tensorflow()
    if tf is None:
        return ArrayBatches(split, batch_size, training=training, seed=seed, preprocess=preprocess, augment=augment,
                            first_epoch=first_epoch)
    features, labels = tensors if tensors is not None else split_tensors(split)
    count, batches = len(split), steps_per_epoch(len(split), batch_size)
    seed = tf.constant(0 if seed is None else seed, tf.int64)

    def epoch_batches(epoch):
        indices = tf.range(count, dtype=tf.int64)
        if training:
            indices = tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([seed, epoch]))
        steps = tf.data.Dataset.range(batches).map(lambda i: epoch * batches + i)
        return tf.data.Dataset.zip(steps, tf.data.Dataset.from_tensor_slices(indices).batch(batch_size))

    start, epochs = (first_epoch, num_epochs) if training else (0, 1)
    dataset = tf.data.Dataset.range(start, start + epochs)
    dataset = dataset.flat_map(epoch_batches).apply(tf.data.experimental.assert_cardinality(epochs * batches))
    dataset = dataset.map(lambda step, rows: (step, tf.gather(features, rows), tf.gather(labels, rows)),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if preprocess is not None:
        dataset = dataset.map(lambda step, x, y: (step, *preprocess(x, y)), num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment is not None:
        # `augment` draws statelessly from the batch's own seed, so parallel mapping stays reproducible.
        dataset = dataset.map(lambda step, x, y: augment(x, y, tf.stack([seed, step])),
                              num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(lambda step, x, y: (x, y))
    return dataset.prefetch(tf.data.AUTOTUNE)


def split_tensors(split: Split) -> tuple:
    """The split's features and labels as TensorFlow constants (a copy of each array)."""
    tf = backends.tensorflow()
    return tf.constant(split.features), tf.constant(split.labels)


class Pipelines:
    """The input pipelines of a study's runs, each built once and handed out again.

    Building a tf.data pipeline traces its functions (38-47 ms for the FashionMNIST
    grid's on 2 CPU cores, against epochs of a fraction of a second), and the runs of
    a search ask for the same ones again and again: every evaluation pipeline is the
    same for every run, and a training pipeline depends only on the split, batch size,
    seed and epochs (`make_dataset`: stateless, so a pipeline iterated again gives the
    same batches), e.g. one for all first rungs of a pruned search. Evaluation
    pipelines are kept; training pipelines, the `max_training` most recently used.
    All of them share one copy of each split's tensors. A training `ArrayBatches`
    (no TensorFlow) counts its epochs, so each run gets its own.

    Args:
        max_training: training pipelines kept.
    """

    def __init__(self, max_training: int = 8):
        self.max_training = max_training
        self._tensors: dict[int, tuple[Split, tuple]] = {}
        self._evaluation: dict[tuple, tuple[Split, object]] = {}
        self._training: collections.OrderedDict[tuple, tuple[Split, object]] = collections.OrderedDict()

    def tensors(self, split: Split) -> tuple:
        """`split_tensors(split)`, made once per split."""
        cached = self._tensors.get(id(split))
        if cached is None or cached[0] is not split:
            cached = self._tensors[id(split)] = (split, split_tensors(split))
        return cached[1]

    def get(self, split: Split, batch_size: int, *, training: bool, seed: int | None = None,
            preprocess: BatchFn | None = scale_to_unit, augment: AugmentFn | None = None, first_epoch: int = 0,
            num_epochs: int = 1):
        """`make_dataset` with these arguments (`preprocess` and `augment` are taken to be
        the same on every call), built on its first request."""
        key = (id(split), batch_size, seed, first_epoch, num_epochs) if training else (id(split), batch_size)
        store = self._training if training else self._evaluation
        cached = store.get(key)
        if cached is not None and cached[0] is split:
            if training:
                self._training.move_to_end(key)
            return cached[1]
        tensors = self.tensors(split) if backends.tensorflow() is not None else None
        dataset = make_dataset(split, batch_size, training=training, seed=seed, preprocess=preprocess,
                               augment=augment if training else None, first_epoch=first_epoch, num_epochs=num_epochs,
                               tensors=tensors)
        if training and isinstance(dataset, ArrayBatches):
            return dataset
        store[key] = (split, dataset)
        while len(self._training) > self.max_training:
            self._training.popitem(last=False)
        return dataset


class ArrayBatches(keras.utils.PyDataset):
    """`make_dataset` without TensorFlow: batches of a split's NumPy arrays.

    Same order of operations as the tf.data pipeline: a new permutation each
    epoch (training only; drawn from `seed` and the epoch number, counted from
    `first_epoch`, so runs with one seed see the same batches, and a resumed
    run those of the uninterrupted one), then `preprocess` and (training only)
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
                 repeat_targets: int = 0, first_epoch: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.split, self.batch_size, self.training = split, batch_size, training
        self.seed = 0 if seed is None else seed
        self.preprocess, self.augment, self.repeat_targets = preprocess, augment, repeat_targets
        self.epoch = first_epoch
        self._order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.training:
            return np.arange(len(self.split))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.split))

    def with_repeated_targets(self, count: int) -> "ArrayBatches":
        """The same batches with `count` copies of the labels (see `repeat_targets`)."""
        return ArrayBatches(self.split, self.batch_size, training=self.training, seed=self.seed,
                            preprocess=self.preprocess, augment=self.augment, repeat_targets=count,
                            first_epoch=self.epoch)

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
