"""NamedConfigOracle: order, no repeats, exact resumption from disk."""

import keras_tuner
from keras_tuner.engine import trial as trial_module

from kerashp.tuning.oracle import NamedConfigOracle

CONFIGS = {"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}}


def make_oracle(directory, names=None):
    oracle = NamedConfigOracle(CONFIGS, names, objective=keras_tuner.Objective("score", "max"))
    oracle._set_project_dir(str(directory), "project")
    if (directory / "project" / "oracle.json").exists():
        oracle.reload()
    return oracle


def finish(oracle, trial):
    oracle.update_trial(trial.trial_id, {"score": 1.0})
    trial.status = trial_module.TrialStatus.COMPLETED
    oracle.end_trial(trial)


def resume_b_then_c(directory, trial_id):
    """Reloads the oracle and checks that it runs "b" first, under `trial_id`, then "c", then stops."""
    resumed = make_oracle(directory)
    again = resumed.create_trial("tuner0")
    assert (again.trial_id, again.hyperparameters.values["config"]) == (trial_id, "b")
    finish(resumed, again)
    last = resumed.create_trial("tuner0")
    assert last.hyperparameters.values["config"] == "c"
    finish(resumed, last)
    assert resumed.create_trial("tuner0").status == "STOPPED"


def test_configurations_run_in_order_then_stop(tmp_path):
    oracle = make_oracle(tmp_path)
    seen = []
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        seen.append((trial.hyperparameters.values["config"], trial.hyperparameters.values["x"]))
        finish(oracle, trial)
    assert seen == [("a", 1), ("b", 2), ("c", 3)]


def test_reload_resumes_the_interrupted_trial_then_the_rest_without_repeats(tmp_path):
    oracle = make_oracle(tmp_path)
    finish(oracle, oracle.create_trial("tuner0"))
    interrupted = oracle.create_trial("tuner0")  # process dies here
    assert interrupted.hyperparameters.values["config"] == "b"

    resume_b_then_c(tmp_path, interrupted.trial_id)
    names = sorted(t.hyperparameters.values["config"] for t in make_oracle(tmp_path).trials.values())
    assert names == ["a", "b", "c"]


def test_a_trial_handed_out_just_before_a_kill_is_run_after_the_rerun(tmp_path):
    """KerasTuner writes a new trial's file, then oracle.json: a kill between the two writes
    leaves a trial that oracle.json does not know; the rerun runs it first, under its id."""
    oracle = make_oracle(tmp_path)
    finish(oracle, oracle.create_trial("tuner0"))
    state = (tmp_path / "project" / "oracle.json").read_bytes()
    handed_out = oracle.create_trial("tuner0")
    (tmp_path / "project" / "oracle.json").write_bytes(state)  # as if killed before oracle.json was written

    resume_b_then_c(tmp_path, handed_out.trial_id)
    statuses = {t.hyperparameters.values["config"]: t.status for t in make_oracle(tmp_path).trials.values()}
    assert statuses == {"a": "COMPLETED", "b": "COMPLETED", "c": "COMPLETED"}


def test_subset_then_full_set_adds_only_the_missing(tmp_path):
    oracle = make_oracle(tmp_path, ["c"])
    finish(oracle, oracle.create_trial("tuner0"))
    assert oracle.create_trial("tuner0").status == "STOPPED"
    full = make_oracle(tmp_path)
    order = []
    while (trial := full.create_trial("tuner0")).status != "STOPPED":
        order.append(trial.hyperparameters.values["config"])
        finish(full, trial)
    assert order == ["a", "b"]


def test_trials_load_as_keras_tuner_loads_them(tmp_path):
    """The reload's trial loader (one deserialised space shared by all trials) gives
    the trials KerasTuner's own `Trial.load` gives."""
    import json

    import keras_tuner
    from keras_tuner.engine import trial as trial_module

    from kerashp.tuning.oracle import trial_from_state

    space = keras_tuner.HyperParameters()
    space.Choice("units", [8, 16])
    space.Float("lr", 1e-4, 1e-1, sampling="log")
    spaces = {}
    for index, (units, lr) in enumerate([(8, 1e-3), (16, 3e-2)]):
        hp = space.copy()
        hp.values.update(units=units, lr=lr)
        trial = trial_module.Trial(hp, trial_id=str(index), status="COMPLETED")
        trial.metrics.register("val_accuracy", "max")
        trial.metrics.update("val_accuracy", 0.5 + index / 10, step=2)
        trial.score, trial.best_step, trial.message = 0.5 + index / 10, 2, None
        path = tmp_path / f"trial_{index}.json"
        path.write_text(json.dumps(trial.get_state()))
        state = json.loads(path.read_text())
        fast = trial_from_state(state, spaces)
        assert fast.get_state() == trial_module.Trial.load(str(path)).get_state()
        assert fast.hyperparameters.get("units") == units and fast.hyperparameters.get("lr") == lr
    assert len(spaces) == 1  # the space was deserialised once


def test_the_saved_oracle_stays_small_and_reloads_to_keras_tuners_own_state(tmp_path):
    """oracle.json leaves out what grows with the trials (it costs the same to write at
    trial 20,000 as at trial 100), yet a reload has KerasTuner's whole state again:
    orders, hashes and run counts, a retried trial's count of 2 included."""
    configs = {f"c{i}": {"x": i} for i in range(40)}

    def oracle_for(directory):
        oracle = NamedConfigOracle(configs, None, objective=keras_tuner.Objective("score", "max"),
                                   max_retries_per_trial=1)
        oracle._set_project_dir(str(directory), "project")
        if (directory / "project" / "oracle.json").exists():
            oracle.reload()
        return oracle

    oracle = oracle_for(tmp_path)
    sizes = {}
    for index in range(40):
        trial = oracle.create_trial("tuner0")
        if index == 3:  # fails once (INVALID: KerasTuner retries it), is retried at once, then completes
            trial.status = trial_module.TrialStatus.INVALID
            oracle.end_trial(trial)
            trial = oracle.create_trial("tuner0")
            assert trial.hyperparameters.values["config"] == "c3"
        finish(oracle, trial)
        sizes[index] = (tmp_path / "project" / "oracle.json").stat().st_size
    assert sizes[39] == sizes[5]  # no per-trial list in the file
    reloaded = oracle_for(tmp_path)
    for name in ("start_order", "end_order", "_tried_so_far", "_id_to_hash"):
        assert getattr(reloaded, name) == getattr(oracle, name), name
    assert reloaded._display.trial_number == oracle._display.trial_number
    assert dict(reloaded._run_times) == dict(oracle._run_times)
    retried = next(t.trial_id for t in oracle.trials.values() if t.hyperparameters.values["config"] == "c3")
    assert reloaded._run_times[retried] == 2
