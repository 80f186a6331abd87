"""Batch-level augmentation and normalisation for image pipelines (tf.data map functions, or NumPy)."""

from __future__ import annotations

import numpy as np

from kerashp.data.splits import Split


def pad_crop_flip(pad: int = 4):
    """Random crop of the original size from the image zero-padded by `pad` pixels,
    then a random horizontal flip; each image of the batch draws its own offsets
    and flip. Returns an `(images, labels, seed) -> (images, labels)` batch
    function: the draws are stateless functions of `seed` (shape [2]), so a
    pipeline that feeds it seeds from a seeded stream (`make_dataset`) augments
    identically in every run with that seed, however tf.data schedules its
    parallel map. Given NumPy arrays (the pipeline without TensorFlow), it
    works in NumPy, drawing from `numpy.random.default_rng(seed)`."""

    def augment(images, labels, seed):
        if isinstance(images, np.ndarray):
            return numpy_pad_crop_flip(images, np.random.default_rng(np.asarray(seed)), pad), labels
        import tensorflow as tf

        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
        padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        offset_y = tf.random.stateless_uniform([batch], seeds[0], 0, 2 * pad + 1, dtype=tf.int32)
        offset_x = tf.random.stateless_uniform([batch], seeds[1], 0, 2 * pad + 1, dtype=tf.int32)
        rows = offset_y[:, None] + tf.range(height)[None, :]
        cols = offset_x[:, None] + tf.range(width)[None, :]
        cropped = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
        flip = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[2]) < 0.5
        return tf.where(flip, tf.reverse(cropped, axis=[2]), cropped), labels

    return augment


def numpy_pad_crop_flip(images: np.ndarray, rng: np.random.Generator, pad: int) -> np.ndarray:
    """`pad_crop_flip` in NumPy: a batch (N, H, W, C) cropped and flipped, image by image."""
    batch, height, width = images.shape[:3]
    padded = np.pad(images, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    offset_y = rng.integers(0, 2 * pad + 1, batch)
    offset_x = rng.integers(0, 2 * pad + 1, batch)
    flip = rng.random(batch) < 0.5
    out = np.empty_like(images)
    for i in range(batch):
        crop = padded[i, offset_y[i]:offset_y[i] + height, offset_x[i]:offset_x[i] + width]
        out[i] = crop[:, ::-1] if flip[i] else crop
    return out


def channel_statistics(split: Split, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of a split's pixels scaled to [0, 1].

    Accumulated in float64 over chunks, so a 50,000-image split never needs a
    full floating-point copy in memory.
    """
    channels = split.features.shape[-1]
    total = np.zeros(channels)
    total_sq = np.zeros(channels)
    count = 0
    for start in range(0, len(split), chunk):
        pixels = split.features[start:start + chunk].reshape(-1, channels).astype(np.float64) / 255.0
        total += pixels.sum(axis=0)
        total_sq += np.square(pixels).sum(axis=0)
        count += len(pixels)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
    return mean.astype(np.float32), std.astype(np.float32)


def normalize_channels(mean: np.ndarray, std: np.ndarray):
    """A batch function scaling uint8 pixels to [0, 1], then `(x - mean) / std` per channel
    (on TensorFlow tensors in a tf.data map, on NumPy arrays without TensorFlow)."""
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)

    def normalize(images, labels):
        if isinstance(images, np.ndarray):
            return (images.astype(np.float32) / 255.0 - mean) / std, labels
        import tensorflow as tf

        return (tf.cast(images, tf.float32) / 255.0 - mean) / std, labels

    return normalize
