import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# TensorFlow's first device probe prints native lines ("failed call to cuInit") on fd 2;
# let it happen here, filtered as in `python -m studies.NAME`, not inside a test that reads stderr.
from kerashp.quiet import import_keras_quietly  # noqa: E402

import_keras_quietly()
