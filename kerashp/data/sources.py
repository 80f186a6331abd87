"""Resolves a `--data` specification into in-memory splits.

Specifications understood by `load_image_classification`:

- a tensorflow-datasets name (`cifar10`, `cifar100`, ...): `tfds.load`, which
  downloads into `--data-dir` (default `~/tensorflow_datasets`) where there is
  network and reads the prepared copy where there is not;
- `folder:PATH`: a directory with `train/<class>/` and `test/<class>/` image
  folders, or a `.tar.gz` archive of one (extracted once next to the archive's
  cache in `--data-dir`, default `~/.cache/kerashp`);
- `file:PATH`: a local copy in its native format: an HDF5 file with
  train/test data and targets (USPS) or a directory of MNIST-style IDX files
  (FashionMNIST); see `kerashp.data.local_files`;
- `usps`: USPS digits, downloaded once from the public LIBSVM copy;
- `sample`, `sample:NAME`: a small real sample shipped inside the package
  (`cifar10`, the default, `cifar10_10k`, `fashion_mnist` or `usps`; see samples/PROVENANCE.md).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pathlib
import re
import shutil
import socket
import tarfile
import tempfile
import urllib.parse
import zlib

import numpy as np

from kerashp.data import image_folder, local_files, usps
from kerashp.data.splits import DataSplits, Split, make_splits
from kerashp.errors import StudyError, option_value

logger = logging.getLogger(__name__)

SAMPLES_DIR = pathlib.Path(__file__).parent / "samples"
EXTRACTED_MARKER = ".extracted"  # written last into an extracted archive's folder
# Shipped samples (`--data sample:NAME`; plain `sample` is CIFAR-10), with their source.
SAMPLES = {"cifar10": "CIFAR-10", "cifar10_10k": "CIFAR-10 (10,000 training images)", "fashion_mnist": "FashionMNIST",
           "usps": "USPS"}
DEFAULT_CACHE_DIR = pathlib.Path("~/.cache/kerashp").expanduser()
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def data_options_hint(name: str) -> str:
    """The one-line list of alternatives shown when data cannot be had."""
    return (
        f"{option_value('data', name)} needs network access or a prepared tensorflow-datasets copy "
        "in --data-dir; offline, use --data folder:PATH (train/<class>/ and "
        "test/<class>/ image folders, or a .tar.gz of them), --data file:PATH "
        "(an .h5 file or a directory of IDX files) or --data sample "
        "(the CIFAR-10 copy shipped with kerashp; sample:fashion_mnist, sample:usps for the others)"
    )


def load_tfds(name: str, data_dir: str | None) -> tuple[Split, Split, tuple[str, ...]]:
    """Loads the train and test splits of a tensorflow-datasets image data set as arrays."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise StudyError(f"{option_value('data', name)} needs tensorflow-datasets and TensorFlow, not installed here; "
                         "use folder:PATH, file:PATH or sample") from None

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        if not builder.is_prepared():
            # tfds' own catalogue downloads from the internet; a builder of the user's may read local
            # files, and under tfds.testing.mock_data nothing is downloaded.
            in_catalogue = type(builder).__module__.startswith("tensorflow_datasets.")
            mocked = builder.download_and_prepare.__module__.startswith("tensorflow_datasets.testing")
            unreachable = unreachable_host(builder.info.homepage) if in_catalogue and not mocked else None
            if unreachable:
                raise StudyError(f"could not load {name!r}: it is not prepared in {builder.data_dir} and this "
                                 f"machine is offline ({unreachable}); {data_options_hint(name)}")
            builder.download_and_prepare()
        train, test = builder.as_dataset(split=["train", "test"], as_supervised=True)
        train_split, test_split = to_arrays(train), to_arrays(test)
        info = builder.info
    except StudyError:
        raise
    except tfds.core.registered.DatasetNotFoundError:
        raise StudyError(f"unknown data set {name!r}; {data_options_hint(name)}") from None
    except ImportError as error:  # a module tfds imports lazily is missing: not a network problem
        named = re.search(r"No module named '([\w.]+)'", str(error))
        missing = error.name or (named.group(1) if named else str(error).splitlines()[0][:100])
        raise StudyError(
            f"tensorflow-datasets could not load {name!r}: it needs the Python module {missing!r}, which is "
            f"not installed (pip install {missing.split('.')[0].replace('_', '-')}, or reinstall kerashp, "
            "which declares it)"
        ) from None
    except Exception as error:  # tfds raises many kinds of errors when offline
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise StudyError(f"could not load {name!r} ({first_line}); {data_options_hint(name)}") from None
    return train_split, test_split, tuple(info.features["label"].names)


def unreachable_host(url: str | None) -> str | None:
    """Why the host of `url` cannot be reached (its name does not resolve), or None.

    Asked before a tensorflow-datasets download, whose retries take minutes to
    fail on a machine without network. None too where `url` names no host.
    """
    host = urllib.parse.urlparse(url or "").hostname
    if not host:
        return None
    try:
        socket.getaddrinfo(host, 443)
    except OSError as error:
        return f"{host} does not resolve: {error.strerror or error}"
    return None


def to_arrays(dataset, batch_size: int = 4096) -> Split:
    """Reads a supervised (image, label) tf.data split into uint8/int32 arrays."""
    images, labels = [], []
    for image_batch, label_batch in dataset.batch(batch_size):
        images.append(image_batch.numpy())
        labels.append(label_batch.numpy())
    return Split(np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int32))


def sample_path(name: str) -> pathlib.Path:
    """Where the shipped sample of data set `name` lies (see samples/PROVENANCE.md)."""
    return SAMPLES_DIR / f"{name}_sample.npz"


def load_sample(name: str = "cifar10") -> tuple[Split, Split, tuple[str, ...]]:
    """Loads a small real sample shipped with kerashp: `cifar10`, `fashion_mnist` or `usps`."""
    if name not in SAMPLES:
        raise StudyError(f"no shipped sample {name!r}; choose sample:{', sample:'.join(SAMPLES)}")
    path = sample_path(name)
    if not path.exists():
        raise StudyError(f"the shipped sample {path} is missing; reinstall kerashp")
    with np.load(path) as arrays:
        if "train_jpeg" in arrays:  # encoded files, concatenated, with their end offsets
            images = {split: _decoded(arrays[f"{split}_jpeg"], arrays[f"{split}_ends"]) for split in ("train", "test")}
        else:
            images = {split: arrays[f"{split}_images"] for split in ("train", "test")}
        if images["train"].dtype != np.uint8:  # USPS: floats in [0, 1], stored as float16
            images = {split: values.astype(np.float32) for split, values in images.items()}
        train = Split(images["train"], arrays["train_labels"].astype(np.int32))
        test = Split(images["test"], arrays["test_labels"].astype(np.int32))
        class_names = tuple(str(n) for n in arrays["class_names"])
    return train, test, class_names


def _decoded(blob: np.ndarray, ends: np.ndarray) -> np.ndarray:
    from kerashp.data.image_folder import decode_image_bytes

    data = blob.tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    return decode_image_bytes([data[a:b] for a, b in zip(starts, ends)])


def _safe_members(tar: tarfile.TarFile, archive: pathlib.Path) -> list[tarfile.TarInfo]:
    """The archive's members, refusing any that could write outside the target
    (absolute paths, `..`, links, devices): for Pythons without tarfile's `data` filter."""
    members = tar.getmembers()
    for member in members:
        parts = pathlib.PurePosixPath(member.name).parts
        if member.name.startswith(("/", "\\")) or ".." in parts or not (member.isfile() or member.isdir()):
            raise StudyError(f"{archive}: refusing member {member.name!r} (absolute path, '..', link or device)")
    return members


def _extract(archive: pathlib.Path, destination: pathlib.Path) -> None:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+
            tar.extractall(destination, filter="data")
        else:
            tar.extractall(destination, members=_safe_members(tar, archive))


def archive_identity(archive: pathlib.Path) -> str:
    """What an extraction was made from: the archive's size, modification time and a hash
    of its first, middle and last MiB (cheap for any size): an archive replaced or edited
    under the same name has another."""
    size = archive.stat().st_size
    digest = hashlib.blake2b(digest_size=12)
    with open(archive, "rb") as handle:
        for offset in sorted({0, max(size // 2 - 2**19, 0), max(size - 2**20, 0)}):
            handle.seek(offset)
            digest.update(handle.read(2**20))
    return f"{size} {archive.stat().st_mtime_ns} {digest.hexdigest()}"


def extract_archive(archive: pathlib.Path, cache_dir: pathlib.Path) -> pathlib.Path:
    """Extracts an image-folder archive once into `cache_dir` and returns the folder.

    The archive is extracted into a fresh temporary directory beside the target and
    renamed into place only when complete, so a failed extraction leaves nothing
    behind, and nothing kerashp did not create is ever deleted: a target of the
    same name that kerashp did not make (e.g. a tensorflow-datasets copy) is left
    alone and the archive goes to `<name>.kerashp` instead.
    """
    name = archive.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    target = cache_dir / name
    if target.exists() and not (target / EXTRACTED_MARKER).exists():
        target = cache_dir / f"{name}.kerashp"  # not ours: never written into, never deleted
    identity = archive_identity(archive)
    marker = target / EXTRACTED_MARKER
    stale = marker.exists() and marker.read_text().strip() != identity
    if stale:  # another archive under this name since: its extraction is never served
        logger.info("%s changed since it was extracted into %s: extracting it again", archive, target)
    if stale or not marker.exists():
        if target.exists() and not stale:
            raise StudyError(f"{target} exists but was not extracted by kerashp; move it away or pass another "
                             "--data-dir")
        logger.info("extracting %s into %s", archive, target)
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.extracting-", dir=cache_dir))
        try:
            _extract(archive, staging)
            (staging / EXTRACTED_MARKER).write_text(identity + "\n")
            if stale:  # our own old extraction (it holds our marker): moved aside, then deleted
                old = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=cache_dir))
                os.rename(target, old / name)
                os.rename(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(staging, target)  # complete, or not there at all
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:  # EOFError: a truncated .gz
            raise StudyError(f"could not extract {archive} ({error or type(error).__name__}); "
                             "is the archive complete?") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)  # our own temporary directory only
    children = [p for p in target.iterdir() if p.is_dir()]
    if not (target / "train").is_dir() and len(children) == 1:
        return children[0]  # archive with one top-level folder
    return target


def resolve_folder(path_text: str, data_dir: str | None) -> pathlib.Path:
    """Turns the PATH of `folder:PATH` into a directory, extracting archives."""
    path = pathlib.Path(path_text).expanduser()
    if not path.exists():
        raise StudyError(f"data path {path} does not exist")
    if path.is_file():
        if not path.name.endswith(ARCHIVE_SUFFIXES):
            raise StudyError(f"data path {path} is a file but not a .tar.gz/.tar archive of image folders")
        return extract_archive(path, pathlib.Path(data_dir) if data_dir else DEFAULT_CACHE_DIR)
    return path


def class_names_of(train: Split, test: Split, source: str) -> tuple[str, ...]:
    """Class names "0", "1", ... for data sets whose files carry only label numbers.

    The number of classes is inferred from the labels, so a stray label (a 10 in
    0..9 data) would add a class the model could never learn: a label found in
    one split only is refused, naming it."""
    for name, split, other_name, other in (("training", train, "test", test), ("test", test, "training", train)):
        own, theirs = np.unique(split.labels), set(np.unique(other.labels).tolist())
        stray = [int(label) for label in own if int(label) not in theirs]
        if stray:
            count = int(np.isin(split.labels, stray).sum())
            raise StudyError(f"{source}: label(s) {', '.join(map(str, stray))} appear in {count} {name} example(s) "
                             f"but never in the {other_name} split (its labels: {min(theirs)}..{max(theirs)}); "
                             "fix those labels or the file")
    return tuple(str(i) for i in range(int(max(train.labels.max(), test.labels.max())) + 1))


def load_image_classification(
    spec: str,
    *,
    data_dir: str | None = None,
    train_limit: int | None = None,
    val_split: float | None = None,
    split_seed: int = 0,
) -> DataSplits:
    """Loads an image classification data set given its `--data` specification.

    Images stay as stored (uint8 pixels, or floats in [0, 1] for USPS) in
    memory; scaling happens in the input pipeline.
    """
    if spec == "sample" or spec.startswith("sample:"):
        name = spec.partition(":")[2] or "cifar10"
        train, test, class_names = load_sample(name)
        source = f"{SAMPLES[name]} sample shipped with kerashp"
    elif spec.startswith("folder:"):
        folder = resolve_folder(spec[len("folder:"):], data_dir)
        train, test, class_names = image_folder.load_image_folder(folder, train_limit)
        source = f"image folders {folder}"
    elif spec.startswith("file:"):
        train, test = local_files.read_local(spec[len("file:"):])
        source = f"local file {spec[len('file:'):]}"
        class_names = class_names_of(train, test, source)
    elif spec == "usps":
        train, test = usps.download_usps(data_dir)
        source = "USPS (LIBSVM copy)"
        class_names = class_names_of(train, test, source)
    elif spec and ":" not in spec:
        train, test, class_names = load_tfds(spec, data_dir)
        source = f"tensorflow-datasets {spec}"
    else:
        raise StudyError(
            f"unknown data specification {spec!r}: use a tensorflow-datasets name, folder:PATH, file:PATH, usps, "
            "sample or sample:NAME"
        )
    return make_splits(
        train,
        test,
        num_classes=len(class_names),
        class_names=class_names,
        source=source,
        train_limit=train_limit,
        val_split=val_split,
        split_seed=split_seed,
        # A tfds data set's classes come from its metadata, not from the examples
        # (tfds.testing.mock_data draws too few to hold every class).
        every_class=not source.startswith("tensorflow-datasets"),
    )
