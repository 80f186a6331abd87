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

import pytest  # noqa: E402

# Files whose tests train whole studies, kill processes or start subprocesses: the slow tier.
# `python -m pytest -q -m "not slow"` runs the rest (storage, oracles, statistics, report,
# options, models, callbacks, data, the docs) in a few minutes; a test in these files that
# is quick itself carries @pytest.mark.fast.
SLOW_FILES = {
    "test_adam_betas_study.py", "test_mobilenet_cifar100_study.py", "test_pruning.py", "test_small_studies.py",
    "test_distributed_tuning.py", "test_packing.py", "test_kill_and_resume.py", "test_model_reuse.py",
    "test_study_runner.py", "test_quick.py", "test_without_tensorflow.py", "test_distribute.py", "test_faults.py",
    "test_bad_input.py", "test_cli.py", "test_examples.py", "test_backup.py", "test_tfds_loading.py",
    "test_keep_weights.py", "test_best_epoch.py", "test_study_directory.py", "test_curves_table.py",
    "test_keras_tuner_compat.py", "test_executor_seam.py", "test_gpu_check.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES and not item.get_closest_marker("fast"):
            item.add_marker(pytest.mark.slow)
