"""Where the strips of mapped pixels go: files written strip by strip, or arrays.

:func:`write_maps` takes strips of mapped pixels in order (:class:`MappedStrip`, one per
feature map of each strip), however they were made (in this process by
:mod:`~convcli.pipeline.stream`, or as tasks on a Dask cluster by
:mod:`~convcli.batch.huge`), and writes each map to its TIFF or PNG file on a writer
thread (the codec works while the next strips are filtered) or into an array. A failure
drops every file being written: nothing appears under its name.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convcli.errors import ConvcliError
from convcli.geometry import Pair
from convcli.io.rows import colour_and_alpha
from convcli.pipeline.filtering import Applied, FeatureMap
from convcli.pipeline.strip_stats import StripReport, check_finite_maps
from convcli.values import MappingReport

if TYPE_CHECKING:
    from convcli.io.png import PngSegment
    from convcli.pipeline.stream import OutputSpec

    Pixels = np.ndarray | PngSegment
    """A strip as its writer takes it: pixels, or a PNG segment made already."""

WRITERS = frozenset({"tiff", "png"})
"""Formats written strip by strip (see :func:`writer`)."""


def writer(fmt: str) -> Callable[..., bool]:
    """The strip writer of format ``fmt`` (one of :data:`WRITERS`),
    ``writer(path, strips, shape, dtype)``, imported here: a run writes one format."""
    if fmt == "tiff":
        from convcli.io.tiff_write import write_tiff

        return write_tiff
    from convcli.io.png import write_png

    return write_png


@dataclass(frozen=True)
class MappedStrip:
    """One strip of one feature map, mapped and rounded: what a strip's work gives back.

    Attributes
    ----------
    pixels : numpy.ndarray
        The strip's pixels (uint8/uint16), or float32 values for float outputs.
    report : StripReport
        What the mapping did on this strip (range, clipped values), to add up.
    applied : tuple of Applied
        What ran (the same for every strip).
    kernel_sum : float
        The kernel sum the map counts as.
    alpha : bool
        Whether the last sample of ``pixels`` is alpha.
    encoded : PngSegment or None
        The strip already made into its PNG segment (by a process sharing the strips); its
        ``pixels`` then hold no rows, only their shape and type.
    """

    pixels: np.ndarray
    report: StripReport
    applied: tuple[Applied, ...]
    kernel_sum: float
    alpha: bool = False
    encoded: PngSegment | None = None

    def encoded_for(self, spec: OutputSpec) -> MappedStrip:
        """The strip with its PNG segment made here, if ``spec`` is a PNG written in strips."""
        if spec.fmt != "png" or not spec.streamed:
            return self
        from convcli.io.png import png_segment

        return replace(self, pixels=self.pixels[:0], encoded=png_segment(self.pixels))


@dataclass(frozen=True)
class Streamed:
    """One feature map made in strips: its values (unless streamed to a file) and report."""

    fmap: FeatureMap
    report: MappingReport
    spec: OutputSpec


class _StripSink:
    """A file written strip by strip on its own thread while the next strips are filtered."""

    def __init__(self, spec: OutputSpec, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._writer = writer(spec.fmt)
        self._spec = spec
        path = spec.output
        self._queue: queue.Queue[Pixels | BaseException | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._temp: str | None = None
        self._thread = threading.Thread(
            target=self._write, args=(path, shape, dtype), name="convcli-writer", daemon=True
        )
        self._thread.start()

    def _items(self) -> Iterator[Pixels]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _write(self, path: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        try:
            # the file is begun with the first strip, not before: a Ctrl-C that lands
            # while this thread starts (before the caller holds the sink to abort it)
            # leaves a thread waiting here, and no temporary file to outlive the process
            first = self._queue.get()
            if first is None or isinstance(first, BaseException):
                return  # given up before any strip
            spec = self._spec
            self._writer(path, chain([first], self._items()), shape, dtype,
                         existing=spec.existing,
                         on_open=self._opened,
                         **spec.writer_args)  # fmt: skip
        except BaseException as exc:  # handed to the filtering thread, which raises it
            self._error = exc

    def _put(self, item: Pixels | BaseException | None) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __call__(self, pixels: Pixels) -> None:
        self._raise()
        self._put(pixels)

    def close(self) -> None:
        """Finish the file (every strip was put)."""
        self._put(None)
        self._thread.join()
        self._raise()

    def _opened(self, temp: str) -> None:
        self._temp = temp

    def abort(self) -> None:
        """Stop writing; nothing appears under the file's name.

        The temporary file goes first, from this thread: a process ended right after (a
        worker whose parent was interrupted) leaves nothing behind.
        """
        if self._temp is not None:
            Path(self._temp).unlink(missing_ok=True)
        if self._thread.is_alive():
            self._put(_Aborted())
        self._thread.join()


class _Aborted(ConvcliError):
    """Filtering failed: the file being written is dropped."""


class _Target:
    """Where one map's pixel strips go: its file, written in strips, or an array."""

    def __init__(self, spec: OutputSpec, height: int) -> None:
        self.spec, self.height = spec, height
        self.sink: _StripSink | None = None
        self.array: np.ndarray | None = None
        self.blank: np.ndarray | None = None  # a zero-byte stand-in of the map's shape
        self.applied: tuple[Applied, ...] = ()
        self.kernel_sum = 0.0
        self.alpha = False  # the strips' last sample is alpha

    def put(self, cut: Pair, strip: MappedStrip) -> None:
        """Rows ``cut`` of the map."""
        if self.blank is None:
            self._open(strip)
        if self.sink is not None:
            self.sink(strip.pixels if strip.encoded is None else strip.encoded)
        elif self.array is not None:
            self.array[cut[0] : cut[1]] = strip.pixels

    def _open(self, strip: MappedStrip) -> None:
        pixels = strip.pixels
        shape = (self.height, *pixels.shape[1:])
        blank = np.broadcast_to(pixels.dtype.type(0), shape)
        self.blank = colour_and_alpha(blank)[0] if strip.alpha else blank
        self.applied, self.kernel_sum, self.alpha = strip.applied, strip.kernel_sum, strip.alpha
        if self.spec.streamed:
            self.sink = _StripSink(self.spec, shape, pixels.dtype)
        else:
            self.array = np.empty(shape, pixels.dtype)

    def close(self) -> None:
        """Every strip was put: finish the file."""
        if self.sink is not None:
            self.sink.close()

    def abort(self) -> None:
        """Filtering failed: drop the file being written."""
        if self.sink is not None:
            self.sink.abort()

    def feature_map(self, name: str) -> FeatureMap:
        """The map: its pixels (colour, and alpha apart), or the stand-in when it went to its
        file."""
        if self.array is None:
            assert self.blank is not None, "no strip was put"
            return FeatureMap(name, self.blank, None, self.kernel_sum, self.applied)
        if not self.alpha:
            return FeatureMap(name, self.array, None, self.kernel_sum, self.applied)
        colour, alpha = colour_and_alpha(self.array)
        return FeatureMap(name, colour, alpha, self.kernel_sum, self.applied)


def write_maps(
    strips: Iterable[tuple[Pair, Sequence[MappedStrip]]],
    specs: Sequence[OutputSpec],
    height: int,
    names: Sequence[str],
    gains: Sequence[float],
) -> list[Streamed]:
    """Every map's strips, in order, into its file (``spec.streamed``) or an array.

    Parameters
    ----------
    strips : iterable of ((int, int), sequence of MappedStrip)
        Each strip's output rows and its mapped strip of every map, top to bottom.
    specs : sequence of OutputSpec
        Each map's output.
    height : int
        Output rows of every map.
    names : sequence of str
        Each map's name.
    gains : sequence of float
        The gain each map was mapped with (for its report).

    Returns
    -------
    list of Streamed

    Raises
    ------
    ConvcliError
        A map holds NaN or infinities, or a file cannot be written; nothing is left
        under any output's name then.
    """
    targets = [_Target(spec, height) for spec in specs]
    reports = [StripReport() for _ in specs]
    try:
        for cut, mapped in strips:
            for target, report, strip in zip(targets, reports, mapped, strict=True):
                report.merge(strip.report)
                target.put(cut, strip)
        check_finite_maps(reports)
        for target in targets:
            target.close()
    except BaseException:
        for target in targets:
            target.abort()
        raise
    return [
        Streamed(target.feature_map(name), report.final(target.spec, gain), target.spec)
        for name, target, report, gain in zip(names, targets, reports, gains, strict=True)
    ]
