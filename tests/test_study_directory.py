"""A study directory knows whose it is: lost trial directories are retrained without touching the
others, another study or a user's files in --out are refused, --overwrite deletes only what kerashp
wrote, copies and damaged records are left alone or named in one line, temporary files never clash."""

import json
import pathlib
import shutil
import subprocess
import sys
import threading

import keras
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.storage import records
from tiny_study import TinyStudy

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(out, *args, study=TinyStudy):
    return main(study, ["--out", str(out), "--verbose", "0", *args])


def files_of(directory):
    return {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file() and p.name != ".lock"}


def one_line(capfd, *words):
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture(scope="module")
def random_search(tmp_path_factory):
    out = tmp_path_factory.mktemp("random") / "out"
    assert run(out, "--search", "random", "--trials", "3", "--seed", "1") == 0
    return out


@pytest.fixture
def searched(random_search, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(random_search, out)
    return out


def values_of(out, trial):
    return json.loads((out / "tuner" / f"trial_{trial}" / "trial.json").read_text())["hyperparameters"]["values"]


def rerun_in_a_process(out, *args, timeout=180):
    """The same command in its own process: on the code before the fix it looped without end."""
    command = [sys.executable, str(ROOT / "tests" / "tiny_study.py"), "--out", str(out), "--verbose", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"})


def test_a_deleted_trial_directory_is_retrained_and_no_other_trial_changes(searched):
    kept = {trial: (searched / "tuner" / f"trial_{trial}" / "trial.json").read_bytes() for trial in (0, 2)}
    shutil.rmtree(searched / "tuner" / "trial_1")
    done = rerun_in_a_process(searched, "--search", "random", "--trials", "3", "--seed", "1")
    assert done.returncode == 0, done.stderr
    assert "trial(s) 1: directory gone" in done.stderr
    for trial, before in kept.items():  # trial 2 kept its values and score (it took trial 1's place before)
        assert (searched / "tuner" / f"trial_{trial}" / "trial.json").read_bytes() == before
    table = pd.read_csv(searched / "results.csv")
    assert table["trial"].tolist() == [0, 1, 2] and (table["status"] == "COMPLETED").all()
    trained = [line.split()[0] for line in (searched / "epochs_trained.log").read_text().splitlines()]
    assert trained[9:] == ["1", "1", "1"]  # only the new trial 1 trained (3 epochs), nothing else


def test_a_deleted_configuration_trial_retrains_that_configuration_only(tmp_path):
    out = tmp_path / "out"
    assert run(out, "--configs", "slow,medium,fast") == 0
    before = pd.read_csv(out / "results.csv")
    shutil.rmtree(out / "tuner" / "trial_0001")
    done = rerun_in_a_process(out, "--configs", "slow,medium,fast")
    assert done.returncode == 0, done.stderr
    after = pd.read_csv(out / "results.csv")
    assert after["name"].tolist() == ["slow", "medium", "fast"] and (after["status"] == "COMPLETED").all()
    same = ["trial", "name", "best_val_accuracy", "final_val_loss"]
    pd.testing.assert_frame_equal(after.loc[[0, 2], same], before.loc[[0, 2], same])
    assert after.loc[1, "best_val_accuracy"] == pytest.approx(before.loc[1, "best_val_accuracy"])  # same seed
    trained = [line.split()[0] for line in (out / "epochs_trained.log").read_text().splitlines()]
    assert trained[9:] == ["0001"] * 3


class OtherStudy(TinyStudy):
    name = "other"


def test_another_study_in_a_studys_directory_is_refused(searched, capfd):
    before = files_of(searched)
    assert run(searched, "--configs", "slow", study=OtherStudy) == 2
    one_line(capfd, "holds the study tiny, not other")
    assert run(searched, "--configs", "slow", "--overwrite", study=OtherStudy) == 2
    one_line(capfd, "holds the study tiny, not other")
    assert files_of(searched) == before


@pytest.fixture
def users_folder(tmp_path):
    out = tmp_path / "mine"
    for name, text in {"tensorboard/run1/events.out.tfevents.1": "my events", "tuner/notes.txt": "my notes",
                       "results.csv": "a,b\n1,2\n", "results.md": "# mine", "loss.png": "png", "paper.tex": "x"}.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    return out


@pytest.mark.parametrize("overwrite", [True, False])
def test_a_folder_of_the_users_files_is_refused_and_left_as_it_was(users_folder, capfd, overwrite):
    before = files_of(users_folder)
    assert run(users_folder, "--configs", "slow", *(["--overwrite"] if overwrite else [])) == 2
    one_line(capfd, "which kerashp did not write", "tuner", "tensorboard", "results.csv")
    assert files_of(users_folder) == before and not (users_folder / ".lock").exists()


def test_overwrite_deletes_only_what_kerashp_wrote(searched):
    mine = {"tuner/notes.txt": b"my notes", "tensorboard/run1/events.out.tfevents.1": b"my events",
            "notes.md": b"my notes", "tuner/trial_1.bak/trial.json": b"{}"}
    for name, content in mine.items():
        (searched / name).parent.mkdir(parents=True, exist_ok=True)
        (searched / name).write_bytes(content)
    assert run(searched, "--configs", "slow", "--overwrite") == 0
    for name, content in mine.items():
        assert (searched / name).read_bytes() == content, name
    assert not (searched / "tuner" / "trial_1").exists() and not (searched / "tensorboard" / "trial_1").exists()
    assert pd.read_csv(searched / "results.csv")["name"].tolist() == ["slow"]


def test_copies_of_run_and_trial_directories_are_not_runs_or_trials(searched, capfd):
    from kerashp.cli import console

    tuner = searched / "tuner"
    shutil.copytree(tuner / "trial_1" / "execution_0", tuner / "trial_1" / "execution_0.bak")
    shutil.copytree(tuner / "trial_1", tuner / "trial_1.bak")
    copies = files_of(tuner / "trial_1.bak")
    before = pd.read_csv(searched / "results.csv")
    capfd.readouterr()
    assert console(["status", str(searched)]) == 0
    status = capfd.readouterr().out
    assert "trials: 3 finished" in status and "(of 3)" in status, status
    assert console(["report", str(searched)]) == 0
    trials = records.load_trials(tuner)
    assert [t.trial_id for t in trials] == ["0", "1", "2"] and [r.index for r in trials[1].executions] == [0]
    assert run(searched, "--search", "random", "--trials", "3", "--seed", "1") == 0
    pd.testing.assert_frame_equal(pd.read_csv(searched / "results.csv"), before)
    assert files_of(tuner / "trial_1.bak") == copies  # a copy is the user's: nothing in it stripped


@pytest.mark.parametrize("damage", ["empty", "cut"])
def test_a_damaged_tuner_file_is_rebuilt(searched, damage, caplog):
    path = searched / "tuner" / "tuner0.json"
    path.write_text("" if damage == "empty" else '{"a')
    before = pd.read_csv(searched / "results.csv")
    assert run(searched, "--search", "random", "--trials", "3", "--seed", "1") == 0
    pd.testing.assert_frame_equal(pd.read_csv(searched / "results.csv"), before)
    assert "tuner0.json is damaged: rebuilt" in caplog.text
    assert json.loads(path.read_text()) == {}


@pytest.mark.parametrize("name, content", [
    ("kerashp_settings.json", ""), ("kerashp_settings.json", "[1, 2]"), ("kerashp_definition.json", "null"),
    ("kerashp_owner.json", "[]"),
    ("trial_1/execution_0/summary.json", "null"), ("trial_1/execution_0/summary.json", "[]"),
    ("trial_1/trial.json", "null"), ("trial_1/trial.json", '{"trial_id": 3}'),
])
def test_a_record_of_the_wrong_shape_is_named_in_one_line_and_nothing_changes(searched, capfd, name, content):
    path = searched / "tuner" / name
    path.write_text(content)
    before = files_of(searched)
    assert run(searched, "--search", "random", "--trials", "3", "--seed", "1") == 2
    one_line(capfd, name.split("/")[-1])
    assert files_of(searched) == before


def test_a_damaged_oracle_of_the_wrong_shape_is_rebuilt(searched, caplog):
    (searched / "tuner" / "oracle.json").write_text('{"ongoing_trials": 5}')
    before = pd.read_csv(searched / "results.csv")
    assert run(searched, "--search", "random", "--trials", "3", "--seed", "1") == 0
    pd.testing.assert_frame_equal(pd.read_csv(searched / "results.csv"), before)
    assert "rebuilt from the 3 trials on disk" in caplog.text


def test_a_copied_trial_record_under_another_number_is_refused(searched, capfd):
    shutil.copytree(searched / "tuner" / "trial_1", searched / "tuner" / "trial_7")
    assert run(searched, "--search", "random", "--trials", "3", "--seed", "1") == 2
    one_line(capfd, "trial_7", "is the record of trial 1")


@pytest.mark.fast
@pytest.mark.parametrize("args, words", [
    (["--seed", "-1"], ["--seed", "from 0 to 4294967295"]),
    (["--seed", "4294967296"], ["--seed", "from 0 to 4294967295"]),
    (["--seed", "4294967295", "--seeds", "2"], ["the last seed would pass 4294967295"]),
    (["--search", "random", "--trials", "1", "--set", "learning_rate=99999999999999999999"],
     ["learning_rate=99999999999999999999", "64 bits"]),
])
def test_impossible_seeds_and_values_are_refused_before_anything_is_written(tmp_path, capfd, args, words):
    out = tmp_path / "out"
    try:
        status = run(out, *args)
    except SystemExit as error:  # the option parser's own one-line error
        status = error.code
    assert status == 2
    one_line(capfd, *words)
    assert not out.exists()


@pytest.mark.fast
@pytest.mark.parametrize("name", ["../../x", "ABSOLUTE", "a/b", ".hidden", ""])
def test_a_study_name_that_is_a_path_is_refused(tmp_path, capfd, monkeypatch, name):
    monkeypatch.chdir(tmp_path / "a" if (tmp_path / "a").mkdir(parents=True) is None else tmp_path)
    name = str(tmp_path / "absolute") if name == "ABSOLUTE" else name
    study = type("Named", (TinyStudy,), {"name": name})
    assert main(study, ["--verbose", "0", "--configs", "slow"]) == 2
    one_line(capfd)
    assert [path.name for path in tmp_path.rglob("*")] == ["a"]  # nothing written anywhere


@pytest.mark.fast
def test_concurrent_writers_of_one_file_never_clash(tmp_path):
    path = tmp_path / "results.csv"
    errors = []

    def write(tag):
        try:
            for i in range(200):
                records.write_text_atomic(path, f"{tag},{i}\n" * 50)
        except OSError as error:  # before: FileNotFoundError, '<file>.tmp' renamed away by the other writer
            errors.append(error)

    threads = [threading.Thread(target=write, args=(tag,)) for tag in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    lines = set(path.read_text().splitlines())
    assert len(lines) == 1  # one writer's whole file
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # the umask's mode, as open() gives


def test_keras_and_kerastuner_print_nothing_on_stdout(tmp_path, capfd):
    # Before: "Batch 2: Invalid loss, terminating training" (Keras' TerminateOnNaN) and
    # "Reloading Tuner from ..." (KerasTuner, on a resumed run) went to stdout.
    out = tmp_path / "out"
    assert run(out, "--configs", "diverging") == 1  # no trial finished
    assert run(out, "--configs", "diverging,slow") == 0
    captured = capfd.readouterr()
    assert captured.out == "" and "diverged" in (out / "results.md").read_text()


def test_a_promotion_resumed_after_a_kill_is_reported_as_a_promotion(tmp_path, caplog):
    # A trial killed while training on after a rung was counted when it ended that rung;
    # the resumed run said "trial 6 of 6 (4)" as if it were a new trial.
    out = tmp_path / "out"
    args = ("--search", "random", "--trials", "6", "--prune", "asha", "--epochs", "4", "--min-epochs", "1")
    assert run(out, *args) == 0
    promoted = next(path.parent for path in sorted((out / "tuner").glob("trial_*/rung.json"))
                    if json.loads(path.read_text())["rung"] > 0)
    state = json.loads((promoted / "trial.json").read_text())
    (promoted / "trial.json").write_text(json.dumps({**state, "status": "RUNNING"}))  # as a kill left it
    (promoted / "execution_0" / "summary.json").unlink()
    trial_id = state["trial_id"]
    caplog.clear()
    assert run(out, *args) == 0
    lines = [record.getMessage() for record in caplog.records]
    assert any("6 of 6 trials done" in line and f"resuming trial {trial_id}" in line for line in lines), lines
    assert any(line.startswith(f"trial {trial_id}, promoted (6 of 6 trials done)") for line in lines), lines
    assert not any(" of 6 (" in line for line in lines), lines


class Undeclared(TinyStudy):
    table_hyperparameters = ()  # nothing listed: a search still shows what it searched

    def declare_hyperparameters(self, hp):
        hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        hp.Choice("width", [4, 8])


def test_a_searchs_outputs_show_every_searched_value(tmp_path, capfd):
    from kerashp import load_results
    from kerashp.cli import console

    out = tmp_path / "out"
    assert run(out, "--search", "random", "--trials", "3", "--seed", "1", study=Undeclared) == 0
    table = pd.read_csv(out / "results.csv")
    assert {"learning_rate", "width"} <= set(table.columns) and table["learning_rate"].notna().all()
    markdown = (out / "results.md").read_text()
    rates = [f"{rate:.3g}" for rate in table["learning_rate"]]
    assert len(set(rates)) == 3 and all(rate in markdown for rate in rates)
    best = load_results(out).best
    assert {"learning_rate", "width"} <= set(best.index)
    capfd.readouterr()
    assert console(["status", str(out)]) == 0
    line = next(line for line in capfd.readouterr().out.splitlines() if "best so far" in line)
    assert f"trial {best['trial']} (learning_rate=" in line and "width=" in line, line


@pytest.mark.fast
def test_hyperparameter_columns_tell_close_values_apart():
    from kerashp.report.tables import value_format

    render = value_format([0.000297, 0.000284, 0.01])
    assert [render(v) for v in (0.000297, 0.000284, 0.01)] == ["0.000297", "0.000284", "0.01"]
    render = value_format([0.0012345, 0.0012349])
    assert render(0.0012345) != render(0.0012349)
    assert value_format([1e-3, 1e-4])(1e-4) == "0.0001"


class Broken(TinyStudy):
    def build(self, hp):
        raise ValueError("no such layer")


def test_failing_trials_print_one_line_each_and_stop_the_search(tmp_path, capfd, caplog):
    out = tmp_path / "out"
    assert run(out, "--search", "random", "--trials", "5", study=Broken) == 2
    err = capfd.readouterr().err
    lines = [record.getMessage() for record in caplog.records]
    assert sum("failed, ValueError: no such layer (traceback in tuner/kerashp_errors.log)" in line
               for line in lines) == 3 and not any("Traceback" in line for line in lines), lines
    assert len(err.strip().splitlines()) == 1 and "stopped after 3 failed trials in a row" in err, err
    log = (out / "tuner" / "kerashp_errors.log").read_text()
    assert log.count("Traceback") == 3 and "raise ValueError(\"no such layer\")" in log
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 3 and (table["status"] == "FAILED").all()
    markdown = (out / "results.md").read_text()
    assert "none finished" in markdown and "no such layer" in markdown
    assert run(out, "--configs", "slow", study=Broken) == 2  # a search's directory: not the configurations'
    capfd.readouterr()
    configs = tmp_path / "configs"
    assert run(configs, "--configs", "slow,medium", study=Broken) == 1  # every configuration is tried, none finished
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].endswith("no trial finished (results.md says why)")


class Deeper(TinyStudy):
    """TinyStudy with a layer added to its build: the same name and configurations."""

    def build(self, hp):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.SGD(hp["learning_rate"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


class Adam(TinyStudy):
    def build(self, hp):
        model = super().build(hp)
        model.compile(keras.optimizers.Adam(hp["learning_rate"]), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model


class OtherData(TinyStudy):
    def load_data(self):
        from tiny_study import synthetic_splits

        return synthetic_splits(seed=1)  # same sizes and shapes, other values


@pytest.mark.parametrize("changed, words", [(Deeper, ["model", "layers 3 -> 4", "parameters 195 -> 467"]),
                                            (Adam, ["model", "optimizer SGD -> Adam"]),
                                            (OtherData, ["data", "same sizes, other content"])])
def test_an_edited_model_or_other_data_is_refused_not_served_stale(tmp_path, capfd, changed, words):
    out = tmp_path / "out"
    assert run(out, "--configs", "slow,medium") == 0
    before = files_of(out)
    capfd.readouterr()
    assert run(out, "--configs", "slow,medium", study=changed) == 2
    one_line(capfd, "holds trials trained with other", "--overwrite", *words)
    assert files_of(out) == before
    assert run(out, "--configs", "slow,medium", "--overwrite", study=changed) == 0  # retrained when asked


def test_an_unchanged_study_resumes_in_another_process(tmp_path):
    # The model's fingerprint leaves out Keras' automatic layer names (dense_3 in one process, dense in another).
    out = tmp_path / "out"
    assert run(out, "--configs", "slow") == 0
    done = rerun_in_a_process(out, "--configs", "slow,medium")
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out / "results.csv")["name"].tolist() == ["slow", "medium"]


class SwallowedInterrupt(keras.callbacks.Callback):
    """Ctrl-C arriving while Python runs a garbage-collection callback (JAX installs one):
    the KeyboardInterrupt is raised there and lost ("Exception ignored in ...")."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            import os
            import signal
            import time

            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
            except KeyboardInterrupt:
                pass  # swallowed, as in a gc callback


class InterruptedTiny(TinyStudy):
    epochs = 5

    def extra_callbacks(self, hp, run_dir, tensorboard_dir):
        return [*super().extra_callbacks(hp, run_dir, tensorboard_dir), SwallowedInterrupt()]


def test_ctrl_c_stops_the_run_even_when_its_first_raise_is_swallowed(tmp_path, capfd):
    out = tmp_path / "out"
    assert run(out, "--configs", "slow,medium", study=InterruptedTiny) == 130
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted (Ctrl-C) in trial 0000" in err[0], err
    trained = (out / "epochs_trained.log").read_text().splitlines()
    assert [line.split()[:2] for line in trained] == [["0000", "1"]]  # stopped in its second epoch


def test_a_studys_committed_results_without_its_run_records_are_its_own(searched, tmp_path, capfd):
    # artifacts/<study>/ holds the committed tables and figures, not the run records (not committed):
    # the study reruns there; another study is refused.
    committed = tmp_path / "committed"
    committed.mkdir()
    for name in ("results.md", "results.csv", "val_accuracy.png"):
        shutil.copy(searched / name, committed / name)
    (committed / "NOTE.md").write_text("how these were made")
    assert run(committed, "--configs", "slow", study=OtherStudy) == 2
    one_line(capfd, "holds the study tiny, not other")
    assert run(committed, "--search", "random", "--trials", "1") == 0
    assert (committed / "NOTE.md").read_text() == "how these were made"


def test_an_empty_project_directory_is_not_in_the_way(tmp_path):
    # A distributed worker that starts before its chief makes out/tuner/ before the chief
    # records whose the directory is: the chief must not refuse it.
    out = tmp_path / "out"
    (out / "tuner").mkdir(parents=True)
    (out / "tensorboard" / "empty").mkdir(parents=True)
    assert run(out, "--configs", "slow") == 0
