"""Atomic writes: a temporary file in the target's folder, then a rename that never clobbers.

A failed or interrupted write never leaves a half-written file under the final name.
Unless told to replace, the final step is ``os.link`` (which fails if the name exists,
even when another process created it a moment ago), so two runs never replace each
other's files. Temporary files are named ``.NAME.PID.TOKEN.tmp``: the PID tells a later
run which ones belong to a process that is gone (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import errno
import functools
import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from convcli.choices import Existing
from convcli.errors import OutputError, reason

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
# errors of os.link meaning "this file system has no hard links", not "cannot write"
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS}


def _check_parents(target: Path) -> None:
    """Name a file that stands where a folder of ``target``'s path should be."""
    for parent in reversed(target.parents):
        if parent.exists() and not parent.is_dir():
            msg = f"{target}: cannot write: {parent} is a file, not a folder"
            raise OutputError(msg)


def temp_name(target: Path) -> Path:
    """A fresh temporary name beside ``target``: ``.NAME.PID.TOKEN.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], None],
    *,
    existing: Existing = "overwrite",
) -> bool:
    """Write a file atomically: a temporary file in the same folder, then a rename.

    On any failure (Ctrl-C included) the temporary file is removed and ``path`` is left
    as it was. Missing parent folders are created.

    Parameters
    ----------
    path : path-like
        The file to create or replace.
    write : callable
        Called with the open binary temporary file; writes the content.
    existing : {"overwrite", "refuse", "skip"}
        If ``path`` exists when the file is complete: replace it, raise
        :class:`OutputError`, or keep it and return False. Checked by the rename
        itself, so a file another process wrote meanwhile counts.

    Returns
    -------
    bool
        True if ``path`` now holds the new content.

    Raises
    ------
    OutputError
        When the folder or file cannot be written, or ``path`` exists and ``existing``
        is ``"refuse"``.
    """
    target = Path(path)
    _check_parents(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{target}: cannot write: {reason(exc)}"
        raise OutputError(msg) from None
    tmp = temp_name(target)
    try:
        # created inside the try: a Ctrl-C at any point leaves no empty temporary file
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as handle:
            handle.raw.name = str(tmp)  # type: ignore[attr-defined]  # a name, as tifffile wants
            write(handle)
        return _publish(tmp, target, existing)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            msg = f"{target}: cannot write: {reason(exc)}"
            raise OutputError(msg) from exc
        raise


_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[..., int] | None:
    """Linux's ``sync_file_range``, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return call


def start_writeback(handle: BinaryIO, end: int) -> None:
    """Ask the system to start writing what ``handle`` holds up to byte ``end`` to disk,
    without waiting (Linux ``sync_file_range``; nothing elsewhere, or on a stream).

    A writer that calls it as each strip goes out spreads the disk's work over the run. At
    the end, the rename that replaces an older output then finds this file's pages already
    on their way, and the file it replaces in the next run is already written. Replacing a
    48 MB output just written took 30–35 ms of the rename; with this, 15 ms. The pages stay
    cached for whoever reads the file next.
    """
    call = _sync_file_range()
    if call is None:
        return
    try:  # what is still in the handle's buffer is not asked for: no flush, no error here
        fd = handle.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    call(fd, 0, end, _SYNC_FILE_RANGE_WRITE)  # its failure (a file system without it) is harmless


def write_bytes(
    path: str | os.PathLike[str], data: bytes, *, existing: Existing = "overwrite"
) -> bool:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return atomic_write(path, write, existing=existing)


def _publish(tmp: Path, target: Path, existing: Existing) -> bool:
    """Give ``tmp`` its final name; without ``overwrite``, never replace a file."""
    if existing == "overwrite":
        os.replace(tmp, target)
        return True
    try:
        linked = _link(tmp, target) or _same_bytes(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if linked or existing == "skip":
        return linked
    msg = (
        f"{target}: written by another process meanwhile; left as it is "
        "(pass --overwrite to replace)"
    )
    raise OutputError(msg)


def _same_bytes(tmp: Path, target: Path) -> bool:
    """Whether ``target`` already holds exactly ``tmp``'s bytes.

    A retried write (a Dask task whose worker died after publishing) finds its own file:
    nothing would be replaced or lost, so that is not a clash with another run.
    """
    try:
        if tmp.stat().st_size != target.stat().st_size:
            return False
        with tmp.open("rb") as a, target.open("rb") as b:
            while chunk := a.read(1 << 20):
                if chunk != b.read(len(chunk)):
                    return False
    except OSError:
        return False
    return True


def _link(tmp: Path, target: Path) -> bool:
    """Link ``tmp`` as ``target``; False if ``target`` exists."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if target.exists():  # no hard links on this file system: check, then rename
            return False
        os.replace(tmp, target)
    return True


def _alive(pid: int) -> bool:
    """True if process ``pid`` exists (or might: another user's) and is not a zombie.

    A worker killed with its parent stays a zombie until PID 1 reaps it, which may be
    late or never in a container: it writes nothing more, so its files are stale.
    """
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and awaits reaping (Linux ``/proc``; False elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def remove_stale_temps(folders: Iterable[str | os.PathLike[str]]) -> int:
    """Remove convcli's temporary files left in ``folders`` by processes that are gone.

    Only names of the form ``.NAME.PID.TOKEN.tmp`` whose PID is not a live process
    are removed (files, and the folders of Zarr arrays being filled): a run killed
    mid-write leaves one, a running one is never touched.

    Returns
    -------
    int
        How many files were removed.
    """
    removed = 0
    for folder in {Path(f) for f in folders}:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _TEMP.match(name)
            if match and not _alive(int(match["pid"])):
                path = folder / name
                try:
                    if path.is_dir() and not path.is_symlink():  # a Zarr array being filled
                        import shutil  # only here: its import costs every run ~1.5 ms

                        shutil.rmtree(path)
                    else:
                        path.unlink()
                except OSError:
                    continue
                removed += 1
    return removed


def temp_owner(name: str) -> str | None:
    """The file name an :func:`atomic_write` temporary file called ``name`` stands for, else None.

    A writer killed mid-write (a lost cluster worker, SIGKILL) leaves its temporary file.

    Examples
    --------
    >>> temp_owner(".a_sobel.png.4242.0a1b2c3d.tmp"), temp_owner("a_sobel.png")
    ('a_sobel.png', None)
    """
    match = _TEMP.match(name)
    return match["name"] if match else None
