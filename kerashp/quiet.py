"""Imports Keras (and with it TensorFlow) without TensorFlow's start-up chatter.

TensorFlow's native libraries write several lines to the process's stderr when
they load ("All log messages before absl::InitializeLog() is called ...",
"Could not find cuda drivers ...", "oneDNN custom operations are on ..."),
before its logging is set up and whatever `TF_CPP_MIN_LOG_LEVEL` says. A study
is a command-line program whose bad input must end in one line on stderr, so
`studies/__init__.py` imports Keras through `import_keras_quietly` first (and
lets TensorFlow look for GPUs, which logs an error line on a machine without
one): the native start-up lines go to a buffer at the file-descriptor level,
the known chatter is dropped and anything else is written back to stderr.

Set `KERASHP_TF_STARTUP_LOG=1` to see everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

# Lines native libraries print while loading that say nothing a user can act on.
STARTUP_CHATTER = re.compile(
    r"All log messages before absl::InitializeLog\(\)"
    r"|cudart_stub\.cc|Could not find cuda drivers"
    r"|oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc|This TensorFlow binary is optimized"
    r"|To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags"
    r"|TF-TRT Warning|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered|absl::InitializeLog"
    r"|failed call to cuInit"  # TensorFlow's first look for GPUs on a machine without one
)


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[list[str]]:
    """Sends file descriptor 2 to a buffer for the block; yields the list that
    receives the captured lines when the block ends."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            buffer.seek(0)
            lines.extend(buffer.read().decode(errors="replace").splitlines())


def quietly(function: Callable[[], T]) -> T:
    """Calls `function` with the native libraries' known chatter on stderr
    dropped; other lines, and all of them if it raises, are written back."""
    failed = True
    captured: list[str] = []
    try:
        with native_stderr_captured() as captured:
            result = function()
            failed = False
    finally:
        kept = captured if failed else [line for line in captured if not STARTUP_CHATTER.search(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()
    return result


def _import_keras() -> None:
    import keras  # noqa: F401

    if "tensorflow" in sys.modules:  # its first look for GPUs logs "failed call to cuInit" on a CPU machine
        sys.modules["tensorflow"].config.list_physical_devices("GPU")


def import_keras_quietly() -> None:
    """Imports `keras` (its backend included) with TensorFlow's start-up lines dropped.

    Sets `TF_CPP_MIN_LOG_LEVEL=2` unless it is set (TensorFlow's later INFO and
    WARNING lines off). Lines that are not known start-up chatter, and
    everything when the import fails, are written back to stderr.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("KERASHP_TF_STARTUP_LOG") == "1":
        _import_keras()
        return
    quietly(_import_keras)  # also when a study file imported Keras itself: TensorFlow's first device probe is here
