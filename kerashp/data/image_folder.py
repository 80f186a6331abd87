"""Image classification data from a directory of class sub-folders.

The layout is the one of `cifar10-jpeg.tar.gz` and of
`keras.utils.image_dataset_from_directory`:

    ROOT/train/<class>/*.jpg   ROOT/test/<class>/*.jpg

Class names are the sub-folder names in sorted order, which is label order.
"""

from __future__ import annotations

import io
import logging
import pathlib

import numpy as np

from kerashp import backends
from kerashp.data.splits import Split
from kerashp.errors import StudyError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_class_folder(root: pathlib.Path, class_names: tuple[str, ...] | None = None):
    """Returns (paths, labels, class_names) for the images under `root/<class>/`."""
    if not root.is_dir():
        raise StudyError(f"image folder {root} does not exist or is not a directory")
    if class_names is None:
        class_names = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    if not class_names:
        raise StudyError(f"image folder {root} has no class sub-folders")
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        folder = root / name
        files = sorted(
            str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        ) if folder.is_dir() else []
        paths.extend(files)
        labels.extend([label] * len(files))
    if not paths:
        raise StudyError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {root}")
    return paths, np.asarray(labels, dtype=np.int32), class_names


def decode_images(paths: list[str], batch_size: int = 1024) -> np.ndarray:
    """Decodes image files in parallel with tf.data into one uint8 array (N, H, W, 3)
    (with Pillow, one by one, where TensorFlow is absent)."""
    if not backends.has_tensorflow():
        return decode_images_with_pillow(paths)
    import tensorflow as tf

    def read(path):
        return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)

    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size)
    )
    try:
        batches = [batch.numpy() for batch in dataset]
    except tf.errors.InvalidArgumentError as error:
        raise StudyError(f"{culprit(paths) or 'images could not be decoded or differ in size'} "
                         f"({error.message.splitlines()[0]})") from None
    return np.concatenate(batches).astype(np.uint8)


def decode_image_bytes(blobs: list[bytes], batch_size: int = 1024) -> np.ndarray:
    """`decode_images` of encoded images held in memory (a shipped sample's JPEG files):
    the same decoder, so the same pixels as read from their files."""
    if not backends.has_tensorflow():
        from PIL import Image

        images = []
        for blob in blobs:
            with Image.open(io.BytesIO(blob)) as image:
                images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
        return np.stack(images)
    import tensorflow as tf

    dataset = (
        tf.data.Dataset.from_tensor_slices(tf.constant(blobs, dtype=tf.string))
        .map(lambda blob: tf.io.decode_image(blob, channels=3, expand_animations=False),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size)
    )
    return np.concatenate([batch.numpy() for batch in dataset]).astype(np.uint8)


def culprit(paths: list[str]) -> str | None:
    """Names the first file that cannot be decoded or whose size differs from the
    first image's (read one by one with Pillow: only after a batch decode failed)."""
    from PIL import Image

    size = None
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                if size is None:
                    size = image.size
                elif image.size != size:
                    return f"image {path} is {image.size[0]}x{image.size[1]}, the others {size[0]}x{size[1]}"
        except OSError as error:
            return f"image {path} could not be decoded: {error}"
    return None


def decode_images_with_pillow(paths: list[str]) -> np.ndarray:
    """`decode_images` without TensorFlow."""
    from PIL import Image

    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
        except OSError as error:
            raise StudyError(f"image {path} could not be decoded: {error}") from None
    if len({image.shape for image in images}) > 1:
        raise StudyError(f"images differ in size (first file {paths[0]})")
    return np.stack(images)


def shuffled_order(num_examples: int, seed: int) -> np.ndarray:
    """A fixed-seed permutation, so that `--train-limit N` takes a mix of classes."""
    return np.random.default_rng(seed).permutation(num_examples)


def load_image_folder_split(
    root: pathlib.Path,
    class_names: tuple[str, ...] | None = None,
    order_seed: int = 0,
    limit: int | None = None,
) -> tuple[Split, tuple[str, ...]]:
    """Loads and decodes the images under `root/<class>/`.

    Examples are put in a fixed-seed random order (not class by class), so the
    first N of them are a reproducible sample of all classes; with `limit`,
    only those first N are decoded.
    """
    paths, labels, class_names = list_class_folder(root, class_names)
    order = shuffled_order(len(paths), order_seed)[:limit]
    paths = [paths[i] for i in order]
    labels = labels[order]
    logger.info("decoding %d images from %s", len(paths), root)
    return Split(decode_images(paths), labels), class_names


def load_image_folder(
    root: pathlib.Path, train_limit: int | None = None
) -> tuple[Split, Split, tuple[str, ...]]:
    """Loads `root/train` (its first `train_limit` images) and `root/test` (or
    `root/validation`) as (train, test, class_names)."""
    root = pathlib.Path(root).expanduser()
    if not root.exists():
        raise StudyError(f"data folder {root} does not exist")
    test_root = next((root / n for n in ("test", "validation", "val") if (root / n).is_dir()), None)
    if not (root / "train").is_dir() or test_root is None:
        raise StudyError(
            f"data folder {root} must hold train/<class>/ and test/<class>/ sub-folders"
        )
    train, class_names = load_image_folder_split(root / "train", limit=train_limit)
    test, _ = load_image_folder_split(test_root, class_names)
    return train, test, class_names
