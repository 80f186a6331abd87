"""The Adam study end to end on the shipped sample, with a tiny budget."""


import keras
import pandas as pd
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from kerashp.cli import main, parse_settings
from kerashp.data import load_image_classification
from studies.adam_betas import AdamBetas

CONFIG_NAMES = ["Baseline", "High beta1", "Low beta2", "Large epsilon", "Very High Smoothing"]


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam") / "out"
    status = main(AdamBetas, ["--data", "sample", "--train-limit", "96", "--epochs", "2",
                              "--batch-size", "32", "--out", str(out), "--verbose", "0"])
    assert status == 0
    return out


def test_table_has_one_row_per_configuration_with_its_values(study_out):
    results = pd.read_csv(study_out / "results.csv")
    assert list(results["name"]) == CONFIG_NAMES
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 2).all()
    for _, row in results.iterrows():
        config = AdamBetas.configs[row["name"]]
        assert (row["beta_1"], row["beta_2"], row["epsilon"]) == (config["beta_1"], config["beta_2"], config["epsilon"])
        history = pd.read_csv(study_out / "tuner" / f"trial_{row['trial']:04d}" / "execution_0" / "history.csv")
        assert row["best_val_accuracy"] == pytest.approx(history["val_accuracy"].max())
        assert row["best_accuracy"] == pytest.approx(history["accuracy"].max())
        assert row["final_val_loss"] == pytest.approx(history["val_loss"].iloc[-1])
        assert row["train_time_s"] == pytest.approx(history["epoch_seconds"].sum())
        assert row["images_per_second"] == pytest.approx(history["images_per_second"].iloc[1])
        assert 0.0 <= row["best_val_accuracy"] <= 1.0 and row["images_per_second"] > 0
    markdown = (study_out / "results.md").read_text()
    for title in ["best val accuracy", "best train accuracy", "final val loss", "training time (s)", "images/s"]:
        assert title in markdown
    assert all(f"| {name} |" in markdown for name in CONFIG_NAMES)


def test_figures_are_written(study_out):
    for name in ["val_accuracy.png", "loss.png"]:
        path = study_out / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_tensorboard_has_a_run_per_trial_with_hparams(study_out):
    runs = sorted(p.name for p in (study_out / "tensorboard").iterdir() if p.is_dir())
    assert runs == [f"trial_{i:04d}" for i in range(5)]
    root = event_accumulator.EventAccumulator(str(study_out / "tensorboard"))
    root.Reload()
    experiment = HParamsPluginData.FromString(root.PluginTagToContent("hparams")["_hparams_/experiment"]).experiment
    assert {"config", "beta_1", "beta_2", "epsilon", "seed"} <= {h.name for h in experiment.hparam_infos}
    assert "best_val_accuracy" in {m.name.tag for m in experiment.metric_infos}
    run = event_accumulator.EventAccumulator(str(study_out / "tensorboard" / "trial_0002"))
    run.Reload()
    session = HParamsPluginData.FromString(run.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert session.hparams["config"].string_value == "Low beta2"
    assert session.hparams["beta_2"].number_value == pytest.approx(0.99)
    assert "best_val_accuracy" in run.Tags()["tensors"]
    validation = event_accumulator.EventAccumulator(str(study_out / "tensorboard" / "trial_0002" / "validation"))
    validation.Reload()
    assert len(validation.Tensors("epoch_accuracy")) == 2
    train = event_accumulator.EventAccumulator(str(study_out / "tensorboard" / "trial_0002" / "train"))
    train.Reload()
    assert "epoch_images_per_second" in train.Tags()["tensors"]


def test_rerun_resumes_without_training(study_out, capsys):
    summaries = sorted(study_out.glob("tuner/trial_*/execution_0/summary.json"))
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in summaries]
    status = main(AdamBetas, ["--data", "sample", "--train-limit", "96", "--epochs", "2",
                              "--batch-size", "32", "--out", str(study_out), "--verbose", "0"])
    assert status == 0
    assert "Epoch" not in capsys.readouterr().out
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in summaries] == before
    assert len(pd.read_csv(study_out / "results.csv")) == 5


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_optimizer_carries_the_configuration(name, tmp_path):
    settings = parse_settings(AdamBetas, ["--data", "sample", "--out", str(tmp_path)])
    study = AdamBetas(settings, load_image_classification("sample", train_limit=8))
    hp = __import__("keras_tuner").HyperParameters()
    study.declare_hyperparameters(hp)
    hp.values.update(AdamBetas.configs[name])
    model = study.build(hp)
    config = AdamBetas.configs[name]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    for name in ("beta_1", "beta_2", "epsilon"):
        assert float(model.optimizer.__getattribute__(name)) == pytest.approx(config[name], rel=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
