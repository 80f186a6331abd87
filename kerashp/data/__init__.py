"""Data loading: sources decoded once into arrays, then tf.data pipelines."""

from kerashp.data.pipeline import make_dataset, scale_to_unit
from kerashp.data.sources import load_image_classification
from kerashp.data.splits import DataSplits, Split, hold_out, limit_examples, make_splits

__all__ = [
    "DataSplits",
    "Split",
    "hold_out",
    "limit_examples",
    "load_image_classification",
    "make_dataset",
    "make_splits",
    "scale_to_unit",
]
