"""Runs a Python script as on a machine without TensorFlow: `import tensorflow` (and
tensorflow-datasets) fail; with KERASHP_BLOCK_KERAS=1, `import keras` and `import
keras_tuner` fail too. Usage: python tests/without_tensorflow.py SCRIPT [ARGS...]
(SCRIPT may be `-m MODULE`)."""

import importlib.abc
import os
import runpy
import sys

BLOCKED = ("tensorflow", "tensorflow_datasets", "tf_keras") + (
    ("keras", "keras_tuner") if os.environ.get("KERASHP_BLOCK_KERAS") == "1" else ())


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by {__file__})")
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, NoTensorFlow())
    if sys.argv[1] == "-m":
        sys.argv = sys.argv[2:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
