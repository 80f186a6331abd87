"""The study directory's lock (filelock): another process holding it is named in the refusal,
and a holder killed with SIGKILL leaves no stale lock behind."""

import os
import signal
import subprocess
import sys

import pytest

from kerashp.errors import StudyError
from kerashp.tuning.lock import exclusive_lock

HOLD = """
import sys, time, pathlib
from kerashp.tuning.lock import exclusive_lock
with exclusive_lock(pathlib.Path(sys.argv[1]), "tiny"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_lock_held_by_another_process_refuses_naming_it_and_a_killed_holder_frees_it(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StudyError, match=f"in use by another run of tiny \\(pid {holder.pid}\\)"):
            with exclusive_lock(tmp_path, "tiny"):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with exclusive_lock(tmp_path, "tiny"):  # the kernel released the killed holder's lock
        assert (tmp_path / ".lock.owner").read_text() == f"pid {os.getpid()}"
    with exclusive_lock(tmp_path, "tiny"):  # and the block released ours
        pass


def test_an_output_path_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "out").write_text("a user's file")
    with pytest.raises(StudyError, match="cannot use .* as the output directory"):
        with exclusive_lock(tmp_path / "out", "tiny"):
            pass
    assert (tmp_path / "out").read_text() == "a user's file"
