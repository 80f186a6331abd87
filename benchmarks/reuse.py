"""The main demo's time: each reused trial's first epoch against its second, and
`--quick` against a plain script on the same images (prints, never asserts).

    python benchmarks/reuse.py            # the Adam study's --quick: 5 trials, 2 epochs each

The five trials of `python -m studies.adam_betas --quick` share one compiled
MobileNetV2 (`Study.architecture_key`): after the first, no trial should pay for
tracing, so each reused trial's first epoch should take about as long as its
second (target: within 1.2x). Then a plain Keras script trains the same five
configurations on the same images (a fresh model per configuration, as one would
write it: `model.fit(x, y, validation_data=..., epochs=2, batch_size=64)`), and the
two wall times are compared. Both run in this process, one after the other.
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    import keras
    import pandas as pd

    import kerashp
    from kerashp.models import build_mobilenet_v2_classifier
    from kerashp.names import DEFAULT_BN_MOMENTUM
    from studies.adam_betas import LEARNING_RATE, AdamBetas

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        kerashp.run(AdamBetas, quick=True, out=out, verbose=0)
        kerashp_wall = time.perf_counter() - started
        epochs = pd.read_csv(pathlib.Path(out) / "epochs.csv")
    print("trial  first epoch (s)  second epoch (s)  ratio")
    ratios = []
    for name, trial in epochs.groupby("name", sort=False):
        seconds = trial.sort_values("epoch")["train_seconds"].tolist()
        ratio = seconds[0] / seconds[1]
        ratios.append(ratio)
        print(f"{name:20s} {seconds[0]:8.1f} {seconds[1]:16.1f} {ratio:10.2f}")
    print(f"reused trials (2-{len(ratios)}): first/second epoch {min(ratios[1:]):.2f}-{max(ratios[1:]):.2f}x "
          f"(target <= 1.2x)")

    study = AdamBetas(kerashp.StudySettings.for_study(AdamBetas, quick=True))
    data = study.load_data()
    x, y = data.train.features.astype("float32") / 255.0, data.train.labels
    validation = (data.validation.features.astype("float32") / 255.0, data.validation.labels)
    started = time.perf_counter()
    for values in AdamBetas.configs.values():
        keras.utils.set_random_seed(0)
        model = build_mobilenet_v2_classifier(data.input_shape, data.num_classes, bn_momentum=DEFAULT_BN_MOMENTUM)
        model.compile(keras.optimizers.Adam(LEARNING_RATE, values["beta_1"], values["beta_2"], values["epsilon"]),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, validation_data=validation, epochs=2, batch_size=64, verbose=0)
        keras.backend.clear_session()
    plain_wall = time.perf_counter() - started
    print(f"--quick through kerashp: {kerashp_wall:.0f} s (data, 5 trials, tables, figures); the plain script: "
          f"{plain_wall:.0f} s (training only); kerashp / plain {kerashp_wall / plain_wall:.2f}")


if __name__ == "__main__":
    main()
