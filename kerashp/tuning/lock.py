"""An exclusive lock on a study's output directory.

The lock is `filelock`'s (an `flock` on POSIX, `msvcrt.locking` on Windows), so a
study runs wherever Keras runs. The operating system releases it when the process
ends, even on SIGKILL, so a killed run never leaves a stale lock behind; the holder's
pid is written beside it (`.lock.owner`) only to name it in the refusal.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from typing import Iterator

import filelock

from kerashp.errors import StudyError

LOCK_NAME = ".lock"
OWNER_NAME = ".lock.owner"


@contextlib.contextmanager
def exclusive_lock(directory: pathlib.Path, what: str) -> Iterator[None]:
    """Holds an exclusive lock on `directory/.lock` for the duration of the block.

    Args:
        directory: The study's output directory; made if missing.
        what: The study's name, for the refusal's message.

    Raises:
        StudyError: another process holds the lock, or the directory cannot
            be made or written.
    """
    directory = pathlib.Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(directory / LOCK_NAME), timeout=0)
        lock.acquire()
    except filelock.Timeout:
        raise StudyError(
            f"{directory} is in use by another run of {what} ({_holder(directory)}); "
            "wait for it to finish or pass a different --out"
        ) from None
    except OSError as error:  # --out is a file, or a directory this user may not write
        raise StudyError(f"cannot use {directory} as the output directory ({error.strerror or error}); "
                         "pass --out with a writable directory") from None
    try:
        with contextlib.suppress(OSError):  # the pid only names the holder; the lock does not depend on it
            (directory / OWNER_NAME).write_text(f"pid {os.getpid()}")
        yield
    finally:
        lock.release()


def _holder(directory: pathlib.Path) -> str:
    try:
        return (directory / OWNER_NAME).read_text().strip() or "another process"
    except OSError:
        return "another process"
