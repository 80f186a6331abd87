"""The tensorflow-datasets path for real, offline: a local builder prepared and read
through `--data NAME`, and the errors of a missing module and of no network."""

import sys

import numpy as np
import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.data import load_image_classification
from kerashp.data import sources
from studies.regularization import Regularization
from tfds_tiny.tiny_shapes import CLASS_NAMES, TinyShapes, write_source


@pytest.fixture
def tiny_shapes(tmp_path, monkeypatch):
    written = write_source(tmp_path / "source")
    monkeypatch.setattr(TinyShapes, "source_dir", tmp_path / "source")
    return written


def test_a_tfds_builder_is_prepared_and_loaded_with_its_own_images(tiny_shapes, tmp_path):
    data_dir = tmp_path / "tfds"
    data = load_image_classification("tiny_shapes", data_dir=str(data_dir))
    assert data.class_names == CLASS_NAMES and data.input_shape == (12, 12, 1)
    # tfds wrote its TFRecord shards and metadata into --data-dir ...
    assert list(data_dir.glob("tiny_shapes/1.0.0/tiny_shapes-train.tfrecord*"))
    assert (data_dir / "tiny_shapes" / "1.0.0" / "dataset_info.json").exists()
    # ... and gave back exactly the examples the source files hold (tfds shuffles them).
    assert data.test is None  # without --val-split the test split is the validation set
    for loaded, (images, labels) in ((data.train, tiny_shapes["train"]), (data.validation, tiny_shapes["test"])):
        assert len(loaded.labels) == len(labels)
        order = lambda x, y: np.lexsort((y, x.reshape(len(x), -1).sum(axis=1)))  # noqa: E731
        assert np.array_equal(loaded.features[order(loaded.features, loaded.labels)], images[order(images, labels)])
        assert np.array_equal(np.sort(loaded.labels), np.sort(labels))


def test_a_study_trains_on_a_tfds_data_set_given_by_name(tiny_shapes, tmp_path, capfd):
    out = tmp_path / "out"
    args = ["--experiment", "dropout", "--configs", "dropout 0.0", "--data", "tiny_shapes",
            "--data-dir", str(tmp_path / "tfds"), "--epochs", "3", "--out", str(out), "--verbose", "0"]
    assert main(Regularization, args) == 0
    results = pd.read_csv(out / "dropout" / "results.csv")
    assert results["status"].tolist() == ["COMPLETED"]
    assert "tensorflow-datasets tiny_shapes: 81 train / 9 validation" in (out / "dropout" / "results.md").read_text()
    assert results["test_accuracy"].iloc[0] > 0.8  # three clean patterns: learnt
    # Prepared once: a second load reads the shards without generating again.
    TinyShapes.source_dir = tmp_path / "gone"
    assert len(load_image_classification("tiny_shapes", data_dir=str(tmp_path / "tfds")).train.labels) == 90


def test_a_module_tfds_imports_lazily_is_named_when_missing(tiny_shapes, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "importlib_resources", None)  # import importlib_resources -> ImportError
    import tensorflow_datasets as tfds

    def prepare(self, *args, **kwargs):
        import importlib_resources  # noqa: F401  (what etils does while preparing)

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", prepare)
    assert main(Regularization, ["--experiment", "dropout", "--data", "tiny_shapes", "--data-dir",
                                 str(tmp_path / "tfds"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "needs the Python module 'importlib_resources'" in err and "pip install importlib-resources" in err
    assert "network" not in err


def test_the_real_dependency_is_installed():
    import importlib_resources  # noqa: F401  (declared in pyproject.toml for tensorflow-datasets)


def test_an_unprepared_data_set_offline_fails_at_once_naming_the_alternatives(tmp_path, monkeypatch, capsys):
    def no_dns(host, *args, **kwargs):
        raise OSError(-2, "Name or service not known")

    monkeypatch.setattr(sources.socket, "getaddrinfo", no_dns)
    assert main(Regularization, ["--experiment", "dropout", "--data", "fashion_mnist", "--data-dir",
                                 str(tmp_path / "tfds"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "not prepared" in err and "offline" in err and "sample:fashion_mnist" in err
    assert not (tmp_path / "out" / "dropout" / "tuner").exists()
