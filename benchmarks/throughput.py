"""Training throughput: kerashp's study runner against a plain `model.fit` on NumPy arrays.

    python benchmarks/throughput.py --data folder:../shared/datasets/cifar10-jpeg.tar.gz

Both train the Adam study's model (MobileNetV2 + head, batch 64, Adam) on the same
images. The plain script is what a user would write: the images as float32 NumPy
arrays in `model.fit(x, y, batch_size=64, shuffle=True)`. The kerashp path is
the study itself (`python -m studies.adam_betas --configs Baseline`), with all its
callbacks (timing, CSV, TensorBoard, BackupAndRestore, NaN check) and validation.
Each is measured on its second epoch (the first pays for tracing), training steps
only; the two alternate `--repeats` times and the medians are compared. Prints
figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pandas as pd  # noqa: E402

from kerashp.cli import parse_settings  # noqa: E402
from kerashp.data import load_image_classification  # noqa: E402
from kerashp.models import build_mobilenet_v2_classifier  # noqa: E402
from kerashp.tuning.runner import machine_description, run_study  # noqa: E402
from studies.adam_betas import AdamBetas  # noqa: E402

BATCH_SIZE = 64


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def plain_fit(data) -> float:
    """Images/s of the second epoch of a plain `model.fit` on float32 arrays."""
    x = data.train.features.astype("float32") / 255.0
    y = data.train.labels
    keras.utils.set_random_seed(0)
    model = build_mobilenet_v2_classifier(data.input_shape, data.num_classes)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=2, shuffle=True, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / timer.seconds[-1]


def kerashp_fit(args) -> float:
    """Images/s of the second epoch of the study's Baseline trial run by kerashp."""
    with tempfile.TemporaryDirectory() as out:
        settings = parse_settings(AdamBetas, [
            "--data", args.data, "--train-limit", str(args.train_limit), "--configs", "Baseline",
            "--epochs", "2", "--out", out, "--verbose", "0",
        ])
        run_study(AdamBetas, settings)
        history = pd.read_csv(os.path.join(out, "tuner", "trial_0000", "execution_0", "history.csv"))
    return float(history["images_per_second"].iloc[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample")
    parser.add_argument("--train-limit", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_image_classification(args.data, train_limit=args.train_limit)
    print(f"machine: {machine_description()}")
    print(f"data: {data.description}; MobileNetV2 32x32, batch {BATCH_SIZE}, second epoch of each run")
    plain, ours = [], []
    for repeat in range(args.repeats):
        plain.append(plain_fit(data))
        print(f"repeat {repeat}: plain model.fit on NumPy {plain[-1]:.0f} images/s", flush=True)
        ours.append(kerashp_fit(args))
        print(f"repeat {repeat}: kerashp study runner    {ours[-1]:.0f} images/s", flush=True)
    plain_median, ours_median = statistics.median(plain), statistics.median(ours)
    print(f"median: plain {plain_median:.0f} images/s, kerashp {ours_median:.0f} images/s, "
          f"ratio kerashp/plain {ours_median / plain_median:.2f}")


if __name__ == "__main__":
    main()
