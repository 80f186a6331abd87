"""What each ingredient of kerashp's training loop costs, against a plain `model.fit`, in one process.

    python benchmarks/overhead.py --data folder:../shared/datasets/cifar10-jpeg.tar.gz --rounds 6

`benchmarks/throughput.py` compares whole runs, minutes apart; on a machine whose
speed drifts by tens of percent over minutes that comparison is noisy. Here every
variant has its own compiled copy of the same model (MobileNetV2 32x32 + head,
batch 64, Adam 1e-3, same initial weights), all traced before measuring, and the
variants then take turns one epoch at a time (`--rounds` rounds, every other
round in reverse order), so that they share the machine's drift. Each adds one
ingredient of the study runner to the one before:

- plain: `model.fit(x, y, batch_size=64, shuffle=True)` on float32 NumPy arrays;
- pipeline: kerashp's input pipeline instead (`kerashp.data.pipeline.make_dataset`:
  uint8 images, reshuffled each epoch, scaled to [0, 1] on whole batches, prefetched);
- callbacks: the pipeline plus the callbacks the runner gives every run (Timing,
  CSVLogger, EpochScalars, TerminateOnNaN, AtomicBackupAndRestore);
- validation: validation on 1,000 other images after every epoch, as the study
  runner does;
- study: the model built as the runner builds the Adam study's (inside the
  device's strategy scope, under the device's default dtype policy) with its
  optimizer (beta_1, beta_2 and epsilon held in variables, `make_adam(in_variables=True)`).

Every variant is timed by `callbacks.Timing` (training images/s, from the start of
the epoch to the end of its training steps, as the study records it). Prints each
variant's images/s per round, the medians, and the median over rounds of each
variant's ratio to that round's plain epoch. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from callbacks import EpochScalars, Timing  # noqa: E402
from kerashp.data import load_image_classification  # noqa: E402
from kerashp.data.pipeline import make_dataset  # noqa: E402
from kerashp.distribute import choose_strategy, resolve_fast_path  # noqa: E402
from kerashp.models import build_mobilenet_v2_classifier  # noqa: E402
from kerashp.optimizers import make_adam  # noqa: E402
from kerashp.tuning.backup import AtomicBackupAndRestore  # noqa: E402
from kerashp.tuning.runner import machine_description  # noqa: E402

BATCH_SIZE = 64
VALIDATION_IMAGES = 1000
VARIANTS = ("plain", "pipeline", "callbacks", "validation", "study")


def build(data, variant: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    if variant != "study":
        model = build_mobilenet_v2_classifier(data.input_shape, data.num_classes)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    policy_before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_fast_path().precision)
    try:
        with choose_strategy("auto").scope():
            model = build_mobilenet_v2_classifier(data.input_shape, data.num_classes)
            model.compile(make_adam(1e-3, in_variables=True), "sparse_categorical_crossentropy", metrics=["accuracy"])
    finally:
        keras.config.set_dtype_policy(policy_before)
    return model


def one_epoch(variant: str, model: keras.Model, data, arrays, out: str, epoch: int) -> float:
    """Trains `model` one more epoch the variant's way; returns its training images/s."""
    timing = Timing(samples_per_epoch=len(data.train))
    history = keras.callbacks.History()
    callbacks = [timing, history]
    validation = None
    if variant in ("validation", "study"):
        held_out = data.validation.take(np.arange(min(VALIDATION_IMAGES, len(data.validation))))
        validation = make_dataset(held_out, BATCH_SIZE, training=False)
    if variant in ("callbacks", "validation", "study"):
        run = os.path.join(out, variant)
        callbacks += [keras.callbacks.CSVLogger(os.path.join(run, "history.csv"), append=True),
                      EpochScalars(os.path.join(run, "tensorboard")), keras.callbacks.TerminateOnNaN(),
                      AtomicBackupAndRestore(os.path.join(run, "backup"))]
        os.makedirs(run, exist_ok=True)
    if variant == "plain":
        x, y = arrays
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=True, verbose=0, callbacks=callbacks)
    else:
        train = make_dataset(data.train, BATCH_SIZE, training=True, seed=epoch)
        model.fit(train, epochs=1, verbose=0, callbacks=callbacks, validation_data=validation, shuffle=False)
    return history.history["images_per_second"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    data = load_image_classification(args.data, train_limit=args.train_limit)
    arrays = (data.train.features.astype("float32") / 255.0, data.train.labels)
    print(f"machine: {machine_description()}")
    print(f"data: {data.description}; MobileNetV2 b{BATCH_SIZE}; one epoch per turn, {args.rounds} rounds",
          flush=True)
    models = {variant: build(data, variant) for variant in VARIANTS}
    rates: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    with tempfile.TemporaryDirectory() as out:
        for variant in VARIANTS:  # trace every train step before measuring
            one_epoch(variant, models[variant], data, arrays, out, 0)
        for round_index in range(args.rounds):
            order = VARIANTS if round_index % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                rates[variant].append(one_epoch(variant, models[variant], data, arrays, out, round_index + 1))
            print(f"round {round_index}: " + ", ".join(f"{v} {rates[v][-1]:.0f}" for v in VARIANTS), flush=True)
    print("\n| variant | images/s (median) | ratio to plain (median of the rounds' ratios) | range of the ratios |\n"
          "|---|---|---|---|")
    for variant in VARIANTS:
        ratios = [ours / plain for ours, plain in zip(rates[variant], rates["plain"])]
        print(f"| {variant} | {statistics.median(rates[variant]):.0f} | {statistics.median(ratios):.2f} "
              f"| {min(ratios):.2f}-{max(ratios):.2f} |")


if __name__ == "__main__":
    main()
