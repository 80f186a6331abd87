"""Errors that a study reports to its user as one line, without a traceback."""

import contextlib
import errno
import re
from typing import Iterator


class StudyError(Exception):
    """A problem with the user's input or environment (bad option, missing data,
    a locked output directory). The command line prints its message and exits
    with status 2; nothing on disk is changed after it is raised."""


class RunInterrupted(StudyError):
    """A run stopped by Ctrl-C or SIGTERM after writing the report of what finished.

    Attributes:
        exit_status: 130 (Ctrl-C) or 143 (SIGTERM).
    """

    def __init__(self, message: str, exit_status: int):
        super().__init__(message)
        self.exit_status = exit_status


class Interrupted(BaseException):
    """Raised in the main thread by SIGTERM (as KeyboardInterrupt is by Ctrl-C), so
    that a run stops the way it does on Ctrl-C: report written, invocation recorded.

    Attributes:
        signal_name: "SIGTERM" or "SIGINT".
        exit_status: 143 or 130, the shell's convention for a process ended by it.
    """

    def __init__(self, signal_name: str = "SIGINT", exit_status: int = 130):
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_status = exit_status


# How option names appear in messages: "--epochs" on the command line, "epochs=" from Python.
_OPTION_STYLE = {"style": "python"}


def option_name(dest: str) -> str:
    """`dest` (e.g. "train_limit") as the user gave it: `--train-limit` from the
    command line, `train_limit=` from `kerashp.run`."""
    if _OPTION_STYLE["style"] == "cli":
        return "--" + dest.replace("_", "-")
    return dest + "="


def option_value(dest: str, value) -> str:
    """An option with its value as the user would write it: `--search random` or `search='random'`."""
    if _OPTION_STYLE["style"] == "cli":
        return f"{option_name(dest)} {value}"
    return f"{dest}={value!r}"


def option_switch(dest: str, value: bool) -> str:
    """An on/off option set as the user would write it: `--restore-best-weights` or
    `--no-restore-best-weights` from the command line, `restore_best_weights=False` from
    `kerashp.run`."""
    if _OPTION_STYLE["style"] == "cli":
        return "--" + ("" if value else "no-") + dest.replace("_", "-")
    return f"{dest}={value!r}"


@contextlib.contextmanager
def option_style(style: str) -> Iterator[None]:
    """Inside, messages name options as "cli" (the command line: `--epochs`) or
    "python" (`kerashp.run`: `epochs=`, the default) does; the style before is
    restored after, so a command line run in a notebook leaves `kerashp.run`'s as it was."""
    before = _OPTION_STYLE["style"]
    _OPTION_STYLE["style"] = style
    try:
        yield
    finally:
        _OPTION_STYLE["style"] = before


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is a full disk or an exhausted quota,
    as Python, h5py or TensorFlow report it."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(error)
        if "No space left on device" in text or "errno = 28" in text or "Disk quota exceeded" in text:
            return True
        error = error.__cause__ or error.__context__
    return False


def last_line(message: str | None) -> str:
    """The last line of a failure message, without the exception's module path."""
    lines = (message or "").strip().splitlines()
    return re.sub(r"^[\w.]+(Error|Exception): ", "", lines[-1]) if lines else ""
