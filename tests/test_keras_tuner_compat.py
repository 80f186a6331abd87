"""kerashp's KerasTuner-style tuners run scripts written the way KerasTuner's guides teach,
with `keras_tuner.X` replaced by `kerashp.X`: the trials train, the search resumes, the best
models are the trials' weights at their best epoch, the reports hold the searched values."""

import json

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest

import kerashp
from kerashp.errors import StudyError


def clusters(n=240, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, 4, 4)).astype("float32") * 2
    y = rng.integers(0, 3, n)
    x = centers[y] + rng.normal(size=(n, 4, 4)).astype("float32")
    return x[:180], y[:180], x[180:], y[180:]


X, Y, X_VAL, Y_VAL = clusters()
BUILDS = []


def build_model(hp):
    """As in KerasTuner's getting-started guide: no Input layer, a conditional dropout."""
    BUILDS.append(dict(hp.values))
    model = keras.Sequential()
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hp.Int("units", min_value=8, max_value=32, step=8), activation="relu"))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=hp.Float("rate", 0.1, 0.3, step=0.1)))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_guide_script_runs_and_its_best_models_are_the_trials_best_epochs(tmp_path, capsys):
    tuner = kerashp.RandomSearch(hypermodel=build_model, objective="val_accuracy", max_trials=3,
                                 executions_per_trial=2, overwrite=True, directory=tmp_path, project_name="hello")
    tuner.search_space_summary()
    assert "Default search space size: 4" in capsys.readouterr().out  # units, dropout, rate (conditional), lr
    tuner.search(X, Y, epochs=3, validation_data=(X_VAL, Y_VAL), verbose=0)
    out = tmp_path / "hello"
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 3 and (table["status"] == "COMPLETED").all() and table["runs"].tolist() == [2, 2, 2]
    assert {"units", "dropout", "lr"} <= set(table.columns)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    ranked = table.sort_values("best_val_accuracy", ascending=False, kind="stable")
    assert best_hp.values["units"] == ranked.iloc[0]["units"]
    best = tuner.get_best_models(num_models=2)
    assert len(best) == 2
    trial_id = str(ranked.iloc[0]["trial"])
    summary = json.loads((out / "tuner" / f"trial_{trial_id}" / "execution_0" / "summary.json").read_text())
    accuracy = best[0].evaluate(X_VAL, Y_VAL, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(summary["best_val_accuracy"], abs=1e-6)  # its best epoch's weights
    tuner.results_summary(num_trials=2)
    printed = capsys.readouterr().out
    assert printed.count("Trial ") == 2 and "Objective(name=\"val_accuracy\", direction=\"max\")" in printed
    assert (out / "results.md").exists() and (out / "tensorboard").is_dir()
    status = kerashp.load_results(out).table
    assert len(status) == 3


def test_a_rerun_resumes_and_trains_only_the_new_trials(tmp_path):
    def tuner(trials):
        return kerashp.RandomSearch(build_model, objective="val_accuracy", max_trials=trials, directory=tmp_path,
                                    project_name="resumed", seed=3)
    tuner(2).search(X, Y, epochs=2, validation_data=(X_VAL, Y_VAL), verbose=0)
    before = pd.read_csv(tmp_path / "resumed" / "results.csv")
    BUILDS.clear()
    tuner(3).search(X, Y, epochs=2, validation_data=(X_VAL, Y_VAL), verbose=0)
    after = pd.read_csv(tmp_path / "resumed" / "results.csv")
    pd.testing.assert_frame_equal(after.iloc[:2][before.columns].drop(columns=["train_time_s", "images_per_second"]),
                                  before.drop(columns=["train_time_s", "images_per_second"]))
    assert len(after) == 3
    rates = {values.get("lr") for values in BUILDS}  # the builds of this search: trial 2's, no earlier trial's
    assert after.iloc[2]["lr"] in rates and not {after.iloc[0]["lr"], after.iloc[1]["lr"]} & rates


class ShuffledHyperModel(keras_tuner.HyperModel):
    """KerasTuner's guide on tuning fit's arguments: fit passes shuffle itself."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, shuffle=hp.Boolean("shuffle"), **kwargs)


def test_a_hypermodel_whose_fit_passes_shuffle_trains(tmp_path):
    tuner = kerashp.RandomSearch(ShuffledHyperModel(), objective="val_accuracy", max_trials=2, directory=tmp_path,
                                 project_name="shuffle")
    tuner.search(X, Y, epochs=2, validation_data=(X_VAL, Y_VAL), verbose=0)
    table = pd.read_csv(tmp_path / "shuffle" / "results.csv")
    assert (table["status"] == "COMPLETED").all() and len(table) == 2


class ScoredHyperModel(keras_tuner.HyperModel):
    """A fit that returns a dict of its own metric (KerasTuner's custom objective)."""

    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        model.fit(*args, **kwargs)
        return {"score": hp["units"] / 100.0}


def test_a_fit_returning_a_metric_is_the_trials_score(tmp_path):
    tuner = kerashp.RandomSearch(ScoredHyperModel(), objective=keras_tuner.Objective("score", "max"), max_trials=3,
                                 directory=tmp_path, project_name="scored")
    tuner.search(X, Y, epochs=1, validation_data=(X_VAL, Y_VAL), verbose=0)
    table = pd.read_csv(tmp_path / "scored" / "results.csv")
    np.testing.assert_allclose(table["best_score"], table["units"] / 100.0)
    assert tuner.get_best_hyperparameters()[0]["units"] == table["units"].max()


class CustomLoop(kerashp.RandomSearch):
    """KerasTuner's guide on a custom training loop: run_trial trains and returns a number."""

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self.hypermodel.build(hp)
        x, y = args[0], args[1]
        history = model.fit(x, y, epochs=2, validation_data=kwargs["validation_data"], verbose=0,
                            callbacks=kwargs["callbacks"])
        return min(history.history["val_loss"])


def test_an_overridden_run_trial_is_called_for_each_run_with_the_recording_callbacks(tmp_path):
    tuner = CustomLoop(build_model, objective="val_loss", max_trials=2, executions_per_trial=2,
                       directory=tmp_path, project_name="custom")
    tuner.search(X, Y, validation_data=(X_VAL, Y_VAL))
    out = tmp_path / "custom"
    table = pd.read_csv(out / "results.csv")
    assert (table["status"] == "COMPLETED").all() and table["runs"].tolist() == [2, 2]
    history = pd.read_csv(next((out / "tuner").glob("trial_*/execution_1/history.csv")))
    assert len(history) == 2  # kerashp's CSV history was among the callbacks
    summary = json.loads(next((out / "tuner").glob("trial_*/execution_1/summary.json")).read_text())
    assert summary["best_val_loss"] == pytest.approx(history["val_loss"].min())


def failing_build(hp):
    units = hp.Choice("units", [8, 16, 24])
    if units == 16:
        raise keras_tuner.errors.FailedTrialError("16 units are not allowed")
    return build_model(hp)


def test_failed_trials_are_recorded_and_the_grid_goes_on(tmp_path):
    tuner = kerashp.GridSearch(failing_build, objective="val_accuracy", directory=tmp_path, project_name="grid")
    space = {hp.name for hp in tuner.search_space.space}
    assert "units" in space
    with pytest.raises(StudyError):  # Float("lr", sampling="log") has no grid: refused in one line
        tuner.search(X, Y, epochs=1, validation_data=(X_VAL, Y_VAL), verbose=0)

    def gridded(hp):
        units = hp.Choice("units", [8, 16, 24])
        if units == 16:
            raise keras_tuner.errors.FailedTrialError("16 units are not allowed")
        model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(keras.optimizers.Adam(hp.Choice("lr", [1e-2, 1e-3])), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    tuner = kerashp.GridSearch(gridded, objective="val_accuracy", directory=tmp_path, project_name="grid2",
                               max_consecutive_failed_trials=5)
    tuner.search(X, Y, epochs=1, validation_data=(X_VAL, Y_VAL), verbose=0)
    table = pd.read_csv(tmp_path / "grid2" / "results.csv")
    assert len(table) == 6
    assert table[table["units"] == 16]["status"].tolist() == ["FAILED", "FAILED"]
    assert "16 units are not allowed" in table[table["units"] == 16]["message"].iloc[0]


def test_hyperband_runs_keras_tuners_brackets(tmp_path):
    tuner = kerashp.Hyperband(build_model, objective="val_accuracy", max_epochs=4, factor=2, directory=tmp_path,
                              project_name="hyperband", seed=1)
    oracle = keras_tuner.oracles.HyperbandOracle(objective="val_accuracy", max_epochs=4, factor=2)
    brackets = oracle._get_num_brackets()  # KerasTuner's own bracket sizes (its private helpers)
    assert tuner.max_trials == sum(oracle._get_size(b, 0) for b in range(brackets)) == 10
    assert tuner.min_epochs == oracle._get_epochs(brackets - 1, 0) == 1
    tuner.search(X, Y, epochs=99, validation_data=(X_VAL, Y_VAL), verbose=0)
    table = pd.read_csv(tmp_path / "hyperband" / "results.csv")
    assert len(table) == tuner.max_trials and table["epochs"].max() == 4 and table["epochs"].min() == 1
    assert len(tuner.get_best_models(1)) == 1


def test_bayesian_optimization_and_a_dataset(tmp_path):
    import tensorflow as tf

    train = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
    validation = tf.data.Dataset.from_tensor_slices((X_VAL, Y_VAL)).batch(16)
    tuner = kerashp.BayesianOptimization(build_model, objective="val_accuracy", max_trials=3, directory=tmp_path,
                                         project_name="bayes")
    tuner.search(train, validation_data=validation, epochs=1, verbose=0)
    table = pd.read_csv(tmp_path / "bayes" / "results.csv")
    assert len(table) == 3 and (table["status"] == "COMPLETED").all()


@pytest.mark.parametrize("kwargs, message", [
    ({"sample_weight": np.ones(180)}, "sample_weight not supported"),
    ({}, "pass validation_data="),
])
def test_what_kerashp_cannot_honour_is_refused_in_one_line(tmp_path, kwargs, message):
    tuner = kerashp.RandomSearch(build_model, objective="val_accuracy", max_trials=1, directory=tmp_path)
    extra = {} if "sample_weight" not in kwargs else {"validation_data": (X_VAL, Y_VAL)}
    with pytest.raises(StudyError, match=message):
        tuner.search(X, Y, epochs=1, **kwargs, **extra)
    assert not (tmp_path / "untitled_project").exists()
