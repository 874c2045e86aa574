"""What forked processes share: whether forking is safe, a counter of claims, messages.

Used by the processes that share one image's strips (:mod:`convcli.pipeline.shared`) and by
the process that filters a batch's first files while a local Dask cluster starts
(:mod:`convcli.batch.early`).
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import sys
import threading
from typing import Any

from convcli.errors import ConvcliError

_LENGTH = struct.Struct("<Q")
_INDEX = struct.Struct("<q")


def can_fork() -> bool:
    """Whether a process may be forked here: Linux, and no thread but this one."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def fork(*fds: int) -> int | None:
    """:func:`os.fork`, or None where the system refuses (too many processes, no memory):
    the caller then does the work itself. ``fds`` are closed on refusal."""
    try:
        return os.fork()
    except OSError:
        for fd in fds:
            os.close(fd)
        return None


def end(pid: int, signum: int) -> None:
    """Send ``signum`` to forked process ``pid`` (unless it is gone) and reap it."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # pragma: no cover - exited and reaped already
        pass
    os.waitpid(pid, 0)


class Claims:
    """Which item (a strip, a file) is next: a counter in shared memory, its lock a byte in a
    pipe, for processes forked after it was made."""

    def __init__(self) -> None:
        self._counter = mmap.mmap(-1, _INDEX.size)
        self._lock_r, self._lock_w = os.pipe()
        os.write(self._lock_w, b"\0")

    def take(self, total: int) -> int | None:
        """The next item no process has taken, or None when all of ``total`` are."""
        os.read(self._lock_r, 1)  # blocks while another process holds the byte
        try:
            index = _INDEX.unpack_from(self._counter)[0]
            if index < total:
                _INDEX.pack_into(self._counter, 0, index + 1)
        finally:
            os.write(self._lock_w, b"\0")
        return index if index < total else None

    def end(self, total: int) -> int:
        """Let no process take more of ``total``: the first item none has taken."""
        os.read(self._lock_r, 1)
        try:
            index = min(_INDEX.unpack_from(self._counter)[0], total)
            _INDEX.pack_into(self._counter, 0, total)
        finally:
            os.write(self._lock_w, b"\0")
        return int(index)

    def close(self) -> None:
        """Release the pipe and the counter."""
        os.close(self._lock_r)
        os.close(self._lock_w)
        self._counter.close()


def portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ConvcliError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure to pickle: send the text instead
        return ConvcliError(str(exc) or type(exc).__name__)
    return exc


def write_message(fd: int, message: object) -> None:
    """Send ``message`` (pickled, its length first) through the pipe ``fd``."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def read_message(fd: int) -> Any:
    """The next message from the pipe ``fd``, or None if its writer closed it (exited or
    died)."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    return pickle.loads(_read_exactly(fd, _LENGTH.unpack(head)[0]) or b"")
