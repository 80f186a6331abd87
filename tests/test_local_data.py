"""Local-file readers (HDF5, IDX, LIBSVM) and the standardised CSV regression splits."""

import numpy as np
import pytest

from kerashp.data import load_image_classification
from kerashp.data.tabular import load_csv_regression
from kerashp.data.usps import parse_libsvm_usps
from kerashp.errors import StudyError
from small_data import write_fashion_idx, write_house_csv, write_libsvm_usps, write_usps_h5

FEATURES = ("OverallQual", "YearBuilt", "TotalBsmtSF", "GrLivArea")


def test_usps_h5_becomes_16x16x1_images_with_a_fixed_validation_split(tmp_path):
    path = write_usps_h5(tmp_path / "usps.h5", train=100, test=30)
    data = load_image_classification(f"file:{path}", val_split=0.2, split_seed=0)
    assert data.train.features.shape == (80, 16, 16, 1) and data.train.features.dtype == np.float32
    assert (len(data.validation), len(data.test), data.num_classes) == (20, 30, 10)
    again = load_image_classification(f"file:{path}", val_split=0.2, split_seed=0)
    np.testing.assert_array_equal(data.validation.labels, again.validation.labels)


def test_idx_directory_reads_images_and_labels(tmp_path):
    directory = write_fashion_idx(tmp_path / "fashion", train=50, test=20)
    data = load_image_classification(f"file:{directory}")
    assert data.train.features.shape == (50, 28, 28, 1) and data.train.features.dtype == np.uint8
    # the writer puts a bright row at 2 * label + 4
    rows = data.train.features[..., 0].mean(axis=2).argmax(axis=1)
    np.testing.assert_array_equal(rows, data.train.labels * 2 + 4)


def test_libsvm_usps_parses_labels_and_rescales_pixels(tmp_path):
    images = np.random.default_rng(0).uniform(0, 1, (3, 16, 16)).astype(np.float32)
    split = parse_libsvm_usps(write_libsvm_usps(tmp_path / "usps.bz2", [0, 9, 4], images))
    np.testing.assert_array_equal(split.labels, [0, 9, 4])
    np.testing.assert_allclose(split.features[..., 0], images, atol=1e-5)


def test_bad_local_paths_give_one_clear_error(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        load_image_classification(f"file:{tmp_path / 'missing.h5'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudyError, match="IDX"):
        load_image_classification(f"file:{tmp_path / 'empty'}")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(StudyError, match="could not read"):
        load_image_classification(f"file:{tmp_path / 'junk.h5'}")


def test_csv_regression_split_is_disjoint_and_standardised_with_training_statistics(tmp_path):
    path = write_house_csv(tmp_path / "train.csv", rows=200)
    data, target_scaler = load_csv_regression(path, FEATURES, "SalePrice", seed=0)
    assert (len(data.train), len(data.validation), len(data.test)) == (139, 30, 30)  # 199 rows after the NaN
    np.testing.assert_allclose(data.train.features.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.train.features.std(axis=0), 1.0, atol=1e-4)
    assert abs(data.test.features.mean()) > 1e-4  # test rows are not re-standardised on their own
    import pandas as pd

    prices = pd.read_csv(path).dropna()["SalePrice"].to_numpy()
    all_prices = np.concatenate([target_scaler.inverse(s.labels) for s in (data.train, data.validation, data.test)])
    np.testing.assert_allclose(np.sort(all_prices), np.sort(prices), rtol=1e-5)  # every row once


def test_csv_regression_reports_missing_columns(tmp_path):
    path = write_house_csv(tmp_path / "train.csv")
    with pytest.raises(StudyError, match="no column Garage"):
        load_csv_regression(path, ("Garage",), "SalePrice")
