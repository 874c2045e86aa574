"""One image's strips shared between processes: the cores work without the interpreter lock.

The engine's threads gain little on a strip pipeline (each NumPy call on a tile is short,
and the threads hand the interpreter lock back and forth), so a single image leaves a core
idle. :func:`shared_strips` forks helper processes before any thread is started. Every
process takes the next strip nobody has taken yet (:class:`~convcli.forking.Claims`), so a
process that also writes the files (this one) takes fewer; the strips come back to this one,
which hands them on in order to be written as usual (by this process alone: the writers, the
atomic rename and the summary do not change, and neither do the bytes).

A helper puts each strip's pixels into a ring of shared memory (:data:`SLOTS` strips) and
sends what the mapping did through a pipe; a byte sent back frees the slot. A helper reads
the input itself (a TIFF's strips with ``pread``, which shares no file position; any other
image is already decoded in memory). It ignores Ctrl-C, which reaches the whole process
group: this process stops it, and it dies with this process if that is killed. An error in
any process is raised here when its strip's turn comes, as it would be in one process.

Forking is only safe where no other thread runs and the platform's libraries allow it:
Linux, the console script (:attr:`convcli.cli.ConvcliGroup.owns_process`), one thread.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
from collections.abc import Callable, Generator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from convcli.errors import ConvcliError
from convcli.forking import (
    Claims,
    can_fork,
    end,
    fork,
    portable,
    read_message,
    write_message,
)
from convcli.geometry import Pair
from convcli.pipeline.strip_targets import MappedStrip

SLOTS = 3
"""Strips a helper may have made that this process has not yet taken from its ring."""

AHEAD = 4
"""Strips this process may hold, made by itself, while it waits for an earlier one."""

Make = Callable[[Pair], list[MappedStrip]]
Made = list[MappedStrip] | BaseException


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
    claims = Claims()
    helpers: list[_Helper] = []
    try:
        for _ in range(1, count):
            if (helper := _Helper.start(claims, cuts, make, slot_bytes)) is None:
                break  # the system refuses more processes: fewer share the strips
            helpers.append(helper)
        yield from _gathered(cuts, make, claims, helpers, name)
        for helper in helpers:
            helper.finish(name)
    finally:
        for helper in helpers:
            helper.stop()
        claims.close()


def _gathered(
    cuts: Sequence[Pair], make: Make, claims: Claims, helpers: list[_Helper], name: str
) -> Generator[tuple[Pair, list[MappedStrip]], None, None]:
    """The strips in order: this process makes those it claims and takes the helpers'."""
    held: dict[int, Made] = {}
    for k, cut in enumerate(cuts):
        while k not in held:
            for helper in _ready(helpers, wait=False):
                held.update(helper.receive(name))
            if k in held:
                break
            index = claims.take(len(cuts)) if len(held) < AHEAD else None
            if index is not None:
                held[index] = _made(make, cuts[index])
                continue
            ready = _ready(helpers, wait=True)  # nothing to make here: wait for a helper
            if not ready:  # every helper has ended: this process makes the rest
                index = claims.take(len(cuts))
                if index is None:
                    msg = f"{name}: strip {k} was claimed but never made"
                    raise ConvcliError(msg)
                held[index] = _made(make, cuts[index])
            for helper in ready:
                held.update(helper.receive(name))
        strips = held.pop(k)
        if isinstance(strips, BaseException):
            raise strips
        yield cut, strips


def _made(make: Make, cut: Pair) -> Made:
    """``make(cut)``, or the error it raised (raised when the strip's turn comes)."""
    try:
        return make(cut)
    except Exception as exc:  # the first strip in order that failed is the run's error
        return exc


def _ready(helpers: list[_Helper], *, wait: bool) -> list[_Helper]:
    """The helpers with a message (or an end) to read; with ``wait``, at least one."""
    live = {helper.results: helper for helper in helpers if not helper.done}
    if not live:
        return []
    readable, _, _ = select.select(list(live), [], [], None if wait else 0)
    return [live[fd] for fd in readable]


class _Helper:
    """One forked helper, seen from this process: its ring, its pipes, its PID."""

    def __init__(self, pid: int, ring: mmap.mmap, results: int, tokens: int) -> None:
        self.pid, self.ring, self.results, self.tokens = pid, ring, results, tokens
        self.done = False

    @classmethod
    def start(
        cls, claims: Claims, cuts: Sequence[Pair], make: Make, slot_bytes: int
    ) -> _Helper | None:
        """Fork a helper that makes the strips it claims; None if the system refuses."""
        try:
            ring = mmap.mmap(-1, SLOTS * slot_bytes)  # anonymous and shared: seen after fork
        except OSError:
            return None
        results_r, results_w = os.pipe()
        tokens_r, tokens_w = os.pipe()
        parent = os.getpid()
        pid = fork(results_r, results_w, tokens_r, tokens_w)
        if pid is None:
            ring.close()
            return None
        if pid == 0:  # the helper: never returns
            os.close(results_r)
            os.close(tokens_w)
            _serve(parent, cuts, make, claims, ring, slot_bytes, results_w, tokens_r)
        os.close(results_w)
        os.close(tokens_r)
        os.write(tokens_w, bytes(SLOTS))  # every slot free
        return cls(pid, ring, results_r, tokens_w)

    def receive(self, name: str) -> dict[int, Made]:
        """The helper's next strip (copied out of its slot, which is then freed), its error,
        or nothing if it has made all it could claim and exited."""
        message = read_message(self.results)
        if message is None:
            _, status = os.waitpid(self.pid, 0)
            self.done = True
            if status:
                msg = f"{name}: {_status_text(status)}"
                raise ConvcliError(msg)
            return {}
        kind, index, body = message
        if kind == "error" and index < 0:  # before it took a strip
            raise body
        if kind == "error":
            return {index: body}
        strips = [_copied(self.ring, *part) for part in body]
        try:
            os.write(self.tokens, b"\0")
        except BrokenPipeError:  # it sent its last strip and exited (a death shows later)
            pass
        return {index: strips}

    def finish(self, name: str) -> None:
        """Wait for the helper, which has nothing left to claim, to exit."""
        while not self.done:
            if self.receive(name):
                msg = f"{name}: a helper process made a strip twice"
                raise ConvcliError(msg)

    def stop(self) -> None:
        """End the helper if it still runs, and release its pipes and ring."""
        if not self.done:
            end(self.pid, signal.SIGKILL)
            self.done = True
        os.close(self.results)
        os.close(self.tokens)
        self.ring.close()


def _status_text(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return f"a helper process filtering this image ended unexpectedly ({how})"


def _copied(ring: mmap.mmap, shape: tuple[int, ...], dtype: str, offset: int, encoded: int,
            meta: tuple[Any, ...]) -> MappedStrip:  # fmt: skip
    """A strip rebuilt from its slot: its pixels, then its PNG segment's bytes, if any."""
    count = int(np.prod(shape))
    pixels = np.frombuffer(ring, np.dtype(dtype), count, offset).reshape(shape).copy()
    strip = MappedStrip(pixels, *meta)
    if strip.encoded is None:
        return strip
    start = offset + pixels.nbytes
    return replace(strip, encoded=replace(strip.encoded, data=ring[start : start + encoded]))


def _serve(parent: int, cuts: Sequence[Pair], make: Make, claims: Claims, ring: mmap.mmap,
           slot_bytes: int, results: int, tokens: int) -> None:  # fmt: skip
    """The helper's life: make the strips it claims into the ring, report each; exit."""
    code = 1
    index = -1
    try:
        from convcli.batch.lifeline import bind_to_parent

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it on Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        bind_to_parent(parent)
        made = 0
        while (taken := claims.take(len(cuts))) is not None:
            index = taken
            if not os.read(tokens, 1):
                break  # the parent gave up
            offset = (made % SLOTS) * slot_bytes
            body = _into_slot(ring, offset, slot_bytes, make(cuts[index]))
            write_message(results, ("strip", index, body))
            made += 1
        code = 0
    except BaseException as exc:  # handed to the parent, raised at this strip's turn
        write_message(results, ("error", index, portable(exc)))
        code = 0
    finally:
        os._exit(code)


def _into_slot(ring: mmap.mmap, offset: int, size: int,
               strips: Sequence[MappedStrip]) -> list[tuple[Any, ...]]:  # fmt: skip
    """Copy each strip's pixels and PNG segment's bytes into the slot at ``offset`` (the
    pipe would hold the helper up until they were read); what to rebuild them from."""
    body = []
    end = offset + size
    for strip in strips:
        pixels = np.ascontiguousarray(strip.pixels)
        segment = strip.encoded
        data = b"" if segment is None else segment.data
        assert offset + pixels.nbytes + len(data) <= end, "a strip larger than its slot"
        ring[offset : offset + pixels.nbytes] = pixels.reshape(-1).view(np.uint8).data
        ring[offset + pixels.nbytes : offset + pixels.nbytes + len(data)] = data
        kept = None if segment is None else replace(segment, data=b"")
        meta = (strip.report, strip.applied, strip.kernel_sum, strip.alpha, kept)
        body.append((pixels.shape, pixels.dtype.str, offset, len(data), meta))
        offset += pixels.nbytes + len(data)
    return body
