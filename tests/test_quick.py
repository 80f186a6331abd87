"""`--quick` runs every study out of the box, offline, on data shipped with kerashp."""

import importlib
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest

from kerashp.cli import parse_runs
from kerashp.options import QUICK_EPOCHS, QUICK_TRIALS

STUDIES = {
    "adam_betas": "AdamBetas", "mobilenet_cifar100": "MobileNetCifar100", "usps_cnn": "UspsCnn",
    "house_prices": "HousePrices", "fashion_grid": "FashionGrid", "regularization": "Regularization",
}


def study_class(module):
    return getattr(importlib.import_module(f"studies.{module}"), STUDIES[module])


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a --quick test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("module", sorted(STUDIES))
def test_quick_settings_load_a_shipped_sample_without_network(module, no_network, tmp_path):
    cls = study_class(module)
    runs = parse_runs(cls, ["--quick", "--out", str(tmp_path)])
    expected = list(cls.quick_experiments or cls.experiments) or [None]
    assert [settings.experiment for settings in runs] == expected  # no --experiment needed
    settings = runs[0]
    assert settings.quick and settings.training.epochs == QUICK_EPOCHS
    data = cls(settings).load_data()
    assert "sample" in data.description and len(data.train.labels) > 0 and len(data.validation.labels) > 0


def test_quick_search_studies_stop_after_a_few_trials(tmp_path):
    settings = parse_runs(study_class("fashion_grid"), ["--quick", "--out", str(tmp_path)])[0]
    assert settings.search.method == "grid" and settings.search.trials == QUICK_TRIALS
    assert settings.training.overrides == {"epochs": QUICK_EPOCHS}  # the searched epochs fixed to the quick length
    assert settings.data.spec == "sample:fashion_mnist"


def test_shipped_samples_hold_every_class():
    from kerashp.data.sources import SAMPLES, load_sample

    for name in SAMPLES:
        train, test, class_names = load_sample(name)
        assert len(class_names) == 10
        assert set(train.labels) == set(test.labels) == set(range(10))
        assert train.features.dtype.name in ("uint8", "float32") and train.features.max() > 0


def test_fashion_grid_quick_runs_end_to_end_as_a_command(tmp_path):
    out = tmp_path / "quick"
    result = subprocess.run([sys.executable, "-m", "studies.fashion_grid", "--quick", "--out", str(out)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    results = pd.read_csv(out / "results.csv")
    assert len(results) == QUICK_TRIALS and (results["status"] == "COMPLETED").all()
    assert (results["epochs"] == QUICK_EPOCHS).all() and (results["test_accuracy"] > 0.3).all()
    assert "FashionMNIST sample shipped with kerashp: 2700 train / 300 validation" in (out / "results.md").read_text()


def test_without_experiment_configurations_choose_their_experiments(tmp_path):
    runs = parse_runs(study_class("usps_cnn"), ["--configs", "batch 16,batch 512", "--out", str(tmp_path)])
    assert [settings.experiment for settings in runs] == ["batch_size"]
    runs = parse_runs(study_class("usps_cnn"), ["--out", str(tmp_path)])
    assert [settings.experiment for settings in runs] == list(study_class("usps_cnn").experiments)
