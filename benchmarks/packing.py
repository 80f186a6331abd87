"""Wall time and peak memory of a whole study trained packed (`--pack K`) against one trial at a time.

    python benchmarks/packing.py                                   # Adam study, shipped sample, 2 epochs, K = 1 and 5
    python benchmarks/packing.py --data folder:../shared/datasets/cifar10-jpeg.tar.gz --train-limit 10000 --packs 1,2,5
    python benchmarks/packing.py --study mobilenet_cifar100 --study-args "--experiment learning_rate" --packs 1,3

Each setting runs the whole study (`python -m studies.NAME ... --pack K`) in a fresh
process with its own output directory, so its wall time includes loading the
data, building and tracing the models, training, evaluation and the report, and
its peak memory is that process's alone: the maximum resident set size, and on
a GPU the device's peak bytes in use (TensorFlow's or JAX's allocator statistics).
K = 1 is the unpacked study (which already traces one model for all trials that
share an architecture). The per-trial results of every setting are printed
side by side: packing must not change them beyond float round-off.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time

RESULT_PREFIX = "PACKING_RESULT "


def device_peak_bytes() -> int | None:
    """Peak accelerator memory of this process, where the backend reports it."""
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            device = jax.devices()[0]
            return device.memory_stats().get("peak_bytes_in_use") if device.platform == "gpu" else None
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    except (ImportError, AttributeError, ValueError):
        pass
    return None


def study_class(name: str):
    from kerashp import Study

    module = importlib.import_module(f"studies.{name}")
    return next(value for value in vars(module).values()
                if isinstance(value, type) and issubclass(value, Study) and value.name == name)


def child(args) -> None:
    """Runs the study once and prints its wall time and peak memory as one JSON line."""
    from kerashp.cli import main

    started = time.perf_counter()
    status = main(study_class(args.study), [*args.study_argv, "--verbose", "0"])
    figures = {
        "status": status,
        "wall_s": time.perf_counter() - started,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device_peak_mib": (lambda peak: None if peak is None else peak / 2**20)(device_peak_bytes()),
    }
    print(RESULT_PREFIX + json.dumps(figures), flush=True)


def run_setting(args, pack: int, out: str) -> dict:
    argv = [*shlex.split(args.study_args), "--data", args.data, "--epochs", str(args.epochs), "--out", out,
            "--pack", str(pack), *(["--train-limit", str(args.train_limit)] if args.train_limit else [])]
    command = [sys.executable, __file__, "--child", "--study", args.study, "--", *argv]
    completed = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"--pack {pack} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default="adam_betas")
    parser.add_argument("--study-args", default="", help="further options of the study, quoted")
    parser.add_argument("--data", default="sample")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--packs", default="1,5", help="comma-separated K values; 1 is the unpacked study")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("study_argv", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.child:
        child(args)
        return

    import pandas as pd

    from kerashp.tuning.runner import machine_description

    print(f"machine: {machine_description()}")
    print(f"study: {args.study} {args.study_args} --data {args.data} --epochs {args.epochs}"
          + (f" --train-limit {args.train_limit}" if args.train_limit else ""), flush=True)
    rows, tables = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for pack in (int(k) for k in args.packs.split(",")):
            out = os.path.join(scratch, f"pack{pack}")
            figures = run_setting(args, pack, out)
            experiment_dirs = [os.path.join(out, entry) for entry in sorted(os.listdir(out))
                               if os.path.exists(os.path.join(out, entry, "results.csv"))]
            results = pd.concat([pd.read_csv(os.path.join(d, "results.csv")) for d in experiment_dirs or [out]])
            tables[pack] = results.set_index("name")
            rows.append({"K": pack, **figures, "trials": len(results)})
            print(f"--pack {pack}: {figures['wall_s']:.0f} s for {len(results)} trials, "
                  f"peak RSS {figures['peak_rss_mib']:.0f} MiB"
                  + (f", device peak {figures['device_peak_mib']:.0f} MiB" if figures["device_peak_mib"] else ""),
                  flush=True)
    base = rows[0]
    print("\n| K | wall time (s) | x K=%d | peak RSS (MiB) | device peak (MiB) |" % base["K"])
    print("|---|---|---|---|---|")
    for row in rows:
        device = f"{row['device_peak_mib']:.0f}" if row["device_peak_mib"] else "-"
        print(f"| {row['K']} | {row['wall_s']:.0f} | {row['wall_s'] / base['wall_s']:.2f} | "
              f"{row['peak_rss_mib']:.0f} | {device} |")
    metric = next(column for column in ("best_val_accuracy", "best_val_loss") if column in tables[base["K"]])
    comparison = pd.DataFrame({f"{metric} K={pack}": table[metric] for pack, table in tables.items()})
    print(f"\nper trial, {metric}:\n{comparison.to_string()}")


if __name__ == "__main__":
    main()
