"""Runs a Python script as on a machine without TensorFlow: `import tensorflow` (and
tensorflow-datasets) fail. Usage: python tests/without_tensorflow.py SCRIPT [ARGS...]"""

import importlib.abc
import runpy
import sys

BLOCKED = ("tensorflow", "tensorflow_datasets", "tf_keras")


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by {__file__})")
        return None


if __name__ == "__main__":
    sys.meta_path.insert(0, NoTensorFlow())
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
