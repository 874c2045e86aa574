"""Standard output for data (images, JSON lines): every byte written, or one clear error.

A write to a full disk or a closed pipe can write part of the bytes without raising;
:func:`write_bytes` loops until all are written, and turns an operating-system error
into an :class:`~convcli.errors.OutputError` naming standard output.
"""

from __future__ import annotations

import errno
import io
import os
import sys

from convcli.errors import OutputError, reason

WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT})
"""Errors of a write that failed for the output's sake, not for a bug."""


def _failed(exc: OSError) -> OutputError:
    return OutputError(f"standard output: cannot write: {reason(exc)}")


def write_bytes(data: bytes) -> None:
    """Write all of ``data`` to standard output, or raise :class:`OutputError`."""
    stream = sys.stdout
    try:
        stream.flush()
        fd = stream.fileno()
    except io.UnsupportedOperation:  # not a real file (click's test runner)
        stream.buffer.write(data)
        stream.buffer.flush()
        return
    except OSError as exc:
        raise _failed(exc) from None
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError as exc:
            raise _failed(exc) from None
        view = view[written:]


def echo(line: str) -> None:
    """Write one line of text (a JSON record, a plan line) to standard output."""
    write_bytes(f"{line}\n".encode())


def flush_or_fail() -> OutputError | None:
    """Flush standard output at exit; on failure, return the error and silence the stream.

    The interpreter flushes standard output once more when it exits; after a failed
    write that would print a second, unhelpful message, so the stream is pointed at
    ``os.devnull``.
    """
    try:
        sys.stdout.flush()
    except OSError as exc:
        _silence()
        return _failed(exc)
    return None


def _silence() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        return
