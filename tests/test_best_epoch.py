"""--restore-best-weights: a run is tested, and its weights kept, at its best epoch;
the training itself, the ranking and the promotions of a pruned search are unchanged,
and no best-epoch file outlives the run that needed it."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

import keras

from kerashp.cli import main
from kerashp.storage.weights import best_epoch_weights_path
from kerashp.tuning.best_epoch import BestEpochWeights, restored_best_weights
from tiny_study import TinyStudy, synthetic_splits

NUMBERS = ["best_val_accuracy", "best_accuracy", "final_val_loss"]


class HeldOutTinyStudy(TinyStudy):
    """The tiny study with a validation split held out of its training data, so that its
    runs have test figures of their own."""

    name = "tiny_held_out"

    def load_data(self):
        return synthetic_splits(val_split=0.25)


def run(out, *args):
    return main(HeldOutTinyStudy, ["--out", str(out), "--verbose", "0", *args])


def summaries(out):
    return {path.parent.parent.name: json.loads(path.read_text())
            for path in sorted((out / "tuner").glob("trial_*/execution_*/summary.json"))}


def weights(path):
    with h5py.File(path, "r") as handle:
        arrays = []
        handle.visititems(lambda name, item: arrays.append((name, item[()])) if isinstance(item, h5py.Dataset) else None)
    return arrays


def model():
    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    network.compile("sgd", "mse")
    return network


@pytest.mark.fast
def test_the_callback_keeps_the_first_best_epochs_weights_and_resumes_from_the_history(tmp_path):
    network = model()
    callback = BestEpochWeights(tmp_path, "val_accuracy", "max")
    callback.set_model(network)
    kernels = {}
    for epoch, value in enumerate([0.5, 0.7, 0.6, 0.7, 0.65]):
        callback.on_epoch_begin(epoch)
        network.layers[0].kernel.assign(np.full((2, 1), float(epoch), dtype="float32"))
        kernels[epoch + 1] = network.get_weights()
        callback.on_epoch_end(epoch, {"val_accuracy": value})
    assert [path.name for path in tmp_path.glob("best-epoch-*")] == ["best-epoch-0002.weights.h5"]  # the first 0.7
    restored = model()
    restored.load_weights(str(best_epoch_weights_path(tmp_path, 2)))
    np.testing.assert_array_equal(restored.get_weights()[0], kernels[2][0])

    # Resumed at epoch 4 (0-based 3) after a kill: the best is that of the history's epochs 1-3,
    # not of epoch 5, which the killed process had logged and the resumed run redoes.
    (tmp_path / "history.csv").write_text("epoch,val_accuracy\n0,0.5\n1,0.9\n2,0.6\n3,0.7\n4,0.95\n")
    resumed = BestEpochWeights(tmp_path, "val_accuracy", "max")
    resumed.set_model(network)
    resumed.on_epoch_begin(3)
    assert resumed.best == 0.9
    resumed.on_epoch_end(3, {"val_accuracy": 0.8})
    assert [path.name for path in tmp_path.glob("best-epoch-*")] == ["best-epoch-0002.weights.h5"]
    resumed.on_epoch_begin(4)
    resumed.on_epoch_end(4, {"val_accuracy": 0.92})
    assert [path.name for path in tmp_path.glob("best-epoch-*")] == ["best-epoch-0005.weights.h5"]
    (tmp_path / "partial-best-epoch-0009.weights.h5").write_bytes(b"cut")  # a kill mid-write, epoch 9
    resumed.on_epoch_begin(5)
    resumed.on_epoch_end(5, {"val_accuracy": 0.93})
    assert sorted(path.name for path in tmp_path.glob("*.h5")) == ["best-epoch-0006.weights.h5"]


@pytest.mark.fast
def test_restoring_loads_the_best_epoch_and_gives_the_last_back_unless_kept(tmp_path, caplog):
    network = model()
    network.layers[0].kernel.assign(np.ones((2, 1), dtype="float32"))
    network.save_weights(str(best_epoch_weights_path(tmp_path, 3)))
    network.layers[0].kernel.assign(np.zeros((2, 1), dtype="float32"))
    with restored_best_weights(network, tmp_path, best_epoch=3, epochs=5, keep=False) as epoch:
        assert epoch == 3 and network.get_weights()[0].sum() == 2
    assert network.get_weights()[0].sum() == 0  # a promotion continues from the last epoch
    with restored_best_weights(network, tmp_path, best_epoch=3, epochs=5, keep=True) as epoch:
        pass
    assert network.get_weights()[0].sum() == 2
    with restored_best_weights(network, tmp_path, best_epoch=5, epochs=5, keep=True) as epoch:
        assert epoch == 5  # the last epoch is the best: nothing to load
    with restored_best_weights(network, tmp_path, best_epoch=4, epochs=5, keep=True) as epoch:
        assert epoch == 5
    assert "is missing" in caplog.text


def test_a_run_is_tested_and_kept_at_its_best_epoch_as_a_run_stopped_there(tmp_path):
    assert run(tmp_path / "best", "--configs", "fast", "--epochs", "8", "--restore-best-weights") == 0
    (summary,) = summaries(tmp_path / "best").values()
    best_epoch = summary["best_epoch"]
    assert best_epoch < 8, "the tiny study's fast configuration should peak before its last epoch"
    assert summary["restored_epoch"] == best_epoch
    assert run(tmp_path / "stopped", "--configs", "fast", "--epochs", str(best_epoch)) == 0
    (stopped,) = summaries(tmp_path / "stopped").values()
    assert "restored_epoch" not in stopped
    for key in ("test_accuracy", "test_loss"):
        assert summary[key] == stopped[key]  # the same weights: the same figures, to the last bit
    kept = [tmp_path / kind / "tuner" / "trial_0000" / "execution_0" / "final.weights.h5" for kind in ("best", "stopped")]
    for (name, a), (_, b) in zip(weights(kept[0]), weights(kept[1])):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert not list((tmp_path / "best").rglob("best-epoch-*"))  # gone once the run was done


def test_a_pruned_search_ranks_and_promotes_as_without_it_and_leaves_no_best_epoch_files(tmp_path):
    search = ["--search", "random", "--trials", "6", "--epochs", "9", "--prune", "asha", "--keep-weights", "none"]
    assert run(tmp_path / "plain", *search) == 0
    assert run(tmp_path / "best", *search, "--restore-best-weights") == 0
    plain, best = (pd.read_csv(tmp_path / kind / "results.csv", dtype={"trial": str}).set_index("trial")
                   for kind in ("plain", "best"))
    pd.testing.assert_frame_equal(plain[NUMBERS + ["rung_reached"]], best[NUMBERS + ["rung_reached"]])
    plain_runs, best_runs = summaries(tmp_path / "plain"), summaries(tmp_path / "best")
    assert {t: s["best_epoch"] for t, s in plain_runs.items()} == {t: s["best_epoch"] for t, s in best_runs.items()}
    tested = [s for s in best_runs.values() if "test_accuracy" in s]
    assert tested and all(s["restored_epoch"] == s["best_epoch"] for s in tested)
    assert any(s["best_epoch"] < s["epochs"] for s in tested), "no run restored an earlier epoch: a vacuous check"
    assert not list((tmp_path / "best").rglob("best-epoch-*"))


@pytest.mark.fast
def test_a_project_made_without_it_is_not_resumed_with_it(tmp_path):
    from kerashp import StudyError, StudySettings
    from kerashp.storage.layout import FINGERPRINT_FILE
    from kerashp.tuning.study_dir import check_fingerprint

    before = StudySettings.for_study(HeldOutTinyStudy, out=tmp_path)
    old = {key: value for key, value in before.training_fingerprint().items() if key != "restore_best_weights"}
    (tmp_path / FINGERPRINT_FILE).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / FINGERPRINT_FILE).write_text(json.dumps(old))  # as projects made before the setting existed
    check_fingerprint(tmp_path, before)
    with pytest.raises(StudyError, match="restore_best_weights False there vs True now"):
        check_fingerprint(tmp_path, StudySettings.for_study(HeldOutTinyStudy, out=tmp_path,
                                                            restore_best_weights=True))


def test_packed_runs_are_restored_as_runs_trained_alone(tmp_path):
    configs = ["--configs", "slow,medium,fast", "--epochs", "6", "--restore-best-weights"]
    assert run(tmp_path / "alone", *configs) == 0
    assert run(tmp_path / "packed", *configs, "--pack", "3") == 0
    alone, packed = summaries(tmp_path / "alone"), summaries(tmp_path / "packed")
    assert alone.keys() == packed.keys() and all(packed[trial]["packed_trials"] == 3 for trial in packed)
    for trial in alone:
        assert packed[trial]["restored_epoch"] == alone[trial]["restored_epoch"] == alone[trial]["best_epoch"]
        np.testing.assert_allclose(packed[trial]["test_loss"], alone[trial]["test_loss"], rtol=1e-4)
    assert not list(tmp_path.rglob("best-epoch-*"))
