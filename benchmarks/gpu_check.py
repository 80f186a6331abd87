"""The accelerator check: the Adam study's MobileNetV2 on one GPU, in one call (prints and writes; never asserts).

    KERAS_BACKEND=jax python benchmarks/gpu_check.py --out artifacts/benchmarks/gpu_check/NAME   # a lent H100/H200
    python benchmarks/gpu_check.py --train-limit 256 --epochs 2 --settings plain,kerashp --out /tmp/gpu_check  # CPU

On the shipped CIFAR-10 sample (2,000 training images, 32x32; `--data` for others),
MobileNetV2 + GAP/Dense head at batch 64, Adam 1e-3 (the Adam study's), each setting in turn
(`--settings`, comma-separated):

- `plain`: a plain `model.fit` on float32 arrays (what a user would write);
- `kerashp`: the study's Baseline trained by kerashp (its pipeline, checkpoints, history);
- `kerashp-bf16`: the same with `--precision mixed_bfloat16`;
- `packed`: the study's five configurations in one packed model (`--pack 5`): the images/s
  of the five runs together;
- `packed-bf16`: the same with mixed_bfloat16.

Each figure is the median images/s of the epochs after the first (which pays for tracing),
with its ratio to `plain`. Writes `gpu_check.csv` and `gpu_check.md` (machine, backend, date,
commit, command) to `--out`. Runs under Keras on JAX without TensorFlow (the lent machines
have none) and under TensorFlow. About 5 minutes on an H100 with the defaults.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETTINGS = {
    # name: (kerashp options, configurations packed; None: the plain script)
    "plain": None,
    "kerashp": (["--configs", "Baseline"], 1),
    "kerashp-bf16": (["--configs", "Baseline", "--precision", "mixed_bfloat16"], 1),
    "packed": (["--pack", "5"], 5),
    "packed-bf16": (["--pack", "5", "--precision", "mixed_bfloat16"], 5),
}


def kerashp_images_per_second(args, options: list[str], packed: int) -> float:
    """Images/s of the study's run(s) under kerashp (K runs of a pack together: K x one run's)."""
    import pandas as pd

    from kerashp.cli import parse_settings
    from kerashp.tuning.runner import run_study
    from studies.adam_betas import AdamBetas

    with tempfile.TemporaryDirectory() as out:
        settings = parse_settings(AdamBetas, ["--data", args.data, "--train-limit", str(args.train_limit),
                                              "--epochs", str(args.epochs), "--out", out, "--verbose", "0", *options])
        run_study(AdamBetas, settings)
        history = sorted(glob.glob(os.path.join(out, "tuner", "trial_*", "execution_0", "history.csv")))[0]
        return packed * float(pd.read_csv(history)["images_per_second"].iloc[1:].median())


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample:cifar10")
    parser.add_argument("--train-limit", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4, help="epochs per setting (the first is not measured)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    chosen = [name for name in args.settings.split(",") if name]
    unknown = [name for name in chosen if name not in SETTINGS]
    if unknown or args.epochs < 2:
        parser.error(f"unknown setting(s) {unknown}" if unknown else "--epochs must be at least 2")

    import keras
    import pandas as pd

    from kerashp.data import load_image_classification
    from kerashp.tuning.runner import machine_description
    from throughput import plain_fit

    data = load_image_classification(args.data, train_limit=args.train_limit)
    machine = machine_description()
    print(f"machine: {machine}\ndata: {data.description}; {args.epochs} epochs per setting", flush=True)
    rows = []
    for name in chosen:
        started = time.monotonic()
        if SETTINGS[name] is None:
            value = plain_fit(data, "mobilenet_v2", args.epochs)
        else:
            options, packed = SETTINGS[name]
            value = kerashp_images_per_second(args, options, packed)
        rows.append({"setting": name, "images_per_second": round(value, 1), "wall_s": round(time.monotonic() - started, 1)})
        print(f"{name}: {value:.0f} images/s ({rows[-1]['wall_s']:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    plain = table.loc[table["setting"] == "plain", "images_per_second"]
    table["ratio_to_plain"] = (table["images_per_second"] / float(plain.iloc[0])).round(3) if len(plain) else float("nan")
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "gpu_check.csv", index=False)
    command = " ".join(["python", "benchmarks/gpu_check.py", *(argv if argv is not None else sys.argv[1:])])
    lines = [f"# Accelerator check ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
             f"commit {commit()})", "",
             f"- machine: {machine}; Keras backend {keras.backend.backend()}",
             f"- data: {data.description}; {args.epochs} epochs per setting, median of epochs 2-{args.epochs}",
             f"- command: `{command}`", "",
             "| setting | images/s | ratio to plain | wall (s) |", "|---|---|---|---|",
             *(f"| {r.setting} | {r.images_per_second:.0f} | {r.ratio_to_plain:.2f} | {r.wall_s:.0f} |"
               for r in table.itertuples())]
    (args.out / "gpu_check.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'gpu_check.csv'} and gpu_check.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
