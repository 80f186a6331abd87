"""Archives of image folders: extracted whole or not at all, never into or over a
directory kerashp did not make, and refused when a member would write outside."""

import io
import tarfile

import pytest

from kerashp.data import sources
from kerashp.errors import StudyError


def make_archive(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_failed_extraction_never_deletes_a_directory_of_the_user(tmp_path):
    archive = make_archive(tmp_path / "images.tar.gz", {f"train/a/{i}.bin": bytes(range(256)) * 40 for i in range(30)})
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])  # truncated
    cache = tmp_path / "data"
    (cache / "images").mkdir(parents=True)
    (cache / "images" / "mine.txt").write_text("the user's own file")  # e.g. a tensorflow-datasets copy
    for _ in range(2):
        with pytest.raises(StudyError, match="could not extract"):
            sources.extract_archive(archive, cache)
        assert (cache / "images" / "mine.txt").read_text() == "the user's own file"
        assert sorted(p.name for p in cache.iterdir()) == ["images"]  # no temporary directory left


def test_an_archive_beside_a_directory_of_the_same_name_goes_elsewhere(tmp_path):
    archive = make_archive(tmp_path / "images.tar.gz", {"train/a/0.bin": b"x", "test/a/0.bin": b"y"})
    cache = tmp_path / "data"
    (cache / "images").mkdir(parents=True)
    folder = sources.extract_archive(archive, cache)
    assert folder == cache / "images.kerashp" and (folder / "train" / "a" / "0.bin").read_bytes() == b"x"
    assert list((cache / "images").iterdir()) == []
    assert sources.extract_archive(archive, cache) == folder  # once


@pytest.mark.parametrize("name", ["../escape.bin", "/abs/escape.bin"])
def test_members_writing_outside_are_refused_without_tarfiles_data_filter(tmp_path, monkeypatch, name):
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = make_archive(tmp_path / "evil.tar.gz", {"train/a/0.bin": b"x", name: b"y"})
    with pytest.raises(StudyError, match="refusing member"):
        sources.extract_archive(archive, tmp_path / "data")
    assert not (tmp_path / "escape.bin").exists() and not (tmp_path / "data" / "evil").exists()


def test_an_archive_replaced_under_the_same_name_is_extracted_again(tmp_path):
    import os

    archive = make_archive(tmp_path / "images.tar.gz", {"train/a/0.bin": b"old", "test/a/0.bin": b"y"})
    cache = tmp_path / "data"
    folder = sources.extract_archive(archive, cache)
    assert (folder / "train" / "a" / "0.bin").read_bytes() == b"old"
    stamp = archive.stat().st_mtime_ns
    assert sources.extract_archive(archive, cache) == folder  # unchanged: extracted once
    make_archive(archive, {"train/a/0.bin": b"new", "test/a/0.bin": b"y", "train/b/0.bin": b"z"})
    os.utime(archive, ns=(stamp, stamp))  # even with its old modification time
    folder = sources.extract_archive(archive, cache)
    assert (folder / "train" / "a" / "0.bin").read_bytes() == b"new" and (folder / "train" / "b").is_dir()
    assert sorted(p.name for p in cache.iterdir()) == ["images"]  # the old extraction gone, nothing else left
