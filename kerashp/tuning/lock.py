"""An exclusive lock on a study's output directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib

from kerashp.errors import StudyError


@contextlib.contextmanager
def exclusive_lock(directory: pathlib.Path, what: str):
    """Holds an exclusive lock on `directory/.lock` for the duration of the block.

    The lock is an `flock`, released by the kernel when the process ends, even
    on SIGKILL, so a killed run never leaves a stale lock behind.

    Raises:
        StudyError: another process holds the lock, or the directory cannot
            be made or written.
    """
    path = directory / ".lock"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as error:  # --out is a file, or a directory this user may not write
        raise StudyError(f"cannot use {directory} as the output directory ({error.strerror or error}); "
                         "pass --out with a writable directory") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StudyError(
                f"{directory} is in use by another run of {what} ({holder}); "
                "wait for it to finish or pass a different --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
