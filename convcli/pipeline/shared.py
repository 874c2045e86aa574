"""One image's strips shared between processes: the cores work without the interpreter lock.

The engine's threads gain little on a strip pipeline (each NumPy call on a tile is short,
and the threads hand the interpreter lock back and forth), so a single image leaves a core
idle. :func:`shared_strips` forks helper processes before any thread is started: helper
``h`` of ``N - 1`` makes strips ``h, h + N, h + 2N, ...``, the process itself the others, and
the strips come back in order to be written as usual (by this process alone: the writers, the
atomic rename and the summary do not change, and neither do the bytes).

A helper puts each strip's pixels into a ring of shared memory (:data:`SLOTS` strips) and
sends what the mapping did through a pipe; a byte sent back frees the slot. A helper reads
the input itself (a TIFF's strips with ``pread``, which shares no file position; any other
image is already decoded in memory). It ignores Ctrl-C, which reaches the whole process
group: this process stops it, and it dies with this process if that is killed. An error in a
helper is raised here when its strip is reached, as it would be in one process.

Forking is only safe where no other thread runs and the platform's libraries allow it:
Linux, the console script (:attr:`convcli.cli.ConvcliGroup.owns_process`), one thread.
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np

from convcli.errors import ConvcliError
from convcli.geometry import Pair
from convcli.pipeline.strip_targets import MappedStrip

SLOTS = 2
"""Strips a helper may have made ahead of the one this process waits for."""

_LENGTH = struct.Struct("<Q")

Make = Callable[[Pair], list[MappedStrip]]


def can_fork() -> bool:
    """Whether helpers may be forked here: Linux, and no thread but this one."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def shared_strips(
    cuts: Sequence[Pair], make: Make, processes: int, slot_bytes: int, name: str
) -> Generator[tuple[Pair, list[MappedStrip]], None, None]:
    """Each strip ``cut`` with ``make(cut)``, in order, made by ``processes`` processes.

    Parameters
    ----------
    cuts : sequence of (int, int)
        The strips' output rows, top to bottom.
    make : callable
        One strip's mapped pixels of every map (a helper calls it after the fork).
    processes : int
        Processes in all, this one included; 1 (or a platform where forking is not safe)
        makes every strip here.
    slot_bytes : int
        At least the bytes of one strip's pixels, every map together.
    name : str
        The image, for messages.

    Raises
    ------
    ConvcliError
        What ``make`` raised (in whichever process), or a helper that ended unexpectedly.
    """
    count = min(processes, len(cuts))
    if count <= 1 or not can_fork():
        for cut in cuts:
            yield cut, make(cut)
        return
    helpers: list[_Helper] = []
    try:
        for index in range(1, count):
            helpers.append(_Helper.start(index, count, cuts, make, slot_bytes))
        for k, cut in enumerate(cuts):
            owner = k % count
            yield cut, make(cut) if owner == 0 else helpers[owner - 1].receive(name)
        for helper in helpers:
            helper.finish(name)
    finally:
        for helper in helpers:
            helper.stop()


class _Helper:
    """One forked helper, seen from this process: its ring, its pipes, its PID."""

    def __init__(self, pid: int, ring: mmap.mmap, results: int, tokens: int) -> None:
        self.pid, self.ring, self.results, self.tokens = pid, ring, results, tokens
        self.done = False

    @classmethod
    def start(cls, index: int, count: int, cuts: Sequence[Pair], make: Make,
              slot_bytes: int) -> _Helper:  # fmt: skip
        """Fork helper ``index`` of ``count`` processes."""
        ring = mmap.mmap(-1, SLOTS * slot_bytes)  # anonymous and shared: seen after fork
        results_r, results_w = os.pipe()
        tokens_r, tokens_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the helper: never returns
            os.close(results_r)
            os.close(tokens_w)
            _serve(parent, cuts[index::count], make, ring, slot_bytes, results_w, tokens_r)
        os.close(results_w)
        os.close(tokens_r)
        os.write(tokens_w, bytes(SLOTS))  # every slot free
        return cls(pid, ring, results_r, tokens_w)

    def receive(self, name: str) -> list[MappedStrip]:
        """The helper's next strip (copied out of its slot, which is then freed)."""
        message = _read_message(self.results)
        if message is None:
            msg = f"{name}: {self._ended()}"
            raise ConvcliError(msg)
        kind, body = message
        if kind == "error":
            raise body
        strips = [_copied(self.ring, *part) for part in body]
        try:
            os.write(self.tokens, b"\0")
        except BrokenPipeError:  # it sent its last strip and exited (a death shows later)
            pass
        return strips

    def finish(self, name: str) -> None:
        """Wait for the helper, which has sent every strip, to exit."""
        _, status = os.waitpid(self.pid, 0)
        self.done = True
        if status:
            msg = f"{name}: {_status_text(status)}"
            raise ConvcliError(msg)

    def _ended(self) -> str:
        _, status = os.waitpid(self.pid, 0)
        self.done = True
        return _status_text(status)

    def stop(self) -> None:
        """End the helper if it still runs, and release its pipes and ring."""
        if not self.done:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - reaped already
                pass
            os.waitpid(self.pid, 0)
            self.done = True
        os.close(self.results)
        os.close(self.tokens)
        self.ring.close()


def _status_text(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return f"a helper process filtering this image ended unexpectedly ({how})"


def _copied(ring: mmap.mmap, shape: tuple[int, ...], dtype: str, offset: int,
            meta: tuple[Any, ...]) -> MappedStrip:  # fmt: skip
    count = int(np.prod(shape))
    pixels = np.frombuffer(ring, np.dtype(dtype), count, offset).reshape(shape).copy()
    return MappedStrip(pixels, *meta)


def _serve(parent: int, cuts: Sequence[Pair], make: Make, ring: mmap.mmap, slot_bytes: int,
           results: int, tokens: int) -> None:  # fmt: skip
    """The helper's life: make its strips into the ring, report each; exit, never return."""
    code = 1
    try:
        from convcli.batch.lifeline import bind_to_parent

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it on Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        bind_to_parent(parent)
        for j, cut in enumerate(cuts):
            if not os.read(tokens, 1):
                break  # the parent gave up
            body = _into_slot(ring, (j % SLOTS) * slot_bytes, slot_bytes, make(cut))
            _write_message(results, ("strip", body))
        code = 0
    except BaseException as exc:  # handed to the parent, which raises it at this strip
        _write_message(results, ("error", _portable(exc)))
    finally:
        os._exit(code)


def _into_slot(ring: mmap.mmap, offset: int, size: int,
               strips: Sequence[MappedStrip]) -> list[tuple[Any, ...]]:  # fmt: skip
    """Copy each strip's pixels into the slot at ``offset``; what to rebuild them from."""
    body = []
    end = offset + size
    for strip in strips:
        pixels = np.ascontiguousarray(strip.pixels)
        assert offset + pixels.nbytes <= end, "a strip larger than its slot"
        np.frombuffer(ring, np.uint8, pixels.nbytes, offset)[:] = pixels.reshape(-1).view(np.uint8)
        meta = (strip.report, strip.applied, strip.kernel_sum, strip.alpha)
        body.append((pixels.shape, pixels.dtype.str, offset, meta))
        offset += pixels.nbytes
    return body


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ConvcliError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure to pickle: send the text instead
        return ConvcliError(str(exc) or type(exc).__name__)
    return exc


def _write_message(fd: int, message: object) -> None:
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


def _read_message(fd: int) -> Any:
    """The next message, or None if the helper closed its end (it exited or died)."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    return pickle.loads(_read_exactly(fd, _LENGTH.unpack(head)[0]) or b"")
