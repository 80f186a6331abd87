"""tf.data input pipelines built from in-memory splits."""

from __future__ import annotations

from typing import Callable

from kerashp.data.splits import Split

BatchFn = Callable  # (features, labels) -> (features, labels), applied to whole batches
AugmentFn = Callable  # (features, labels, seed) -> (features, labels); seed: int64 [2], see augment.py


def scale_to_unit(features, labels):
    """Casts uint8 pixels to float32 in [0, 1]; float features pass as float32."""
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
    """Returns a batched, prefetched tf.data pipeline over `split`.

    Order of operations: the decoded uint8 examples (already in memory, so the
    `cache` is the array itself) -> shuffle (training only, all examples, a new
    order each epoch, reproducible from `seed`) -> batch -> `preprocess` on whole
    batches -> `augment` (training only) -> prefetch. Work on batches rather than
    single examples keeps the per-element overhead out of the step time.
    """
    import tensorflow as tf

    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
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
