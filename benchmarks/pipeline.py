"""The training input pipeline against the one it replaced, as a ratio in one process.

    python benchmarks/pipeline.py

`kerashp.data.make_dataset` (a stream of epochs whose order and crop/flip seeds are stateless
functions of (seed, epoch, step)) against the earlier tf.data pipeline (`shuffle` with
`reshuffle_each_iteration` and a `Dataset.random` seed stream): images/s of iterating one epoch
of 20,000 random CIFAR-sized uint8 images with scaling and crop/flip, 4 rounds, alternating
order; prints each rate and the new/old ratios.
"""
import time

import numpy as np
import tensorflow as tf

from kerashp.data import Split, make_dataset
from kerashp.data.pipeline import scale_to_unit
from kerashp.data.augment import pad_crop_flip
rng = np.random.default_rng(0)
split = Split(rng.integers(0, 255, (20000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 20000).astype(np.int32))
aug = pad_crop_flip(4)
def old(seed=0):
    ds = tf.data.Dataset.from_tensor_slices((split.features, split.labels)).shuffle(len(split), seed=seed, reshuffle_each_iteration=True).batch(64)
    ds = ds.map(scale_to_unit, num_parallel_calls=tf.data.AUTOTUNE)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip(ds, seeds).map(lambda b, s: aug(*b, s), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
def new(seed=0):
    return make_dataset(split, 64, training=True, seed=seed, augment=aug)
def rate(ds):
    t = time.perf_counter(); n = sum(int(x.shape[0]) for x, _ in ds); return n / (time.perf_counter() - t)
for f in (old, new): rate(f())  # warm up
res = {"old": [], "new": []}
for r in range(4):
    for name, f in (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old)):
        res[name].append(rate(f()))
ratios = [n / o for n, o in zip(res["new"], res["old"])]
print({k: [round(v) for v in vs] for k, vs in res.items()}, "new/old ratios", [round(x, 2) for x in ratios], "median", round(float(np.median(ratios)), 2))
