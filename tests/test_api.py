"""The public Python API: kerashp.run, Results, load_results, settings resolved in
the library, errors that name keyword arguments, no side effects at import."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import kerashp
from kerashp import StudyError, StudySettings
from kerashp.data import from_arrays
from kerashp.data.splits import apply_shared_options
from tiny_study import TinyStudy, synthetic_splits

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_import_loads_nothing_heavy_and_changes_no_backend():
    code = """
import sys, matplotlib
raw_backend = lambda: dict.__getitem__(matplotlib.rcParams, "backend")  # get_backend() would resolve it
backend = raw_backend()
import kerashp, kerashp.report.figures, kerashp.report.search_figures, kerashp.report.pruning
from kerashp import Study, Experiment, variant, run, load_results, Results, StudySettings, StudyError
import studies.adam_betas, studies.fashion_grid
heavy = [m for m in ("tensorflow", "keras", "keras_tuner", "matplotlib.pyplot") if m in sys.modules]
print(heavy, raw_backend() == backend)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[] True", out.stdout + out.stderr


def test_public_names_are_documented():
    for name in kerashp.__all__:
        assert getattr(kerashp, name).__doc__, name


def test_run_returns_results_equal_to_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher", "-f", "/nonexistent/kernel.json"])  # must not matter
    results = kerashp.run(TinyStudy, configs=["slow", "fast"], seeds=2, out=str(tmp_path), verbose=0)
    csv = pd.read_csv(tmp_path / "results.csv", dtype={"trial": str}).fillna({"message": ""})
    pd.testing.assert_frame_equal(results.table.reset_index(drop=True), csv, check_dtype=False)
    assert list(results.table["name"]) == ["slow", "fast"]
    assert (results.table["runs"] == 2).all()
    # every epoch of every run: 2 trials x 2 seeds x 3 epochs
    assert len(results.epochs) == 12 and set(results.epochs["epoch"]) == {1, 2, 3}
    assert set(results.seeds["name"]) == {"slow", "fast"} and len(results.seeds) >= 4
    table = results.table.set_index("name")
    assert results.best["name"] == table["best_val_accuracy"].idxmax()
    figures = results.figures()
    assert {"val_accuracy", "loss", "val_loss", "seeds"} <= set(figures)
    assert all(isinstance(figure, Figure) for figure in figures.values())
    again = kerashp.load_results(tmp_path)
    pd.testing.assert_frame_equal(again.table, results.table)
    assert "| slow |" in again.markdown and "Across seeds" in again.markdown


def test_settings_resolve_the_study_defaults_in_the_library():
    from studies.adam_betas import AdamBetas
    from studies.usps_cnn import UspsCnn

    settings = StudySettings.for_study(AdamBetas)
    assert (settings.training.epochs, settings.training.batch_size, settings.data.spec) == (10, 64, "cifar10")
    assert settings.training.options == {"weights": "none", "bn_momentum": 0.9}
    quick = StudySettings.for_study(AdamBetas, quick=True)
    assert (quick.training.epochs, quick.data.spec, str(quick.output.out)) == (2, "sample:cifar10_10k",
                                                                             "artifacts/adam_betas_quick")
    usps = StudySettings.for_study(UspsCnn, experiment="width")
    assert usps.experiment == "width" and usps.data.val_split == 0.2 and usps.output.out.name == "width"
    assert StudySettings.for_study(AdamBetas, out="x", set={"beta_1": 0.5}).training.overrides == {"beta_1": 0.5}


@pytest.mark.parametrize("options, words", [
    ({"epochs": 0}, "epochs= expected a positive integer, got 0"),
    ({"epoch": 3}, "unknown option epoch="),
    ({"search": "grd"}, "search= must be one of"),
    ({"val_split": 1.5}, "val_split= expected a fraction"),
    ({"eta": 1}, "eta= must be at least 2"),
    ({"quick": "yes"}, "quick= must be True or False"),
])
def test_bad_options_name_the_keyword_argument(options, words, tmp_path):
    with pytest.raises(StudyError, match=words.replace("(", r"\(")):
        kerashp.run(TinyStudy, out=tmp_path, **options)
    assert not any(tmp_path.iterdir())


def test_an_unknown_set_name_is_named_as_a_keyword(tmp_path):
    with pytest.raises(StudyError, match="set= dropout: tiny has no hyperparameter 'dropout'"):
        kerashp.run(TinyStudy, out=tmp_path, set={"dropout": 0.1})


class ConfigsOnly(kerashp.Study):
    name = "configs_only"
    epochs = 1
    configs = {"a": {"units": 4}, "b": {"units": 8}}

    def load_data(self):
        return synthetic_splits()

    def preprocessing(self, data):
        return None

    def build(self, hp):
        import keras

        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp["units"], activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


def test_a_study_of_named_configurations_needs_no_search_space(tmp_path):
    results = kerashp.run(ConfigsOnly, out=tmp_path / "a", verbose=0)
    assert list(results.table["status"]) == ["COMPLETED", "COMPLETED"]
    with pytest.raises(StudyError, match="search= random: configs_only declares no search space"):
        kerashp.run(ConfigsOnly, out=tmp_path / "b", search="random", trials=2)


def test_malformed_studies_get_one_line(tmp_path):
    class NoBuild(kerashp.Study):
        name = "no_build"
        configs = {"a": {"x": 1}}

    class Unnamed(ConfigsOnly):
        name = ""

    class UnknownHyperparameter(TinyStudy):
        configs = {"typo": {"learnin_rate": 0.1}}

    for study, words in ((NoBuild, "has no build"), (Unnamed, "has no name"),
                         (UnknownHyperparameter, "'typo' names 'learnin_rate'")):
        with pytest.raises(StudyError, match=words) as error:
            kerashp.run(study, out=tmp_path)
        assert "\n" not in str(error.value)


def test_shared_data_options_apply_to_any_load_data():
    rng = np.random.default_rng(0)
    data = from_arrays(rng.normal(size=(200, 3)), rng.integers(0, 2, 200), rng.normal(size=(50, 3)),
                       rng.integers(0, 2, 50))
    assert (len(data.train), len(data.validation), data.test) == (200, 50, None)
    limited = apply_shared_options(data, train_limit=100, val_split=0.2, split_seed=0)
    assert (len(limited.train), len(limited.validation), len(limited.test)) == (80, 20, 50)
    assert "first 100 training examples" in limited.description
    np.testing.assert_array_equal(limited.test.features, data.validation.features)
    again = apply_shared_options(limited, train_limit=10, val_split=0.5, split_seed=0)
    assert len(again.train) == 80  # applied once only


def test_from_arrays_refuses_non_finite_values():
    x = np.ones((10, 2))
    x[3, 1] = np.nan
    with pytest.raises(StudyError, match="training features: 1 example\(s\) hold a non-finite value .* first at example 3"):
        from_arrays(x, np.zeros(10, int), np.ones((4, 2)), np.zeros(4, int))


def test_results_of_a_directory_without_a_study():
    with pytest.raises(StudyError, match="holds no kerashp study"):
        kerashp.load_results(ROOT / "docs")


def test_a_report_spec_round_trips(tmp_path):
    kerashp.run(TinyStudy, configs=["slow"], out=tmp_path, verbose=0)
    spec = json.loads((tmp_path / "tuner" / "kerashp_study.json").read_text())
    assert spec["name"] == "tiny" and spec["hyperparameters"] == ["learning_rate"] and spec["total"] == 1


class TwoExperiments(ConfigsOnly):
    name = "two_experiments"
    configs = {}
    experiments = {
        "width": kerashp.Experiment({"4 units": {"units": 4}, "8 units": {"units": 8}}, epochs=1),
        "depth": kerashp.Experiment({"8 units": {"units": 8}}, epochs=2, description="longer"),
    }


def test_a_study_of_experiments_gives_one_results_per_experiment(tmp_path):
    results = kerashp.run(TwoExperiments, out=tmp_path, verbose=0)
    assert set(results.experiments) == {"width", "depth"}
    assert list(results.table["experiment"]) == ["width", "width", "depth"]
    assert list(results.experiments["depth"].epochs["epoch"]) == [1, 2]
    assert {"width/val_accuracy", "depth/val_accuracy"} <= set(results.figures())
    only = kerashp.run(TwoExperiments, out=tmp_path, experiment="depth", verbose=0)  # resumes: trains nothing
    assert list(only.table["name"]) == ["8 units"] and set(only.experiments) == {"depth"}
    assert len(kerashp.load_results(tmp_path / "width").table) == 2


def test_a_study_changed_under_its_results_is_refused_and_an_added_configuration_runs(tmp_path):
    kerashp.run(TinyStudy, configs=["slow"], epochs=1, out=tmp_path, verbose=0)

    class Edited(TinyStudy):
        configs = {**TinyStudy.configs, "slow": {"learning_rate": 3e-3}}

    with pytest.raises(StudyError, match=r"configuration 'slow' \(learning_rate 0.001 there vs 0.003 now\)"):
        kerashp.run(Edited, configs=["slow"], epochs=1, out=tmp_path, verbose=0)

    class Widened(TinyStudy):
        configs = {**TinyStudy.configs, "faster": {"learning_rate": 0.1}}

    results = kerashp.run(Widened, configs=["slow", "faster"], epochs=1, out=tmp_path, verbose=0)
    assert list(results.table["name"]) == ["slow", "faster"]

    class NewSpace(TinyStudy):
        def declare_hyperparameters(self, hp):
            hp.Float("learning_rate", 1e-5, 1.0, sampling="log")

    with pytest.raises(StudyError, match=r"the search space \(learning_rate declared otherwise\)"):
        kerashp.run(NewSpace, configs=["slow"], epochs=1, out=tmp_path, verbose=0)


def test_an_impossible_set_value_in_a_search_is_refused_before_anything_runs(tmp_path):
    from studies.fashion_grid import FashionGrid

    with pytest.raises(StudyError, match="set= learning_rate=-1.*: learning_rate must be positive, got -1"):
        kerashp.run(FashionGrid, quick=True, set={"learning_rate": -1}, out=tmp_path / "grid")
    assert not (tmp_path / "grid").exists()


@pytest.mark.fast
def test_run_shows_progress_lines_at_info_unless_a_level_was_chosen(monkeypatch):
    """With logging not configured, kerashp.run prints its INFO lines on stderr; a level the
    user set on the "kerashp" logger (e.g. WARNING: no line per trial) is kept, and both the
    handler and the level are as before once the run ends."""
    import logging

    from kerashp.api import _progress_lines

    root, package = logging.getLogger(), logging.getLogger("kerashp")
    monkeypatch.setattr(root, "handlers", [])  # as in a plain script: no handler anywhere
    monkeypatch.setattr(package, "handlers", [])
    for chosen, inside in ((logging.NOTSET, logging.INFO), (logging.WARNING, logging.WARNING)):
        monkeypatch.setattr(package, "level", chosen)
        with _progress_lines():
            assert package.getEffectiveLevel() == inside and len(package.handlers) == 1
        assert package.level == chosen and package.handlers == []


def test_a_report_spec_keeps_the_run_settings_whole_and_reads_one_saved_with_flat_settings(tmp_path):
    """kerashp_study.json holds the run's settings as their groups; a spec saved by an earlier
    version (every setting a top-level key) reads into the same groups and reports alike."""
    from kerashp.report import spec as report_spec
    from kerashp.report.study_report import build_report

    kerashp.run(TinyStudy, configs=["slow"], out=tmp_path, verbose=0, batch_size=16, seed=5)
    project = tmp_path / "tuner"
    saved = json.loads((project / "kerashp_study.json").read_text())
    assert saved["settings"]["training"]["batch_size"] == 16 and saved["settings"]["training"]["seed"] == 5
    assert "batch_size" not in saved and "seed" not in saved
    spec = report_spec.load(project)
    assert spec.settings.training.batch_size == 16 and spec.settings.search.method == "configs"
    before = build_report(tmp_path).markdown_header
    flat = {key: value for key, value in saved.items() if key != "settings"}
    flat.update(experiment=None, search="configs", trials=None, seeds=1, seed=5, reference=None, prune="none",
                min_epochs=1, eta=3, pack=1, batch_size=16, epochs=saved["settings"]["training"]["epochs"],
                options=saved["settings"]["training"]["options"], overrides={}, quick=False, defaults="keras")
    (project / "kerashp_study.json").write_text(json.dumps(flat))
    old = report_spec.load(project)
    assert old.settings.training == spec.settings.training
    assert old.settings.search == dataclasses.replace(spec.settings.search, configs=None)  # never saved flat
    assert build_report(tmp_path).markdown_header == before
    (project / "kerashp_study.json").write_text(json.dumps({"name": "tiny", "hyperparameters": 5}))
    with pytest.raises(StudyError, match="wrong shape"):
        report_spec.load(project)
