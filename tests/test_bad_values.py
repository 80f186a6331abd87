"""Non-finite and absurdly large input values are refused in one line naming the
file, the column or array, and the first row (they used to "diverge at epoch 1")."""

import h5py
import numpy as np
import pytest

from kerashp.data.local_files import read_local
from kerashp.data.tabular import load_csv_regression
from kerashp.errors import StudyError

FEATURES = ("a", "b")


def write_csv(path, bad_value):
    rows = ["a,b,y"] + [f"{i},{2 * i},{3 * i}" for i in range(40)]
    rows[12] = f"11,{bad_value},33"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("bad_value", ["inf", "-inf", "1e308"])
def test_a_csv_value_that_cannot_be_standardised_is_named(tmp_path, bad_value):
    path = write_csv(tmp_path / "data.csv", bad_value)
    with pytest.raises(StudyError, match=rf"1 row\(s\) hold values that are infinite or beyond .* column b on line 13") as error:
        load_csv_regression(path, FEATURES, "y")
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_csv_with_plain_numbers_still_loads(tmp_path):
    data, _ = load_csv_regression(write_csv(tmp_path / "data.csv", "22"), FEATURES, "y")
    assert np.isfinite(data.train.features).all() and len(data.train) + len(data.validation) + len(data.test) == 40


def test_nan_pixels_in_an_hdf5_file_are_named(tmp_path):
    path = tmp_path / "digits.h5"
    train = np.random.default_rng(0).random((10, 16)).astype(np.float32)
    train[7, 3] = np.nan
    with h5py.File(path, "w") as handle:
        handle["train/data"], handle["train/target"] = train, np.arange(10) % 2
        handle["test/data"], handle["test/target"] = np.zeros((4, 16), np.float32), np.arange(4) % 2
    with pytest.raises(StudyError, match=r"digits.h5 train/data: 1 example\(s\) hold a non-finite value .* at example 7"):
        read_local(str(path))
