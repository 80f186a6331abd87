"""Contract tests of the private KerasTuner and Keras names kerashp relies on
(kerashp/compat.py): each fails naming the symbol and the installed version."""

import pathlib
import re

import keras
import keras_tuner
import pytest

from kerashp import compat

ROOT = pathlib.Path(__file__).resolve().parents[1]
VERSIONS = f"KerasTuner {keras_tuner.__version__}, Keras {keras.__version__} (tested: {compat.TESTED})"


@pytest.mark.parametrize("module, path, attribute", compat.CONTRACT,
                         ids=[f"{m}.{p}.{a}".replace("..", ".") for m, p, a in compat.CONTRACT])
def test_private_name_exists(module, path, attribute):
    try:
        compat.resolve(module, path, attribute)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{module}.{path}.{attribute} is gone in {VERSIONS}: {error}; update kerashp/compat.py")


def instances(tmp_path):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=1)
    oracle._set_project_dir(str(tmp_path), "project")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(), "mse")
    model.optimizer.build(model.trainable_variables)
    return {"oracle": oracle, "backup": keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
            "compiled model": model, "optimizer": model.optimizer, "oracle display": oracle._display}


def test_private_instance_attributes_exist(tmp_path):
    made = instances(tmp_path)
    model = made["compiled model"]
    import numpy as np

    model.fit(np.ones((2, 2)), np.ones((2, 1)), epochs=1, verbose=0)  # _initial_epoch exists once fit ran
    missing = [f"{kind}.{attribute}" for kind, attribute in compat.INSTANCE_CONTRACT
               if not hasattr(made[kind], attribute)]
    assert not missing, f"gone in {VERSIONS}: {', '.join(missing)}; update kerashp/compat.py"


def test_the_accessors_do_what_kerashp_needs(tmp_path):
    made = instances(tmp_path)
    oracle, model = made["oracle"], made["compiled model"]
    assert compat.retry_queue(oracle) == [] and compat.project_dir(oracle).endswith("project")
    assert compat.trial_dir(oracle, "7").endswith("trial_7")
    assert compat.values_hash(oracle, {"a": 1}) == compat.values_hash(oracle, {"a": 1}) != \
        compat.values_hash(oracle, {"a": 2})
    assert compat.compile_arguments(model)["loss"] == "mse"
    assert len(compat.optimizer_variables_of(model.optimizer)) == 2
    assert [type(layer).__name__ for layer in compat.flatten_layers(model)][-1] == "Dense"
    from keras_tuner.src import config

    before = config.DEBUG
    with compat.keras_tuner_debug(not before):
        assert config.DEBUG is (not before)
    assert config.DEBUG is before  # restored


def test_a_new_trial_is_numbered_as_new_trial_numbered_says(tmp_path):
    # KerasTuner numbers a new trial len(oracle.trials): after a lost trial directory that is
    # another trial's id; compat.new_trial_numbered makes it the number kerashp gives.
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=10, seed=0)
    oracle._set_project_dir(str(tmp_path), "project")
    oracle.hyperparameters.Float("x", 0, 1)
    first = oracle.create_trial("tuner0")
    assert first.trial_id == "00", f"KerasTuner's numbering changed in {VERSIONS}"
    with compat.new_trial_numbered(oracle, 5):
        numbered = oracle.create_trial("tuner1")
    assert numbered.trial_id == "05" and set(oracle.trials) == {"00", "05"} and type(oracle.trials) is dict
    assert numbered.status == "RUNNING" and (tmp_path / "project" / "trial_05" / "trial.json").exists()


def test_the_tuner_file_and_worker_role_are_read_as_kerashp_expects(tmp_path):
    tuner = keras_tuner.RandomSearch(lambda hp: None, objective="val_loss", max_trials=1, directory=str(tmp_path),
                                     project_name="p")
    assert compat.tuner_file(tuner) == str(tmp_path / "p" / "tuner0.json") and compat.is_worker(tuner) is False


def test_no_other_module_imports_keras_tuner_internals():
    offenders = [str(path.relative_to(ROOT)) for folder in ("kerashp", "callbacks", "studies")
                 for path in (ROOT / folder).rglob("*.py")
                 if path.name != "compat.py" and re.search(r"keras_tuner\.src|keras\.src", path.read_text())]
    assert not offenders, offenders


def test_custom_gradients_registered_by_training_are_forgotten():
    # Keras' TensorFlow optimizer all-reduces through a tf.custom_gradient: each traced train
    # step registers one gradient globally, which keeps the step's graph alive.
    import numpy as np

    keep = compat.custom_gradient_names()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(), "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)
    made = compat.custom_gradient_names() - keep
    assert made, f"training registered no custom gradient in {VERSIONS}: the workaround in compat.py may go"
    assert compat.forget_custom_gradients(keep) == len(made)
    assert compat.custom_gradient_names() == keep


def test_a_search_leaves_no_custom_gradients_of_released_trials_behind(tmp_path):
    from kerashp.cli import main
    from tiny_study import TinyStudy

    keep = compat.custom_gradient_names()
    assert main(TinyStudy, ["--out", str(tmp_path), "--verbose", "0", "--search", "random", "--trials", "4",
                            "--epochs", "1"]) == 0
    # only the last trial's model (still in memory when the search ended) has any left
    assert len(compat.custom_gradient_names() - keep) <= 2


def test_set_random_seed_seeds_like_keras_and_keeps_tensorflows_caches_when_unchanged():
    import random

    import numpy as np
    import tensorflow as tf
    from tensorflow.python.eager import context

    cleared = []
    original = context.Context._set_global_seed
    context.Context._set_global_seed = lambda self, seed: (cleared.append(seed), original(self, seed))
    try:
        compat.set_random_seed(5)
        first = (random.random(), np.random.rand(), float(keras.random.uniform(())), tf.random.uniform(()).numpy())
        compat.set_random_seed(5)  # same seed: TensorFlow's global seed (and its caches) left alone
        again = (random.random(), np.random.rand(), float(keras.random.uniform(())))
        compat.set_random_seed(6)
    finally:
        context.Context._set_global_seed = original
    assert cleared == [6] or cleared == [5, 6]
    assert again == first[:3]
