"""The runner on the tiny study: resumption, failures, seeds, search, lock, memory."""

import json

import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.tuning.lock import exclusive_lock
from tiny_study import TinyStudy


def run(tmp_path, *args):
    return main(TinyStudy, ["--out", str(tmp_path / "out"), "--verbose", "0", *args])


def table(tmp_path):
    return pd.read_csv(tmp_path / "out" / "results.csv")


def test_named_configs_run_in_order_and_fill_the_table(tmp_path):
    assert run(tmp_path, "--configs", "slow,fast") == 0
    results = table(tmp_path)
    assert list(results["name"]) == ["slow", "fast"]
    assert list(results["status"]) == ["COMPLETED", "COMPLETED"]
    assert list(results["learning_rate"]) == [1e-3, 5e-2]
    assert (results["epochs"] == 3).all()
    # The faster learning rate learns the separable synthetic data better.
    assert results["best_val_accuracy"].iloc[1] > results["best_val_accuracy"].iloc[0]
    assert (results["images_per_second"] > 0).all()
    history = pd.read_csv(tmp_path / "out" / "tuner" / "trial_0000" / "execution_0" / "history.csv")
    assert {"accuracy", "loss", "val_accuracy", "val_loss", "epoch_seconds", "images_per_second"} <= set(history.columns)
    assert results["best_val_accuracy"].iloc[1] == pytest.approx(
        pd.read_csv(tmp_path / "out" / "tuner" / "trial_0001" / "execution_0" / "history.csv")["val_accuracy"].max()
    )


def test_rerun_retrains_nothing_and_adds_new_configs_only(tmp_path):
    assert run(tmp_path, "--configs", "slow,medium") == 0
    log = tmp_path / "out" / "epochs_trained.log"
    trained_first = log.read_text()
    summary = tmp_path / "out" / "tuner" / "trial_0000" / "execution_0" / "summary.json"
    before = summary.read_bytes(), summary.stat().st_mtime_ns
    assert run(tmp_path, "--configs", "slow,medium") == 0
    assert log.read_text() == trained_first  # nothing trained again
    assert run(tmp_path, "--configs", "slow,medium,fast") == 0
    new_lines = log.read_text()[len(trained_first):].split("\n")
    assert {line.split()[0] for line in new_lines if line} == {"0002"}
    assert (summary.read_bytes(), summary.stat().st_mtime_ns) == before
    assert list(table(tmp_path)["name"]) == ["slow", "medium", "fast"]


def test_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(tmp_path):
    assert run(tmp_path, "--configs", "diverging,slow") == 0
    results = table(tmp_path)
    assert list(results["status"]) == ["FAILED", "COMPLETED"]
    assert "diverged" in results["message"].iloc[0]
    assert "failed: diverged" in (tmp_path / "out" / "results.md").read_text()


def test_seeds_give_mean_and_std(tmp_path):
    assert run(tmp_path, "--configs", "medium", "--seeds", "3") == 0
    results = table(tmp_path)
    assert results["runs"].iloc[0] == 3
    accuracies = [
        json.loads((tmp_path / "out" / "tuner" / "trial_0000" / f"execution_{i}" / "summary.json").read_text())["best_val_accuracy"]
        for i in range(3)
    ]
    assert results["best_val_accuracy"].iloc[0] == pytest.approx(sum(accuracies) / 3)
    assert results["best_val_accuracy_std"].iloc[0] == pytest.approx(pd.Series(accuracies).std())
    assert "±" in (tmp_path / "out" / "results.md").read_text()


def test_random_search_runs_the_requested_trials_and_resumes_to_more(tmp_path):
    assert run(tmp_path, "--search", "random", "--trials", "2") == 0
    assert len(table(tmp_path)) == 2
    assert run(tmp_path, "--search", "random", "--trials", "3") == 0
    results = table(tmp_path)
    assert len(results) == 3 and results["learning_rate"].between(1e-4, 1e-1).all()


def test_second_run_on_a_locked_directory_refuses(tmp_path, capsys):
    out = tmp_path / "out"
    with exclusive_lock(out, "tiny"):
        assert run(tmp_path) == 2
    assert "in use by another run" in capsys.readouterr().err
    assert not (out / "tuner").exists()


def test_models_of_finished_trials_are_released(tmp_path):
    import gc
    TinyStudy.built_models.clear()
    assert run(tmp_path, "--configs", "slow,medium,fast") == 0
    gc.collect()
    assert len(TinyStudy.built_models) == 3 + 1  # + the reference model whose fingerprint the directory keeps
    assert all(ref() is None for ref in TinyStudy.built_models)


def test_changed_training_settings_refuse_to_mix_with_existing_results(tmp_path, capsys):
    assert run(tmp_path, "--configs", "slow") == 0
    before = (tmp_path / "out" / "results.csv").read_bytes()
    assert run(tmp_path, "--configs", "slow", "--epochs", "5") == 2
    assert "other settings" in capsys.readouterr().err
    assert (tmp_path / "out" / "results.csv").read_bytes() == before
    assert run(tmp_path, "--configs", "slow", "--epochs", "5", "--overwrite") == 0
    assert table(tmp_path)["epochs"].iloc[0] == 5


def test_an_option_the_study_gained_later_counts_as_its_default_there(tmp_path, capsys):
    """A project made before the study declared `epoch_sleep` resumes with it at its default
    (nothing retrained); given another value, the rerun is refused as other settings are."""
    assert run(tmp_path, "--configs", "slow") == 0
    settings = tmp_path / "out" / "tuner" / "kerashp_settings.json"
    saved = json.loads(settings.read_text())
    assert saved["options"] == {"epoch_sleep": 0.0}
    settings.write_text(json.dumps({**saved, "options": {}}))  # as written before the option existed
    log = tmp_path / "out" / "epochs_trained.log"
    trained = log.read_text()
    assert run(tmp_path, "--configs", "slow,fast") == 0
    assert [line.split()[0] for line in log.read_text()[len(trained):].splitlines()] == ["0001"] * 3
    assert run(tmp_path, "--configs", "slow,fast", "--epoch-sleep", "0.01") == 2
    assert "epoch_sleep" in capsys.readouterr().err


def test_bayesian_search_runs_the_requested_trials(tmp_path):
    assert run(tmp_path, "--search", "bayesian", "--trials", "3") == 0
    results = table(tmp_path)
    assert len(results) == 3 and (results["status"] == "COMPLETED").all()
    assert results["learning_rate"].between(1e-4, 1e-1).all()
    assert results["name"].str.startswith("trial ").all()


def test_search_without_trials_is_refused(tmp_path, capsys):
    assert run(tmp_path, "--search", "random") == 2
    assert "--search random needs --trials N" in capsys.readouterr().err


def test_max_minutes_stops_starting_trials_and_a_rerun_goes_on(tmp_path):
    """--max-minutes 0 starts nothing (the report is still written); a rerun without it finishes the study."""
    out = tmp_path / "out"
    configs = ["--configs", "slow,medium", "--epochs", "2"]
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", *configs]) == 0
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium,fast", "--epochs", "2",
                            "--max-minutes", "0"]) == 0
    assert pd.read_csv(out / "results.csv")["name"].tolist() == ["slow", "medium"]
    assert len((out / "tuner" / "kerashp_runs.jsonl").read_text().splitlines()) == 2
    assert main(TinyStudy, ["--out", str(out), "--verbose", "0", "--configs", "slow,medium,fast", "--epochs", "2"]) == 0
    assert pd.read_csv(out / "results.csv")["name"].tolist() == ["slow", "medium", "fast"]


def test_pipelines_are_built_once_per_split_batch_size_seed_and_epochs_and_give_the_same_batches_again():
    from kerashp.data.pipeline import make_dataset
    from kerashp.settings import StudySettings

    study = TinyStudy(StudySettings.for_study(TinyStudy))
    study.data = study.load_data()
    held_out, train_split = study.data.validation, study.data.train
    validation = study.make_dataset(held_out, training=False, batch_size=32)
    assert study.make_dataset(held_out, training=False, batch_size=32) is validation
    assert study.make_dataset(held_out, training=False, batch_size=16) is not validation
    assert study.make_dataset(train_split, training=False, batch_size=32) is not validation
    batches = [y.numpy().tolist() for _, y in validation]
    assert batches == [y.numpy().tolist() for _, y in validation]  # iterated again from the start
    assert sum(len(b) for b in batches) == len(held_out)

    def labels(dataset):
        return [y.numpy().tolist() for _, y in dataset]

    train = study.make_dataset(train_split, training=True, seed=3, batch_size=32, first_epoch=1, num_epochs=2)
    assert study.make_dataset(train_split, training=True, seed=3, batch_size=32, first_epoch=1, num_epochs=2) is train
    others = [study.make_dataset(train_split, training=True, seed=4, batch_size=32, first_epoch=1, num_epochs=2),
              study.make_dataset(train_split, training=True, seed=3, batch_size=32, first_epoch=0, num_epochs=2),
              study.make_dataset(train_split, training=True, seed=3, batch_size=32, first_epoch=1, num_epochs=3)]
    assert all(other is not train for other in others)
    fresh = make_dataset(train_split, 32, training=True, seed=3, first_epoch=1, num_epochs=2,
                         augment=study.augmentation(study.data))
    assert labels(train) == labels(train) == labels(fresh)  # a second run over it sees the first run's batches
    assert labels(others[0]) != labels(train)
    for seed in range(10, 20):  # the least recently used training pipelines go
        study.make_dataset(train_split, training=True, seed=seed, batch_size=32)
    assert study.make_dataset(train_split, training=True, seed=3, batch_size=32, first_epoch=1,
                              num_epochs=2) is not train


@pytest.mark.fast
def test_progress_counts_a_promoted_trial_once_and_says_it_was_promoted(tmp_path, caplog):
    from kerashp.tuning.progress import Progress

    progress = Progress(tmp_path, total=3, done=1, finished=["0000"])  # one trial finished before
    with caplog.at_level("INFO", logger="kerashp"):
        for trial_id in ("0001", "0001", "0000", "0002"):  # 0001 promoted, then 0000 (done before) promoted
            progress.trial_begins(trial_id, "", 1)
            progress.trial_ends(trial_id, "completed")
    lines = [record.getMessage().split(";")[0] for record in caplog.records]
    assert lines == ["trial 2 of 3 (0001): completed", "trial 0001, promoted (2 of 3 trials done): completed",
                     "trial 0000, promoted (2 of 3 trials done): completed", "trial 3 of 3 (0002): completed"]
    assert progress.done == 3
    assert json.loads((tmp_path / "kerashp_progress.json").read_text())["done"] == 3
