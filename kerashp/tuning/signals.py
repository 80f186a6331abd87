"""Ctrl-C and SIGTERM always stop a run, the same orderly way.

In the main thread SIGINT raises KeyboardInterrupt and SIGTERM `Interrupted`; the signal is
also remembered, and `StopWhenSignalled` (one of every run's callbacks) raises it again at the
next batch. A KeyboardInterrupt raised while Python runs a garbage-collection callback (JAX
installs one) is printed as "Exception ignored" and lost: before, training then went on and the
run ended with exit 0 as if nothing had happened.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

import keras

from kerashp.errors import Interrupted

_pending: list[BaseException] = []  # the signal received and not yet acted on


def pending() -> BaseException | None:
    """The interruption received inside `stop_signals_raise`, if any."""
    return _pending[0] if _pending else None


def _raise(signum, frame):
    error: BaseException = Interrupted("SIGTERM", 143) if signum == signal.SIGTERM else KeyboardInterrupt()
    _pending[:] = [error]
    raise error


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Inside (in the main thread), SIGINT and SIGTERM raise, and are remembered for
    `StopWhenSignalled`; outside, the previous handlers again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending.clear()
    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _pending.clear()


class StopWhenSignalled(keras.callbacks.Callback):
    """Raises a remembered Ctrl-C or SIGTERM at the next batch or epoch end, in case the
    first raise was swallowed (see the module)."""

    def _check(self, *args, **kwargs) -> None:
        error = pending()
        if error is not None:
            raise error

    on_train_batch_end = on_test_batch_end = on_epoch_end = _check
