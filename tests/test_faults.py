"""Files a kill (or a user) damaged between runs: recovered, or refused in one line naming the file."""

import json
import pathlib
import shutil

import numpy as np

import pandas as pd
import pytest

from kerashp.cli import main
from kerashp.tuning.backup import AtomicBackupAndRestore
from tiny_study import TinyStudy


def run(out, *args):
    return main(TinyStudy, ["--out", str(out), "--verbose", "0", *args])


def trained_epochs(out):
    log = out / "epochs_trained.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(scope="module")
def finished_project(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "out"
    assert run(out, "--configs", "slow,medium") == 0
    return out


@pytest.fixture
def project(finished_project, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished_project, out)
    return out


@pytest.mark.parametrize("damage", ["garbage", "empty", "cut", "missing"])
def test_a_damaged_oracle_file_is_rebuilt_from_the_trials(project, damage, caplog):
    oracle = project / "tuner" / "oracle.json"
    text = oracle.read_text()
    if damage == "missing":
        oracle.unlink()
    else:
        oracle.write_text({"garbage": "\x00\x13not json", "empty": "", "cut": text[: len(text) // 2]}[damage])
    before = pd.read_csv(project / "results.csv")
    epochs_before = trained_epochs(project)
    assert run(project, "--configs", "slow,medium,fast") == 0
    results = pd.read_csv(project / "results.csv")
    assert results["name"].tolist() == ["slow", "medium", "fast"] and (results["status"] == "COMPLETED").all()
    pd.testing.assert_frame_equal(results.iloc[:2][["trial", "name", "best_val_accuracy"]],
                                  before[["trial", "name", "best_val_accuracy"]])
    new_epochs = trained_epochs(project)[len(epochs_before):]
    assert {line.split()[0] for line in new_epochs} == {"0002"}  # only the new configuration trained
    assert "rebuilt from the 2 trials on disk" in caplog.text


def test_a_damaged_trial_file_is_named_in_one_line_and_nothing_changes(project, capfd):
    trial_file = project / "tuner" / "trial_0001" / "trial.json"
    text = trial_file.read_text()
    trial_file.write_text(text[: len(text) // 3])
    files_before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert run(project, "--configs", "slow,medium,fast") == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{trial_file} is unreadable" in err and "Traceback" not in err
    files_after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    assert files_after == files_before


def test_records_are_written_whole(project):
    # Every JSON a run writes goes through a temporary file renamed into place: none is left over.
    assert not list(project.rglob("*.tmp"))
    for path in project.rglob("*.json"):
        assert path.read_text().strip().endswith("}")


# ---- bad data: one line naming the problem, --out untouched ------------------------------------

def refuses(study, args, tmp_path, capfd, message):
    out = tmp_path / "out"
    assert main(study, ["--out", str(out), "--verbose", "0", *args]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err, err
    assert not out.exists()  # data is checked before --out is made


def test_an_hdf5_file_with_more_images_than_labels(tmp_path, capfd):
    import h5py
    from studies.usps_cnn import UspsCnn

    path = tmp_path / "usps.h5"
    with h5py.File(path, "w") as handle:
        for name, (images, labels) in {"train": (300, 200), "test": (20, 20)}.items():
            handle[f"{name}/data"] = np.zeros((images, 256), np.float32)
            handle[f"{name}/target"] = np.arange(labels) % 10
    refuses(UspsCnn, ["--experiment", "depth", "--data", f"file:{path}"], tmp_path, capfd,
            "train/data has 300 rows but train/target 200 labels")


def test_labels_that_skip_a_class(tmp_path, capfd):
    import h5py
    from studies.usps_cnn import UspsCnn

    path = tmp_path / "usps.h5"
    with h5py.File(path, "w") as handle:
        for name in ("train", "test"):
            handle[f"{name}/data"] = np.zeros((40, 256), np.float32)
            handle[f"{name}/target"] = np.where(np.arange(40) % 10 == 7, 10, np.arange(40) % 10)  # no 7, a 10
    refuses(UspsCnn, ["--experiment", "depth", "--data", f"file:{path}"], tmp_path, capfd,
            "class '7' has no training examples")


def test_a_stray_label_beyond_the_classes_is_named(tmp_path, capfd):
    """Classes are inferred from the labels in HDF5/IDX files: a 10 among 0..9 labels
    (in one split only) would have added an eleventh class silently."""
    import h5py
    from studies.usps_cnn import UspsCnn

    path = tmp_path / "usps.h5"
    with h5py.File(path, "w") as handle:
        for name in ("train", "test"):
            labels = np.arange(40) % 10
            if name == "train":
                labels[5] = 10
            handle[f"{name}/data"] = np.zeros((40, 256), np.float32)
            handle[f"{name}/target"] = labels
    refuses(UspsCnn, ["--experiment", "depth", "--data", f"file:{path}"], tmp_path, capfd,
            "label(s) 10 appear in 1 training example(s) but never in the test split (its labels: 0..9)")


def test_an_empty_class_folder(tmp_path, capfd):
    from PIL import Image
    from studies.adam_betas import AdamBetas

    for split in ("train", "test"):
        for name in ("cat", "dog", "frog"):
            (tmp_path / "images" / split / name).mkdir(parents=True)
            if not (split == "train" and name == "dog"):
                Image.new("RGB", (32, 32), (10, 20, 30)).save(tmp_path / "images" / split / name / "0.png")
    refuses(AdamBetas, ["--data", f"folder:{tmp_path / 'images'}"], tmp_path, capfd,
            "class 'dog' has no training examples")


def test_prices_that_are_not_plain_numbers(tmp_path, capfd):
    from studies.house_prices import HousePrices

    path = tmp_path / "train.csv"
    path.write_text("OverallQual,YearBuilt,TotalBsmtSF,GrLivArea,SalePrice\n"
                    + "".join(f"7,2001,856,1710,{200000 + i}\n" for i in range(30))
                    + '5,1961,882,896,"$208,500"\n')
    refuses(HousePrices, ["--experiment", "loss", "--csv", str(path)], tmp_path, capfd,
            "1 row(s) hold values that are not numbers, the first '$208,500' in column SalePrice on line 32")


def test_a_truncated_archive_leaves_no_half_extracted_copy(tmp_path, capfd):
    import tarfile
    from PIL import Image
    from studies.adam_betas import AdamBetas

    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / "images" / split / name).mkdir(parents=True)
            for i in range(20):
                Image.effect_noise((32, 32), 60).convert("RGB").save(tmp_path / "images" / split / name / f"{i}.png")
    archive = tmp_path / "images.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "images", arcname="images")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    cache = tmp_path / "cache"
    for _ in range(2):  # the second run must not find a half-extracted copy either
        refuses(AdamBetas, ["--data", f"folder:{archive}", "--data-dir", str(cache)], tmp_path, capfd,
                "could not extract")
        assert not (cache / "images").exists()


# ---- a resumed run is the uninterrupted run -----------------------------------------------------

def interrupting_study(after_epoch, backup_interval_s=0.0):
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == after_epoch:
                raise KeyboardInterrupt  # as a kill would: nothing after this epoch's callbacks runs

    class InterruptedTiny(TinyStudy):
        def extra_callbacks(self, hp, run_dir, tensorboard_dir):
            return [*super().extra_callbacks(hp, run_dir, tensorboard_dir), Stop()]

    InterruptedTiny.backup_interval_s = backup_interval_s
    return InterruptedTiny


@pytest.mark.parametrize("backup_interval_s", [0.0, None, 3600.0])
def test_a_resumed_run_trains_on_the_batches_of_the_uninterrupted_run(tmp_path, backup_interval_s):
    # Checkpoints after every epoch, at the default's automatic interval (which skips some of
    # these millisecond epochs), and never within the run: the rerun repeats the epochs after
    # its last checkpoint (none: all of them) and ends with the uninterrupted run's numbers.
    args = ["--configs", "medium", "--epochs", "5", "--verbose", "0"]
    assert main(TinyStudy, ["--out", str(tmp_path / "whole"), *args]) == 0
    # Ctrl-C after epoch 3's CSV row, before the backup callback (last) saw it: exit 130
    assert main(interrupting_study(3, backup_interval_s), ["--out", str(tmp_path / "resumed"), *args]) == 130
    run_dir = tmp_path / "resumed" / "tuner" / "trial_0000" / "execution_0"
    committed = AtomicBackupAndRestore.committed_epoch(run_dir / "backup")
    assert committed == {0.0: 2, 3600.0: 0}.get(backup_interval_s, committed) and 0 <= committed <= 2
    resumed_study = interrupting_study(0, backup_interval_s)  # after_epoch 0: never interrupts
    assert main(resumed_study, ["--out", str(tmp_path / "resumed"), *args]) == 0
    whole = pd.read_csv(tmp_path / "whole" / "tuner" / "trial_0000" / "execution_0" / "history.csv")
    resumed = pd.read_csv(run_dir / "history.csv")  # the rows after the checkpoint replaced by the rerun's
    assert resumed["epoch"].tolist() == whole["epoch"].tolist() == [0, 1, 2, 3, 4]
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(resumed[columns].to_numpy(), whole[columns].to_numpy(), rtol=1e-5, atol=1e-6)
    summary = lambda out: pd.read_csv(out / "results.csv")["best_val_accuracy"].iloc[0]  # noqa: E731
    assert summary(tmp_path / "resumed") == pytest.approx(summary(tmp_path / "whole"), abs=1e-6)


def test_a_corrupt_image_is_named(tmp_path, capfd):
    from PIL import Image
    from studies.adam_betas import AdamBetas

    for split in ("train", "test"):
        for name in ("cat", "dog"):
            (tmp_path / "images" / split / name).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (32, 32), (i, 20, 30)).save(tmp_path / "images" / split / name / f"{i}.png")
    broken = tmp_path / "images" / "train" / "dog" / "1.png"
    broken.write_bytes(broken.read_bytes()[:40])  # cut short
    refuses(AdamBetas, ["--data", f"folder:{tmp_path / 'images'}"], tmp_path, capfd,
            f"image {broken} could not be decoded")


@pytest.mark.parametrize("lost", ["summary.json", "final.weights.h5"])
def test_a_finished_runs_lost_summary_or_weights_are_retrained(project, lost, caplog):
    before = pd.read_csv(project / "results.csv")
    epochs_before = trained_epochs(project)
    (project / "tuner" / "trial_0000" / "execution_0" / lost).unlink()
    assert run(project, "--configs", "slow,medium") == 0
    assert f"trial 0000: execution_0/{lost} missing; retraining" in caplog.text
    new_epochs = trained_epochs(project)[len(epochs_before):]
    assert {line.split()[0] for line in new_epochs} == {"0000"} and len(new_epochs) == 3  # that run, from scratch
    assert (project / "tuner" / "trial_0000" / "execution_0" / lost).exists()
    results = pd.read_csv(project / "results.csv")
    assert (results["status"] == "COMPLETED").all() and (results["epochs"] == 3).all()
    pd.testing.assert_frame_equal(results[["trial", "name", "best_val_accuracy", "final_val_loss"]],
                                  before[["trial", "name", "best_val_accuracy", "final_val_loss"]])


@pytest.mark.parametrize("damage", ["truncated weights", "garbage weights", "history lost its last row"])
def test_a_damaged_checkpoint_or_history_retrains_to_the_uninterrupted_runs_numbers(tmp_path, damage, caplog):
    args = ["--configs", "medium", "--epochs", "5", "--verbose", "0"]
    assert main(TinyStudy, ["--out", str(tmp_path / "whole"), *args]) == 0
    assert main(interrupting_study(3), ["--out", str(tmp_path / "damaged"), *args]) == 130
    run_dir = tmp_path / "damaged" / "tuner" / "trial_0000" / "execution_0"
    weights = next((run_dir / "backup").glob("epoch_*.weights.h5"))
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "garbage weights":
        weights.write_bytes(b"\x00garbage" * 100)
    else:  # the checkpoint holds epochs 1-2; the CSV loses epoch 2's row (and the repeated epoch 3)
        lines = (run_dir / "history.csv").read_text().splitlines(keepends=True)
        (run_dir / "history.csv").write_text("".join(lines[:2]))
    assert main(TinyStudy, ["--out", str(tmp_path / "damaged"), *args]) == 0
    assert "training this run again from epoch 1" in caplog.text
    assert list(run_dir.parent.glob("execution_0/backup.damaged-*"))  # moved aside, not deleted
    read = lambda out: pd.read_csv(out / "tuner" / "trial_0000" / "execution_0" / "history.csv")  # noqa: E731
    whole, again = read(tmp_path / "whole"), read(tmp_path / "damaged")
    assert again["epoch"].tolist() == whole["epoch"].tolist() == [0, 1, 2, 3, 4]
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(again[columns].to_numpy(), whole[columns].to_numpy(), rtol=1e-5, atol=1e-6)


def test_a_finished_run_whose_history_lost_a_row_is_named_and_retrained(tmp_path, caplog):
    args = ["--out", str(tmp_path), "--configs", "slow,medium", "--epochs", "3", "--verbose", "0"]
    assert main(TinyStudy, args) == 0
    history = tmp_path / "tuner" / "trial_0001" / "execution_0" / "history.csv"
    before = pd.read_csv(history)
    untouched = (tmp_path / "tuner" / "trial_0000" / "execution_0" / "history.csv").read_bytes()
    lines = history.read_text().splitlines(keepends=True)
    history.write_text("".join(lines[:2] + lines[3:]))  # epoch 2's row lost
    assert main(TinyStudy, args) == 0
    assert "trial 0001: execution_0/history.csv epoch(s) 2 missing; retraining" in caplog.text
    after = pd.read_csv(history)
    columns = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(after[columns].to_numpy(), before[columns].to_numpy(), rtol=1e-5, atol=1e-6)
    assert (tmp_path / "tuner" / "trial_0000" / "execution_0" / "history.csv").read_bytes() == untouched
    assert pd.read_csv(tmp_path / "epochs.csv").groupby("name").size().to_dict() == {"slow": 3, "medium": 3}


def test_a_full_disk_stops_in_one_line_and_the_rerun_resumes_to_the_same_numbers(tmp_path, capfd, monkeypatch):
    import errno

    from kerashp.tuning.backup import AtomicBackupAndRestore

    args = ["--configs", "slow,medium", "--epochs", "4", "--verbose", "0"]
    assert main(TinyStudy, ["--out", str(tmp_path / "whole"), *args]) == 0
    write = AtomicBackupAndRestore.write_checkpoint.__func__

    def full_at_third_epoch(cls, model, backup_dir, epoch, batch=0):
        if "trial_0001" in str(backup_dir) and epoch == 3:
            def save_weights(path, overwrite=True):  # the disk fills half way through the file
                pathlib.Path(path).write_bytes(b"partial")
                raise OSError(errno.ENOSPC, "No space left on device", path)
            model.save_weights = save_weights
            try:
                return write(cls, model, backup_dir, epoch, batch)
            finally:
                del model.save_weights
        return write(cls, model, backup_dir, epoch, batch)

    monkeypatch.setattr(AtomicBackupAndRestore, "write_checkpoint", classmethod(full_at_third_epoch))
    capfd.readouterr()
    assert main(TinyStudy, ["--out", str(tmp_path / "full"), *args]) == 2
    err = [line for line in capfd.readouterr().err.splitlines() if not line.startswith("[kerashp]")]
    assert len(err) == 1 and "no space left on device while writing trial 0001" in err[0], err
    assert "Free some space and rerun the same command" in err[0] and "Traceback" not in err[0]
    trial = json.loads((tmp_path / "full" / "tuner" / "trial_0001" / "trial.json").read_text())
    assert trial["status"] == "RUNNING"  # not FAILED: it resumes
    assert not list((tmp_path / "full" / "tuner").rglob("saving.weights.h5"))  # no partial file
    monkeypatch.undo()
    assert main(TinyStudy, ["--out", str(tmp_path / "full"), *args]) == 0
    whole = pd.read_csv(tmp_path / "whole" / "results.csv")
    full = pd.read_csv(tmp_path / "full" / "results.csv")
    assert list(full["status"]) == ["COMPLETED", "COMPLETED"]
    np.testing.assert_allclose(full["best_val_accuracy"], whole["best_val_accuracy"], atol=1e-6)


def test_a_real_full_file_system_stops_in_one_line_and_the_rerun_finishes(tmp_path):
    import subprocess
    import sys

    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        filler = mount / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(mount).free - 120 * 1024))  # ~120 KiB left
        command = [sys.executable, "-m", "kerashp.cli", "run", str(pathlib.Path(__file__).parent / "tiny_study.py"),
                   "--out", str(mount / "run"), "--configs", "slow,medium,fast", "--epochs", "3", "--verbose", "0"]
        full = subprocess.run(command, capture_output=True, text=True, timeout=300)
        lines = [line for line in full.stderr.splitlines() if not line.startswith("[kerashp]")]
        assert full.returncode == 2 and len(lines) == 1 and "no space left on device" in lines[0], full.stderr
        assert "Traceback" not in full.stderr
        filler.unlink()
        again = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert list(pd.read_csv(mount / "run" / "results.csv")["status"]) == ["COMPLETED"] * 3
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
