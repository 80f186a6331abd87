"""Data loading: sources decoded once into arrays, then tf.data pipelines.

Importing this package loads nothing of Keras or TensorFlow; its names load
their modules when first used.
"""

from __future__ import annotations

from kerashp.lazy import lazy_exports

_EXPORTS = {
    "DataSplits": "kerashp.data.splits",
    "Split": "kerashp.data.splits",
    "from_arrays": "kerashp.data.splits",
    "hold_out": "kerashp.data.splits",
    "limit_examples": "kerashp.data.splits",
    "make_splits": "kerashp.data.splits",
    "load_image_classification": "kerashp.data.sources",
    "make_dataset": "kerashp.data.pipeline",
    "scale_to_unit": "kerashp.data.pipeline",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
