"""Atomic writes: a temporary file in the target's folder, then ``os.replace``.

A failed or interrupted write never leaves a half-written file under the final name.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from convcli.errors import OutputError, reason


@functools.cache
def _new_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _check_parents(target: Path) -> None:
    """Name a file that stands where a folder of ``target``'s path should be."""
    for parent in reversed(target.parents):
        if parent.exists() and not parent.is_dir():
            msg = f"{target}: cannot write: {parent} is a file, not a folder"
            raise OutputError(msg)


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Write a file atomically: a temporary file in the same folder, then ``os.replace``.

    On any failure the temporary file is removed and ``path`` is left as it was.
    Missing parent folders are created.

    Parameters
    ----------
    path : path-like
        The file to create or replace.
    write : callable
        Called with the open binary temporary file; writes the content.

    Raises
    ------
    OutputError
        When the folder or file cannot be written.
    """
    target = Path(path)
    _check_parents(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        msg = f"{target}: cannot write: {reason(exc)}"
        raise OutputError(msg) from None
    try:
        os.close(fd)
        with open(tmp, "wb") as handle:  # a named handle: writers like tifffile want a name
            write(handle)
        os.chmod(tmp, _new_file_mode())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            msg = f"{target}: cannot write: {reason(exc)}"
            raise OutputError(msg) from exc
        raise
