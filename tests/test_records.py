"""Trial records and the tables built from them."""

import math

import pandas as pd
import pytest

from kerashp.report import markdown_table, results_table
from kerashp.storage.records import (
    ExecutionRecord, TrialRecord, drop_torn_last_line, first_nan_epoch, read_history, summarize_history,
)


def test_read_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_accuracy\n0,2.0,0.1\n1,1.5,0.2\n1,1.4,0.25\n2,1.2,0.3\n")
    history = read_history(path)
    assert list(history["epoch"]) == [1, 2, 3]
    assert list(history["loss"]) == [2.0, 1.4, 1.2]


def test_summarize_history():
    history = pd.DataFrame({
        "epoch": [1, 2, 3], "accuracy": [0.3, 0.5, 0.6], "loss": [2.0, 1.0, 1.5],
        "val_accuracy": [0.2, 0.45, 0.4], "val_loss": [2.1, 1.2, 1.3],
        "epoch_seconds": [10.0, 5.0, 5.0], "images_per_second": [50.0, 100.0, 110.0],
    })
    summary = summarize_history(history, "val_accuracy")
    assert summary["best_val_accuracy"] == 0.45 and summary["best_epoch"] == 2
    assert summary["best_loss"] == 1.0 and summary["final_val_loss"] == 1.3
    assert summary["train_time_s"] == 20.0 and summary["images_per_second"] == 105.0
    assert first_nan_epoch(history) is None
    history.loc[2, "loss"] = math.nan
    assert first_nan_epoch(history) == 3


def test_errors_are_best_at_their_minimum_and_the_objective_follows_its_direction():
    history = pd.DataFrame({"epoch": [1, 2, 3], "val_mse": [0.9, 0.1, 0.2], "mse": [1.0, 0.5, 0.4],
                            "score": [3.0, 1.0, 2.0]})
    summary = summarize_history(history, "score", direction="min")
    assert summary["best_val_mse"] == 0.1 and summary["best_mse"] == 0.4
    assert summary["best_score"] == 1.0 and summary["best_epoch"] == 2


def execution(index, best):
    return ExecutionRecord(index, None, pd.DataFrame(), {"best_val_accuracy": best, "epochs": 2})


def test_results_table_means_seeds_and_marks_failures():
    trials = [
        TrialRecord("0", "COMPLETED", {"config": "A", "lr": 0.1}, None, [execution(0, 0.5), execution(1, 0.7)]),
        TrialRecord("1", "FAILED", {"config": "B", "lr": 1e9}, "Traceback...\nFailedTrialError: diverged at epoch 1", []),
    ]
    table = results_table(trials, ["lr"], [("best_val_accuracy", "best val accuracy")])
    assert table.loc[0, "best_val_accuracy"] == pytest.approx(0.6)
    assert table.loc[0, "best_val_accuracy_std"] == pytest.approx(0.1414, abs=1e-4)
    assert table.loc[1, "message"] == "diverged at epoch 1" and math.isnan(table.loc[1, "best_val_accuracy"])
    text = markdown_table(table, ["lr"], [("best_val_accuracy", "best val accuracy")])
    assert "| A | 0.1 | 0.6000 ± 0.1414 | completed |" in text  # one format per metric column
    assert "| B | 1e+09 |  | failed: diverged at epoch 1 |" in text


def test_an_epochs_hyperparameter_keeps_its_column_beside_the_epochs_trained():
    # A pruned trial of 30 epochs stopped at its 9-epoch rung: `epochs` is its length, not 9.
    stopped = TrialRecord("0", "COMPLETED", {"epochs": 30}, None, [
        ExecutionRecord(0, None, pd.DataFrame(), {"best_val_accuracy": 0.8, "epochs": 9})])
    table = results_table([stopped], ["epochs"], [("best_val_accuracy", "best val accuracy")])
    assert table.loc[0, "epochs"] == 30 and table.loc[0, "epochs_run"] == 9
    plain = results_table([stopped], [], [("best_val_accuracy", "best val accuracy")])
    assert plain.loc[0, "epochs"] == 9 and "epochs_run" not in plain


def test_a_history_line_cut_by_a_kill_is_left_out_and_cut_before_appending(tmp_path):
    import csv

    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_accuracy\n0,1.5,0.4\n1,1.2,0.5\n2,0.9")  # epoch 3 cut mid-write
    history = read_history(path)
    assert history["epoch"].tolist() == [1, 2] and history["val_accuracy"].tolist() == [0.4, 0.5]
    assert drop_torn_last_line(path) and not drop_torn_last_line(path)
    with open(path, "a", newline="") as handle:  # what CSVLogger(append=True) does on resume
        csv.writer(handle).writerow([2, 0.95, 0.55])
    history = read_history(path)
    assert history["epoch"].tolist() == [1, 2, 3] and history["loss"].tolist() == [1.5, 1.2, 0.95]


def test_logged_epochs_agrees_with_read_history(tmp_path):
    from kerashp.storage.records import logged_epochs, read_history

    path = tmp_path / "history.csv"
    path.write_text("epoch,accuracy,loss\n0,0.1,2.0\n1,0.2,1.5\n1,0.25,1.4\n3,0.3,1.0\n4,0.4")  # repeat, gap, torn
    assert logged_epochs(path) == set(read_history(path)["epoch"]) == {1, 2, 4}
    assert logged_epochs(tmp_path / "absent.csv") == set()
    (tmp_path / "empty.csv").write_text("")
    assert logged_epochs(tmp_path / "empty.csv") == set()


def test_a_runs_whole_resume_state_in_one_call(tmp_path):
    """layout.run_state: the summary, the checkpoint's epoch, the history rows lost and the
    final weights, and whether the run is finished to a stage."""
    import json

    from kerashp.errors import StudyError
    from kerashp.storage import layout, records

    run = tmp_path / "execution_0"
    run.mkdir()
    assert layout.run_state(run) == layout.RunState(run, None, 0, (), False)
    (run / layout.CHECKPOINT_DIR).mkdir()
    (run / layout.CHECKPOINT_DIR / layout.CHECKPOINT_MANIFEST).write_text(json.dumps({"epoch": 2}))
    (run / records.HISTORY_FILE).write_text("epoch,val_accuracy\n0,0.5\n2,0.7\n")  # epoch 2 (0-based 1) lost
    (run / records.SUMMARY_FILE).write_text(json.dumps({"epochs": 3, "stage_epochs": 3, "diverged_epoch": None}))
    state = layout.run_state(run)
    assert (state.committed_epoch, state.missing_epochs, state.final_weights) == (2, (2,), False)
    assert not state.finished(3)  # a lost row and no weights: trained again
    (run / records.HISTORY_FILE).write_text("epoch,val_accuracy\n0,0.5\n1,0.6\n2,0.7\n")
    (run / records.FINAL_WEIGHTS_FILE).write_bytes(b"weights")
    state = layout.run_state(run)
    assert state.finished(3) and not state.finished(9)  # finished its rung of 3, not a promotion to 9
    (run / records.SUMMARY_FILE).write_text("null")
    with pytest.raises(StudyError, match="does not hold a run's summary"):
        layout.run_state(run)
