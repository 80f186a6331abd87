"""Data sources, splits and input pipelines."""

import tarfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerashp.data import Split, hold_out, limit_examples, load_image_classification, make_dataset
from kerashp.errors import StudyError


def numbered_split(n=100):
    return Split(np.arange(n, dtype=np.float32).reshape(n, 1), np.arange(n, dtype=np.int32))


def test_hold_out_is_disjoint_complete_and_stable():
    split = numbered_split()
    kept, held = hold_out(split, 0.2, seed=7)
    assert len(kept) == 80 and len(held) == 20
    assert set(kept.labels).isdisjoint(held.labels)
    assert set(kept.labels) | set(held.labels) == set(range(100))
    again_kept, again_held = hold_out(split, 0.2, seed=7)
    np.testing.assert_array_equal(held.labels, again_held.labels)
    _, other_held = hold_out(split, 0.2, seed=8)
    assert set(other_held.labels) != set(held.labels)


def test_limit_takes_the_first_examples():
    assert list(limit_examples(numbered_split(), 5).labels) == [0, 1, 2, 3, 4]
    with pytest.raises(StudyError):
        limit_examples(numbered_split(), 0)


def test_shipped_sample_is_balanced_real_cifar10():
    data = load_image_classification("sample")
    assert data.train.features.shape == (2000, 32, 32, 3) and data.train.features.dtype == np.uint8
    assert len(data.validation) == 500 and data.test is None
    assert data.class_names[:2] == ("airplane", "automobile") and data.num_classes == 10
    assert np.bincount(data.train.labels).tolist() == [200] * 10
    assert np.bincount(data.validation.labels).tolist() == [50] * 10
    assert 40 < data.train.features.mean() < 200 and data.train.features.std() > 30  # real pixels


def test_the_larger_shipped_sample_decodes_its_jpeg_files_as_image_folders_do(monkeypatch):
    """sample:cifar10_10k keeps JPEG bytes, decoded as image folders are (TensorFlow's decoder;
    Pillow's without TensorFlow, within a few levels: the two upsample chroma differently)."""
    from kerashp import backends
    from kerashp.data import image_folder
    from kerashp.data.sources import sample_path

    data = load_image_classification("sample:cifar10_10k")
    assert data.train.features.shape == (10000, 32, 32, 3) and data.train.features.dtype == np.uint8
    assert np.bincount(data.train.labels).tolist() == [1000] * 10 and len(data.validation) == 500
    assert 40 < data.train.features.mean() < 200 and data.train.features.std() > 30
    with np.load(sample_path("cifar10_10k")) as arrays:
        ends = arrays["train_ends"][:20]
        blob = arrays["train_jpeg"][:ends[-1]].tobytes()
    blobs = [blob[a:b] for a, b in zip([0, *ends[:-1]], ends)]
    assert all(b[:2] == b"\xff\xd8" for b in blobs)  # JPEG files, not re-encoded arrays
    with_tensorflow = image_folder.decode_image_bytes(blobs)
    monkeypatch.setattr(backends, "has_tensorflow", lambda: False)
    with_pillow = image_folder.decode_image_bytes(blobs)
    difference = np.abs(with_tensorflow.astype(int) - with_pillow.astype(int))
    assert difference.mean() < 1.0 and difference.max() <= 8
    assert np.array_equal(with_tensorflow, data.train.features[:20])


def test_val_split_holds_out_training_images_and_keeps_test():
    data = load_image_classification("sample", val_split=0.1, train_limit=1000)
    assert (len(data.train), len(data.validation), len(data.test)) == (900, 100, 500)
    assert "held out" in data.description


def write_image_folders(root, per_class=3):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label, name in enumerate(["cat", "dog"]):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                image = np.full((8, 8, 3), 40 + 100 * label, np.uint8) + rng.integers(0, 5, (8, 8, 3), dtype=np.uint8)
                tf.io.write_file(str(folder / f"{i}.png"), tf.io.encode_png(image))


def test_image_folders_load_with_labels_from_folder_names(tmp_path):
    write_image_folders(tmp_path / "data")
    data = load_image_classification(f"folder:{tmp_path / 'data'}")
    assert data.class_names == ("cat", "dog")
    assert data.train.features.shape == (6, 8, 8, 3)
    # Each image's label matches its folder: cats are dark, dogs bright.
    brightness = data.train.features.reshape(6, -1).mean(axis=1)
    np.testing.assert_array_equal(data.train.labels, (brightness > 90).astype(int))
    assert sorted(data.train.labels.tolist()) == [0, 0, 0, 1, 1, 1]


def test_image_folder_archive_is_extracted_once(tmp_path):
    write_image_folders(tmp_path / "cifar-like")
    archive = tmp_path / "cifar-like.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "cifar-like" / "train", arcname="train")
        tar.add(tmp_path / "cifar-like" / "test", arcname="test")
    cache = tmp_path / "cache"
    data = load_image_classification(f"folder:{archive}", data_dir=str(cache))
    assert len(data.train) == 6 and (cache / "cifar-like" / ".extracted").exists()
    marker_time = (cache / "cifar-like" / ".extracted").stat().st_mtime_ns
    load_image_classification(f"folder:{archive}", data_dir=str(cache))
    assert (cache / "cifar-like" / ".extracted").stat().st_mtime_ns == marker_time


def test_tfds_source_with_mock_data():
    with tfds.testing.mock_data(num_examples=12):
        data = load_image_classification("cifar10", train_limit=10)
    assert data.train.features.shape == (10, 32, 32, 3) and len(data.validation) == 12
    assert data.num_classes == 10 and "tensorflow-datasets cifar10" in data.description


def test_training_pipeline_shuffles_each_epoch_reproducibly_and_scales():
    split = Split(np.arange(64, dtype=np.uint8).reshape(64, 1, 1, 1).repeat(3, axis=-1), np.arange(64, dtype=np.int32))
    def epochs(seed, first_epoch=0, num_epochs=2):
        dataset = make_dataset(split, 16, training=True, seed=seed, first_epoch=first_epoch, num_epochs=num_epochs)
        labels = np.concatenate([y.numpy() for _, y in dataset])
        return labels.reshape(num_epochs, 64)
    first, second = epochs(seed=3)
    assert sorted(first) == list(range(64)) and list(first) != list(second)  # a new order each epoch
    np.testing.assert_array_equal(epochs(seed=3), [first, second])  # the same for the same seed
    # A pipeline that starts at epoch 1 (a resumed run) gives epoch 1's order, not epoch 0's.
    np.testing.assert_array_equal(epochs(seed=3, first_epoch=1, num_epochs=1)[0], second)
    validation = make_dataset(split, 16, training=False)
    labels = np.concatenate([y.numpy() for _, y in validation])
    assert list(labels) == list(range(64))
    x, _ = next(iter(validation))
    assert x.dtype == tf.float32 and float(tf.reduce_max(x)) == pytest.approx(15 / 255)
