"""Augmentation touches training batches only; normalisation uses training statistics."""

import numpy as np
import tensorflow as tf

from kerashp.data import Split, make_dataset
from kerashp.data.augment import channel_statistics, normalize_channels, pad_crop_flip


def image_split(n=32):
    rng = np.random.default_rng(0)
    return Split(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n, dtype=np.int32))


def test_crop_and_flip_change_training_batches_but_not_validation():
    split = image_split()
    tf.random.set_seed(0)
    augmented = make_dataset(split, 32, training=True, seed=0, augment=pad_crop_flip(4))
    plain = make_dataset(split, 32, training=True, seed=0)
    (xa, ya), (xp, yp) = next(iter(augmented)), next(iter(plain))
    np.testing.assert_array_equal(ya, yp)  # same order: only the pixels differ
    changed = [not np.array_equal(a, p) for a, p in zip(xa.numpy(), xp.numpy())]
    assert sum(changed) >= 28  # 1 in 162 (offset 4,4 and no flip) stays unchanged
    # Every augmented image is a shifted/flipped window of its padded original.
    original = np.pad(split.features[ya[0]] / 255.0, [(4, 4), (4, 4), (0, 0)])
    windows = [original[i:i + 32, j:j + 32] for i in range(9) for j in range(9)]
    assert any(np.allclose(xa[0], w) or np.allclose(xa[0], w[:, ::-1]) for w in windows)
    validation = make_dataset(split, 32, training=False, augment=pad_crop_flip(4))
    for _ in range(2):
        x, y = next(iter(validation))
        np.testing.assert_allclose(x.numpy(), split.features / 255.0, rtol=1e-6)


def epochs_of(dataset, epochs=2):
    """The images of a pipeline of `epochs` epochs, one array per epoch."""
    images = np.concatenate([x.numpy() for x, _ in dataset])
    return np.split(images, epochs)


def test_augmentation_is_reproducible_from_the_seed_and_new_each_epoch():
    split = image_split(96)

    def pipeline(seed, first_epoch=0, num_epochs=2):
        return make_dataset(split, 16, training=True, seed=seed, augment=pad_crop_flip(4),
                            first_epoch=first_epoch, num_epochs=num_epochs)

    first, again, other = epochs_of(pipeline(0)), epochs_of(pipeline(0)), epochs_of(pipeline(1))
    for epoch in range(2):
        np.testing.assert_array_equal(first[epoch], again[epoch])  # same seed: identical, parallel map or not
    assert not np.array_equal(first[0], first[1])  # a new order and new crops every epoch
    assert not np.array_equal(first[0], other[0])
    # A resumed run's pipeline (from epoch 1) crops and flips as the uninterrupted run's epoch 1.
    np.testing.assert_array_equal(epochs_of(pipeline(0, first_epoch=1, num_epochs=1), 1)[0], first[1])


def test_per_channel_normalisation():
    split = image_split(64)
    mean, std = channel_statistics(split)
    x, _ = normalize_channels(mean, std)(tf.constant(split.features), None)
    x = x.numpy().reshape(-1, 3)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-3)
