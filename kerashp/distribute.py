"""Where and how fast a study trains: tf.distribute strategy and the fast-path options.

`choose_strategy` picks a `tf.distribute.Strategy`; `resolve_fast_path` turns the
command line's `auto` values into concrete settings for the devices present.
Defaults per device (`auto`):

| setting | CPU | one or more GPUs |
|---|---|---|
| strategy | default (one device) | the GPU (`OneDeviceStrategy`); `MirroredStrategy` over several |
| precision | float32 | mixed_float16 (float32 master weights, float32 softmax) |
| jit (XLA) | off (on under the JAX backend) | on (Keras turns it off for models with layers XLA cannot compile) |
| steps_per_execution | 1 | 1 |

On this project's 2-core CPU, XLA trained MobileNetV2 about 4x slower than plain
graph mode, mixed_bfloat16 about 2x slower, and steps_per_execution=16 only ~5%
faster, hence the CPU column. The GPU column is Keras' and NVIDIA's usual
advice; measure with `benchmarks/throughput.py` before relying on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os

from kerashp import backends
from kerashp.quiet import quietly
from kerashp.errors import StudyError, option_name, option_value
from kerashp.options import PRECISIONS, STRATEGIES  # noqa: F401  (distribute's own choices)

logger = logging.getLogger("kerashp")


def gpu_count() -> int:
    """Number of GPUs the Keras backend trains on (TensorFlow's, or JAX's devices)."""
    if backends.keras_backend() == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    tf = backends.tensorflow()
    if tf is None:
        return 0
    # TensorFlow's first look logs "failed call to cuInit" on a machine without a GPU.
    return len(quietly(lambda: tf.config.list_physical_devices("GPU")))


class SingleDevice:
    """The strategy of a backend other than TensorFlow's: one device, nothing to distribute
    (the same `scope()` and `num_replicas_in_sync` as a `tf.distribute.Strategy`)."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def choose_strategy(name: str = "auto"):
    """Returns the `tf.distribute.Strategy` for `--strategy NAME`.

    - auto: `MirroredStrategy` with more than one GPU, `OneDeviceStrategy` on the
      GPU with one, the default strategy on CPU;
    - default: the default strategy (whatever single device TensorFlow places ops on);
    - mirrored: `MirroredStrategy` over every visible GPU (or the logical CPUs);
    - multiworker: `MultiWorkerMirroredStrategy` configured from `TF_CONFIG`.

    The study's `--batch-size` is the global batch: each of R replicas gets
    batch_size / R examples per step (Keras distributes the tf.data pipeline with
    `strategy.experimental_distribute_dataset` and scales the loss), so the
    learning rate and schedule mean the same on any number of devices.

    Under another Keras backend (JAX), auto and default give `SingleDevice`;
    tf.distribute strategies need the TensorFlow backend.
    """
    if name not in STRATEGIES:
        raise StudyError(f"unknown strategy {name!r}; choose {', '.join(STRATEGIES)}")
    if backends.keras_backend() != "tensorflow":
        if name in ("auto", "default"):
            return SingleDevice()
        raise StudyError(f"{option_value('strategy', name)} is a tf.distribute strategy: it needs KERAS_BACKEND=tensorflow")
    import tensorflow as tf

    if name == "auto":
        gpus = gpu_count()
        if gpus > 1:
            return tf.distribute.MirroredStrategy()
        if gpus == 1:
            return tf.distribute.OneDeviceStrategy("/gpu:0")
        return tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if "TF_CONFIG" not in os.environ:
        raise StudyError(f"{option_value('strategy', 'multiworker')} needs TF_CONFIG (cluster and task of this worker)")
    return tf.distribute.MultiWorkerMirroredStrategy()


@dataclasses.dataclass(frozen=True)
class FastPath:
    """Concrete fast-path settings for one process."""

    precision: str
    jit_compile: bool  # Keras turns True off for models with layers XLA cannot compile
    steps_per_execution: int


def resolve_fast_path(precision: str = "auto", jit: str = "auto", steps_per_execution: int = 1) -> FastPath:
    """Replaces `auto` by the per-device default (table in the module docstring)."""
    if precision not in PRECISIONS:
        raise StudyError(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if jit not in ("auto", "on", "off"):
        raise StudyError(f"{option_name('jit')} must be auto, on or off, got {jit!r}")
    if steps_per_execution < 1:
        raise StudyError(f"{option_name('steps_per_execution')} must be positive, got {steps_per_execution}")
    on_gpu = gpu_count() > 0
    if precision == "auto":
        precision = "mixed_float16" if on_gpu else "float32"
    # JAX compiles every step with XLA; without it Keras' JAX trainer runs eagerly, op by op.
    jit_compile = {"on": True, "off": False}.get(jit, on_gpu or backends.keras_backend() == "jax")
    return FastPath(precision, jit_compile, steps_per_execution)


def steps_per_execution_for(requested: int, batches_per_epoch: int) -> int:
    """The batches per compiled call for an epoch of `batches_per_epoch` batches:
    the largest divisor of `batches_per_epoch` up to `requested`.

    Keras runs whole calls of `steps_per_execution` batches: with an input that
    spans several epochs (kerashp's training pipelines do) and `steps_per_epoch`
    not a multiple of it, an epoch would take batches from the next one (43
    batches at 8 per call: 48 in the first epoch, fewer in the last), and every
    per-epoch figure (validation, rungs, checkpoints) would land elsewhere.

    Args:
        requested: the `--steps-per-execution` asked for (at least 1).
        batches_per_epoch: batches in one epoch (at least 1).

    Returns:
        A divisor of `batches_per_epoch`, at most `requested` (1 when nothing larger divides).
    """
    for steps in range(min(requested, batches_per_epoch), 1, -1):
        if batches_per_epoch % steps == 0:
            return steps
    return 1
