"""Bookkeeping of a grid search as it grows to the whole FashionMNIST grid (prints, never asserts).

    python benchmarks/scale.py                      # all 23,328 points
    python benchmarks/scale.py --trials 3000        # a shorter run

The FashionMNIST grid's space (23,328 points) in kerashp's GridOracle, in a temporary
project, with a study whose training costs nothing: for each trial the oracle
creates it, records an objective value and ends it, the run's files are written as
a finished run writes them (summary.json, a one-epoch history.csv, no weights as
with the search default `--keep-weights best`), and the live results table is
offered the trial (`kerashp.tuning.runner.LiveTable`, which rewrites results.csv
and results.md at most 5% of the time). Prints:

1. the bookkeeping time per trial (median of each window of `--window` trials) at
   trial 100 and at trial 20,000 (target: within 1.5x);
2. the resume time with every trial finished: a new oracle reloads the project
   (and checks each run's files), and the runner's resume summary reads the trials
   (target: under 10 s);
3. the report of all trials: tables and figures (target: under 60 s);
4. resident memory across `--memory-trials` real trials of the test suite's tiny
   study (each built, traced and trained) in one fresh process, by
   `benchmarks/memory.py --study tiny` (target: flat after warm-up; `--memory-trials 0`
   leaves it out).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=23_328)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--every", type=int, default=2000, help="print a window's median every N trials")
    parser.add_argument("--memory-trials", type=int, default=2000, help="real tiny trials of part 4 (0: skip it)")
    args = parser.parse_args()

    from kerashp.quiet import import_keras_quietly

    import_keras_quietly()
    import keras_tuner
    from keras_tuner.engine import trial as trial_module

    from kerashp.report import study_report
    from kerashp.settings import StudySettings
    from kerashp.storage import layout, records
    from kerashp.tuning.oracle import GridOracle
    from kerashp.tuning.runner import LiveTable, resume_summary
    from studies.fashion_grid import FashionGrid

    def make_oracle(directory):
        oracle = GridOracle(objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=None, seed=1,
                            runs_per_trial=1)
        space = keras_tuner.HyperParameters()
        FashionGrid.declare_hyperparameters(None, space)
        oracle.update_space(space)
        oracle._set_project_dir(directory, "tuner")  # as BaseTuner does
        oracle.verbose = 0  # as the runner sets it: one line per trial of its own, none here
        return oracle

    settings = StudySettings(study=FashionGrid.name)
    settings.search.method = "grid"
    spec = study_report.ReportSpec(
        name=FashionGrid.name, description=FashionGrid.description, hyperparameters=FashionGrid.table_hyperparameters,
        metrics=FashionGrid.table_metrics, curves=(), curve_grid=FashionGrid.curve_grid, settings=settings,
        isolation_hyperparameter=FashionGrid.isolation_hyperparameter, data="none (bookkeeping only)")

    with tempfile.TemporaryDirectory() as out:
        out = pathlib.Path(out)
        project = out / "tuner"
        oracle = make_oracle(str(out))
        project.mkdir(parents=True, exist_ok=True)
        layout.write_study(project, spec.to_json())
        live = LiveTable(lambda: study_report.write_tables(study_report.build_report(out, spec)))
        print(f"grid of {oracle.grid_size()} points; {args.trials} trials", flush=True)
        times = []
        for index in range(args.trials):
            started = time.perf_counter()
            trial = oracle.create_trial("tuner0")
            accuracy = (index % 97) / 97
            run = project / f"trial_{trial.trial_id}" / "execution_0"
            run.mkdir(parents=True, exist_ok=True)
            records.write_text_atomic(run / records.HISTORY_FILE, "epoch,accuracy,loss,val_accuracy,val_loss\n"
                                                                  f"0,{accuracy},1.0,{accuracy},1.0\n")
            records.write_json_atomic(run / records.SUMMARY_FILE, {
                "best_val_accuracy": accuracy, "final_val_accuracy": accuracy, "best_accuracy": accuracy,
                "test_accuracy": accuracy, "final_loss": 1.0, "epochs": 1, "stage_epochs": 1, "seed": 0,
                "diverged_epoch": None, "train_time_s": 0.0, "weights_kept": False})
            oracle.update_trial(trial.trial_id, {"val_accuracy": accuracy})
            trial.status = trial_module.TrialStatus.COMPLETED
            oracle.end_trial(trial)
            live()
            times.append(time.perf_counter() - started)
            if (index + 1) % args.every == 0:
                window = times[-args.window:]
                print(f"trials {index + 2 - args.window:6d}-{index + 1:6d}: median {statistics.median(window) * 1e3:6.2f}"
                      f" ms per trial; mean over all so far {statistics.fmean(times) * 1e3:6.2f} ms", flush=True)
        early = times[99:99 + args.window]
        late_start = min(19_999, len(times) - args.window)
        late = times[late_start:late_start + args.window]
        print(f"1. bookkeeping per trial: trials 100-{99 + args.window}: median {statistics.median(early) * 1e3:.2f} ms; "
              f"trials {late_start + 1}-{late_start + args.window}: {statistics.median(late) * 1e3:.2f} ms; ratio "
              f"{statistics.median(late) / statistics.median(early):.2f}x (target <= 1.5x); mean over all "
              f"{statistics.fmean(times) * 1e3:.2f} ms", flush=True)

        started = time.perf_counter()
        reloaded = make_oracle(str(out))
        reloaded.reload()
        reload_s = time.perf_counter() - started
        done, line = resume_summary(project, args.trials, reloaded)
        resume_s = time.perf_counter() - started
        print(f"2. resume with {len(reloaded.trials)} finished trials: oracle reload {reload_s:.1f} s, with the "
              f"runner's resume summary ({line}) {resume_s:.1f} s (target < 10 s)", flush=True)

        started = time.perf_counter()
        report = study_report.build_report(out, spec)
        built = time.perf_counter() - started
        study_report.write_report(report)
        total = time.perf_counter() - started
        figures = sorted(path.name for path in out.glob("*.png"))
        print(f"3. report of {len(report.trials)} trials: read {built:.1f} s, tables and figures ({', '.join(figures)}) "
              f"{total:.1f} s in all (target < 60 s)")
    memory_line = None
    if args.memory_trials:
        import subprocess

        command = [sys.executable, str(ROOT / "benchmarks" / "memory.py"), "--study", "tiny",
                   "--trials", str(args.memory_trials), "--every", str(max(args.memory_trials // 10, 1))]
        result = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        memory_line = lines[-1] if result.returncode == 0 and lines else f"failed: {result.stderr.strip()[-300:]}"
        print(f"4. resident memory, {args.memory_trials} real tiny trials in one process: {memory_line} "
              "(target: flat after warm-up)", flush=True)
    print(json.dumps({"trials": args.trials, "median_ms_early": statistics.median(early) * 1e3,
                      "median_ms_late": statistics.median(late) * 1e3, "reload_s": reload_s, "resume_s": resume_s,
                      "report_s": total, "memory": memory_line}))


if __name__ == "__main__":
    main()
