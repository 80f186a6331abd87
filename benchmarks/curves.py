"""Learning-curve tables: a recorded kerashp study directory as one compact file (prints, never asserts).

    python benchmarks/curves.py export ~/.cache/kerashp/recordings/curves_fashion_mlp/seed0 \\
        ~/.cache/kerashp/recordings/curves_fashion_mlp/seed1 --to artifacts/benchmarks/curves_fashion_mlp/table.csv.gz

One row per run and epoch: the trial's hyperparameter values, the run's seed, the epoch
(1-based), every metric of its history row (training, validation and, where recorded,
test loss and accuracy; the epoch's seconds). Only finished runs are exported (a run in
flight is left for the next export); the study's directories are only read. Run it
again after more of the table was recorded: the file is written anew.
"""

from __future__ import annotations

import argparse
import gzip
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kerashp.storage import layout, records  # noqa: E402


def curve_rows(study_dir: pathlib.Path) -> list[dict]:
    """Every epoch of every finished run of a study directory, as rows."""
    rows = []
    for trial in records.load_trials(layout.project_dir(study_dir)):
        if trial.status != "COMPLETED":
            continue
        for run in trial.executions:
            if run.summary is None:
                continue
            for row in run.history_rows():
                rows.append({"trial": trial.trial_id, **trial.values, "seed": run.summary.get("seed"),
                             **row})  # epoch 1-based, as history_rows gives it
    return rows


def export(study_dirs: list[pathlib.Path], to: pathlib.Path) -> None:
    import pandas as pd

    frames = []
    for study_dir in study_dirs:
        rows = curve_rows(study_dir)
        if not rows:
            raise SystemExit(f"{study_dir}: no finished run to export")
        frame = pd.DataFrame(rows)
        frame.insert(0, "source", study_dir.name)
        frames.append(frame)
        print(f"{study_dir}: {frame['trial'].nunique()} runs, {len(frame)} epochs")
    table = pd.concat(frames, ignore_index=True)
    to.parent.mkdir(parents=True, exist_ok=True)
    text = table.to_csv(index=False, float_format="%.6g").encode()
    records.write_text_atomic(to, gzip.compress(text, mtime=0) if to.name.endswith(".gz") else text)
    print(f"{to}: {len(table)} rows, {to.stat().st_size / 2**10:.0f} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="write recorded study directories as one table")
    exporting.add_argument("study_dirs", nargs="+", type=pathlib.Path)
    exporting.add_argument("--to", type=pathlib.Path, required=True, help="the table (.csv or .csv.gz)")
    args = parser.parse_args(argv)
    export(args.study_dirs, args.to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
