"""Worker processes die with their parent: no orphan keeps writing or holding memory.

When the main process is killed (``kill -9``, the OOM killer, a supervisor) its workers
must not go on: on Linux the kernel sends them SIGKILL the moment the parent dies
(``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread in each worker notices the new parent
within :data:`POLL_SECONDS` and ends the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1


def bind_to_parent(parent: int) -> None:
    """Make this process end as soon as process ``parent`` (its parent) is gone.

    Parameters
    ----------
    parent : int
        The PID of the process that started this one, read by the parent itself: if
        it died before this call, ``os.getppid()`` already differs and the process ends.
    """
    _kill_on_parent_death()
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="lifeline").start()


def _kill_on_parent_death() -> None:
    """Linux: ask the kernel for SIGKILL when the parent dies (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return  # the watching thread still does the job


def _watch(parent: int) -> None:
    """The portable fallback: poll the parent PID; end the process when it changes."""
    stop = threading.Event()
    while os.getppid() == parent:
        stop.wait(POLL_SECONDS)
    os._exit(1)
