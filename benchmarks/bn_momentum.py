"""Validation vs training accuracy of MobileNetV2 from scratch for several BN momenta.

    python benchmarks/bn_momentum.py folder:../shared/datasets/cifar10-jpeg.tar.gz \
        --train-limit 20000 --epochs 3 --momenta 0.999,0.99,0.9

Same seed, data order and optimizer for every momentum, so the training runs are
identical (batch norm's momentum only changes the moving statistics used at
inference); only validation accuracy differs. Prints one line per momentum.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerashp.data import load_image_classification, make_dataset  # noqa: E402
from kerashp.data.pipeline import steps_per_epoch  # noqa: E402
from kerashp.models import build_mobilenet_v2_classifier  # noqa: E402
from kerashp.optimizers import make_adam  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a --data specification (sample, folder:PATH, cifar10)")
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--val-limit", type=int, default=2000, help="validation images (from the test split)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--momenta", default="0.999,0.99,0.9")
    args = parser.parse_args()
    data = load_image_classification(args.data, train_limit=args.train_limit)
    validation = data.validation.take(np.arange(min(args.val_limit, len(data.validation))))
    print(f"data: {data.description}; validating on {len(validation)} test images")
    for momentum in [float(m) for m in args.momenta.split(",")]:
        keras.utils.set_random_seed(0)
        model = build_mobilenet_v2_classifier(data.input_shape, data.num_classes, bn_momentum=momentum)
        model.compile(make_adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(
            make_dataset(data.train, 64, training=True, seed=0, num_epochs=args.epochs),
            validation_data=make_dataset(validation, 64, training=False),
            epochs=args.epochs, steps_per_epoch=steps_per_epoch(len(data.train), 64), verbose=0, shuffle=False,
        ).history
        train = "/".join(f"{v:.2f}" for v in history["accuracy"])
        val = "/".join(f"{v:.2f}" for v in history["val_accuracy"])
        print(f"bn momentum {momentum}: train accuracy {train}; validation accuracy {val}", flush=True)


if __name__ == "__main__":
    main()
