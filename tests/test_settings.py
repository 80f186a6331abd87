"""StudySettings in typed groups and the study options dataclass: every setting has one
group, the training fingerprint is taken from the groups that change results (under the
flat names projects on disk store, so they still resume), and a study's `Options` fields
become command-line options, `kerashp.run` keywords and `self.options`."""

import dataclasses

import pytest

import kerashp
from kerashp.errors import StudyError
from kerashp.options import build_parser
from kerashp.settings import (DataSettings, HardwareSettings, OutputSettings, SearchSettings, StudySettings,
                              TrainingSettings)
from tiny_study import TinyStudy

# What projects written by kerashp 0.2 and 0.3 store in tuner/kerashp_settings.json.
STORED_FINGERPRINT_KEYS = {
    "experiment", "data", "train_limit", "val_split", "epochs", "batch_size", "seeds", "seed", "search", "options",
    "precision", "early_stopping", "prune", "min_epochs", "eta", "defaults", "overrides", "restore_best_weights",
}


class WithOptions(TinyStudy):
    name = "with_options"

    @dataclasses.dataclass(frozen=True)
    class Options:
        width: int = kerashp.option(16, metavar="N", help="hidden units")
        head: str = kerashp.option("softmax", choices=("softmax", "gaussian"), help="output head")
        scale: float | None = kerashp.option(None, help="input scale")
        augment: bool = kerashp.option(False, help="flip the inputs")


def test_settings_come_in_typed_groups_each_field_in_one():
    settings = StudySettings.for_study(TinyStudy, epochs=4, pack=2, keep_weights="none", data_dir="d", trials=3,
                                       search="random")
    assert isinstance(settings.data, DataSettings) and settings.data.data_dir == "d"
    assert isinstance(settings.training, TrainingSettings) and settings.training.epochs == 4
    assert isinstance(settings.search, SearchSettings) and (settings.search.method, settings.search.trials) == (
        "random", 3)
    assert isinstance(settings.hardware, HardwareSettings) and settings.hardware.pack == 2
    assert isinstance(settings.output, OutputSettings) and settings.output.keep_weights == "none"
    names = [field.name for group in (DataSettings, TrainingSettings, SearchSettings, HardwareSettings,
                                      OutputSettings) for field in dataclasses.fields(group)]
    assert len(names) == len(set(names))  # no setting in two groups
    assert set(settings.describe()) == {"study", "experiment", "quick", "data", "training", "search", "hardware",
                                        "output"}


def test_the_fingerprint_keeps_the_names_stored_on_disk():
    fingerprint = StudySettings.for_study(TinyStudy).training_fingerprint()
    assert set(fingerprint) == STORED_FINGERPRINT_KEYS
    assert fingerprint["data"] == "sample" and fingerprint["search"] == "configs"
    assert StudySettings.default_of("defaults") == "keras"  # what a project from before --defaults used
    assert StudySettings.default_of("eta") == 3 and StudySettings.default_of("no such key") is None


@pytest.mark.parametrize("change", [
    {"out": "elsewhere"}, {"trials": 50}, {"configs": "slow"}, {"max_minutes": 5.0}, {"data_dir": "/tmp/d"},
    {"pack": 4}, {"strategy": "default"}, {"jit": "off"}, {"steps_per_execution": 2}, {"worker_timeout": 60.0},
    {"overwrite": True}, {"verbose": 0}, {"reference": "slow"}, {"keep_weights": "none"},
])
def test_what_changes_no_number_leaves_the_fingerprint_alone(change):
    base = {"search": "configs"}
    assert (StudySettings.for_study(TinyStudy, **base, **change).training_fingerprint()
            == StudySettings.for_study(TinyStudy, **base).training_fingerprint())


@pytest.mark.parametrize("change, key", [
    ({"epochs": 7}, "epochs"), ({"batch_size": 8}, "batch_size"), ({"seeds": 2}, "seeds"), ({"seed": 3}, "seed"),
    ({"set": {"learning_rate": 0.5}}, "overrides"), ({"epoch_sleep": 0.5}, "options"),
    ({"precision": "float32"}, "precision"), ({"early_stopping": 2}, "early_stopping"),
    ({"defaults": "pytorch"}, "defaults"), ({"data": "sample:fashion_mnist"}, "data"),
    ({"train_limit": 10}, "train_limit"), ({"val_split": 0.5}, "val_split"), ({"search": "random"}, "search"),
    ({"prune": "asha", "restore_best_weights": False}, "prune"), ({"min_epochs": 2}, "min_epochs"), ({"eta": 4}, "eta"),
    ({"restore_best_weights": True}, "restore_best_weights"),
])
def test_what_changes_a_number_changes_the_fingerprint(change, key):
    before = StudySettings.for_study(TinyStudy, trials=3).training_fingerprint()
    after = StudySettings.for_study(TinyStudy, trials=3, **change).training_fingerprint()
    assert [name for name in before if before[name] != after[name]] == [key]


def test_a_pruned_search_tests_its_runs_at_their_best_epoch_by_default_and_leaves_its_first_rung_open():
    """The defaults the replayed race chose (docs/performance.md): a pruned search tests and keeps
    each run at its best epoch, named configurations and unpruned searches at their last; the first
    rung is left None for the runner to choose once the longest trial is known."""
    pruned = StudySettings.for_study(TinyStudy, search="random", trials=3, prune="asha")
    assert pruned.training.restore_best_weights is True and pruned.search.min_epochs is None
    assert StudySettings.for_study(TinyStudy, search="hyperband", trials=3).training.restore_best_weights is True
    for plain in (StudySettings.for_study(TinyStudy), StudySettings.for_study(TinyStudy, search="random", trials=3)):
        assert plain.training.restore_best_weights is False
    chosen = StudySettings.for_study(TinyStudy, search="random", trials=3, prune="asha", restore_best_weights=False,
                                     min_epochs=2)
    assert chosen.training.restore_best_weights is False and chosen.search.min_epochs == 2
    args = build_parser(TinyStudy).parse_args(["--no-restore-best-weights"])
    assert args.restore_best_weights is False


def test_study_options_are_a_dataclass_seen_as_options_keywords_and_attributes():
    parser = build_parser(WithOptions)
    text = parser.format_help()
    assert "--width N" in text and "hidden units (default: 16)" in text and "--no-augment" in text
    args = parser.parse_args(["--width", "32", "--head", "gaussian", "--scale", "0.5", "--augment"])
    assert (args.width, args.head, args.scale, args.augment) == (32, "gaussian", 0.5, True)

    settings = StudySettings.for_study(WithOptions, width=8)
    assert settings.training.options == {"width": 8, "head": "softmax", "scale": None, "augment": False}
    study = WithOptions(settings)
    assert study.options == WithOptions.Options(width=8) and study.options.width == 8
    with pytest.raises(StudyError, match="head= must be one of softmax, gaussian; got 'normal'"):
        StudySettings.for_study(WithOptions, head="normal")
    with pytest.raises(StudyError, match="width= must be a number"):
        StudySettings.for_study(WithOptions, width="wide")
    assert TinyStudy(StudySettings.for_study(TinyStudy)).options.epoch_sleep == 0.0


def test_options_must_be_a_dataclass():
    class Plain(TinyStudy):
        class Options:
            width = 3

    with pytest.raises(TypeError, match="must be a dataclass of kerashp.option fields"):
        build_parser(Plain)


def test_errors_name_options_as_the_caller_wrote_them_whatever_ran_before(capsys):
    from kerashp.cli import parse_runs

    with pytest.raises(SystemExit):
        parse_runs(TinyStudy, ["--search", "hyperband", "--prune", "asha"])
    assert "--search hyperband prunes with hyperband, not --prune asha" in capsys.readouterr().err
    with pytest.raises(StudyError, match="^search='hyperband' prunes with hyperband, not prune='asha'"):
        StudySettings.for_study(TinyStudy, search="hyperband", prune="asha")  # a command line parsed before


def test_options_are_parsed_once_into_typed_settings(monkeypatch):
    """The command line's parser is the one `kerashp.run` checks keywords with (built once per
    study class); the values it typed are not checked a second time."""
    from kerashp import cli, options, settings as settings_module

    built = []
    real_build = options.build_parser
    monkeypatch.setattr(options, "build_parser", lambda *a, **k: built.append(a) or real_build(*a, **k))
    options.option_table.cache_clear()
    checked = []
    real_check = settings_module._check_value
    monkeypatch.setattr(settings_module, "_check_value",
                        lambda action, value: checked.append(action.dest) or real_check(action, value))
    runs = cli.parse_runs(WithOptions, ["--epochs", "2", "--seeds", "2", "--width", "8"])
    assert len(built) == 1 and checked == []
    assert (runs[0].training.epochs, runs[0].training.seeds, runs[0].training.options["width"]) == (2, 2, 8)
    again = StudySettings.for_study(WithOptions, epochs=3, width=4)
    assert len(built) == 1 and sorted(checked) == ["epochs", "width"]
    assert (again.training.epochs, again.training.options["width"]) == (3, 4)
    options.option_table.cache_clear()


def test_the_search_space_is_declared_once_per_study():
    """The runner's checks, the table's columns and the study's recorded definition read one space."""
    from kerashp.tuning import runner, study_dir

    declared = []

    class Counting(TinyStudy):
        def declare_hyperparameters(self, hp):
            declared.append(1)
            hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")

    study = Counting(StudySettings.for_study(Counting, search="random", trials=2))
    runner.check_overrides(study)
    runner.check_space(study, {})
    runner.check_configs(study, {})
    assert runner.longest_trial_epochs(study, {}) == 3
    assert "learning_rate" in runner.table_hyperparameters(study)
    assert "learning_rate" in study_dir.study_definition(study)["space"]
    assert len(declared) == 1
