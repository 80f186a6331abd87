"""Training throughput: kerashp's study runner, with each fast-path option, against a plain `model.fit`.

    python benchmarks/throughput.py --data folder:../shared/datasets/cifar10-jpeg.tar.gz
    python benchmarks/throughput.py --models mobilenet_v2 --options ",--steps-per-execution 16"

For each model (MobileNetV2 32x32 + head at batch 64, the Adam study's; MobileNet v1
at batch 128, the CIFAR-100 study's), both train on the same images. The plain
script is what a user would write: the images as float32 NumPy arrays in
`model.fit(x, y, batch_size=B, shuffle=True)`. The kerashp path is the study
itself (`python -m studies.adam_betas --configs Baseline`, `python -m
studies.mobilenet_cifar100 --experiment learning_rate --configs "lr 0.05"`),
with all its callbacks (timing, CSV, TensorBoard, BackupAndRestore, NaN check),
validation on a held-out 20% of the images (it trains on the other 80%; the
figure is a rate), and for MobileNet v1 its crop/flip augmentation and normalisation,
once per fast-path option set (`--options`, separated by commas; the empty set
is the device's defaults). Each run trains `--epochs` epochs and is measured on
the median of its epochs after the first (which pays for tracing), training steps
only. Each repeat runs the plain script and every option set one after another (every
other repeat in reverse order); each kerashp run is compared with its repeat's plain
run, and the median of those ratios is reported with their range: on a machine whose
speed drifts by tens of percent over minutes, paired ratios are steadier than ratios
of medians. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pandas as pd  # noqa: E402

from kerashp.cli import parse_settings  # noqa: E402
from kerashp.data import load_image_classification  # noqa: E402
from kerashp.models import build_mobilenet_v2_classifier  # noqa: E402
from kerashp.models.mobilenet import build_mobilenet  # noqa: E402
from kerashp.tuning.runner import machine_description, run_study  # noqa: E402
from studies.adam_betas import AdamBetas  # noqa: E402
from studies.mobilenet_cifar100 import MobileNetCifar100  # noqa: E402

MODELS = {
    # name: (batch size, plain model and optimizer, study, the study's arguments for one trial)
    "mobilenet_v2": (64, lambda data: (build_mobilenet_v2_classifier(data.input_shape, data.num_classes),
                                       keras.optimizers.Adam(1e-3)),
                     AdamBetas, ["--configs", "Baseline", "--val-split", "0.2"]),
    "mobilenet": (128, lambda data: (build_mobilenet(data.input_shape, data.num_classes),
                                     keras.optimizers.SGD(0.05, momentum=0.9)),
                  MobileNetCifar100, ["--experiment", "learning_rate", "--configs", "lr 0.05"]),
}


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def plain_fit(data, model_name: str, epochs: int) -> float:
    """Images/s of a plain `model.fit` on float32 arrays (median of the epochs after the first)."""
    batch_size, make, _, _ = MODELS[model_name]
    x = data.train.features.astype("float32") / 255.0
    y = data.train.labels
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model, optimizer = make(data)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def kerashp_fit(args, model_name: str, options: str) -> float:
    """Images/s of one trial of the study run by kerashp with `options` (median of the epochs after the first)."""
    batch_size, _, study, study_args = MODELS[model_name]
    with tempfile.TemporaryDirectory() as out:
        settings = parse_settings(study, [
            *study_args, "--data", args.data, "--train-limit", str(args.train_limit), "--epochs", str(args.epochs),
            "--batch-size", str(batch_size), "--out", out, "--verbose", "0", *shlex.split(options),
        ])
        run_study(study, settings)
        history, = glob.glob(os.path.join(out, "**", "trial_0000", "execution_0", "history.csv"), recursive=True)
        return float(pd.read_csv(history)["images_per_second"].iloc[1:].median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (at least 2; the first is not measured)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--models", default="mobilenet_v2,mobilenet")
    parser.add_argument("--options", default=",--steps-per-execution 16,--precision mixed_bfloat16,--jit on",
                        help="comma-separated kerashp option sets to measure (empty: the device's defaults)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch pays for tracing and is not measured)")
    data = load_image_classification(args.data, train_limit=args.train_limit)
    option_sets = args.options.split(",")
    print(f"machine: {machine_description()}")
    print(f"data: {data.description}; {args.epochs} epochs per run, median of epochs 2-{args.epochs}; "
          f"{args.repeats} repeat(s), medians", flush=True)
    for model_name in args.models.split(","):
        batch_size = MODELS[model_name][0]
        runs = ["plain", *option_sets]
        measured: dict[str, list[float]] = {run: [] for run in runs}
        for repeat in range(args.repeats):
            # Every other repeat in reverse order, so that a slow drift of the machine favours no run.
            for run in runs if repeat % 2 == 0 else runs[::-1]:
                if run == "plain":
                    measured[run].append(plain_fit(data, model_name, args.epochs))
                else:
                    measured[run].append(kerashp_fit(args, model_name, run))
                print(f"{model_name} b{batch_size} repeat {repeat}: {label(run)} {measured[run][-1]:.0f} images/s",
                      flush=True)
        print(f"\n{model_name}, batch {batch_size}, {args.repeats} repeat(s)\n"
              "| run | images/s (median) | ratio to plain (median of the repeats' ratios) | range of the ratios |\n"
              "|---|---|---|---|")
        ratios = {run: [ours / plain for ours, plain in zip(measured[run], measured["plain"])] for run in runs}
        for run in runs:
            print(f"| {label(run)} | {statistics.median(measured[run]):.0f} | {statistics.median(ratios[run]):.2f} "
                  f"| {min(ratios[run]):.2f}-{max(ratios[run]):.2f} |")
        best = max(option_sets, key=lambda run: statistics.median(ratios[run]))
        print(f"best: {label(best)}, ratio {statistics.median(ratios[best]):.2f}\n", flush=True)


def label(run: str) -> str:
    return {"plain": "plain model.fit on NumPy", "": "kerashp (defaults)"}.get(run, f"kerashp {run}")


if __name__ == "__main__":
    main()
