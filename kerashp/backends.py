"""Which engines this process has: TensorFlow (tf.data, tf.distribute, TensorBoard
writers) is optional; Keras' JAX (or PyTorch) backend trains without it."""

from __future__ import annotations

import functools
import types


@functools.cache
def tensorflow() -> types.ModuleType | None:
    """The `tensorflow` module, or None where it is not installed (or cannot load)."""
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf


def has_tensorflow() -> bool:
    """True where TensorFlow can be imported (tf.data pipelines, TensorBoard logs)."""
    return tensorflow() is not None


def keras_backend() -> str:
    """Keras' backend in this process: "tensorflow", "jax", "torch" or "numpy"."""
    import keras

    return keras.backend.backend()
