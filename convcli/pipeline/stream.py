"""One image through the engine in row strips: integer rows in, pixels out, bounded memory.

The image stays as stored (uint8/uint16; a TIFF is decoded strip by strip as rows are
needed). Each strip of output rows reads only the input rows it needs (its halo), runs
every kernel of the plan on them (:func:`~convcli.engine.convolve_strip` converts the
integers as it pads), combines, maps the values and rounds them to pixels straight into
the output array, or into a TIFF or PNG file written strip by strip on a writer thread
(the codec works while the engine filters the next strip). Strips are cut at a common
multiple of the engine's tile quanta, so the bytes are those of the whole-image path.

Value mappings of each value alone (:data:`~convcli.values.POINTWISE_MAPPINGS`, with
``--scale``/``--bias``) take one pass. ``normalize`` and ``auto``'s robust gain need the
whole map's statistics first: a first pass over the strips gathers them
(:class:`~convcli.pipeline.strip_stats.Statistics`: the range, and for the gain the top
0.5 % of ``|map|``, all its exact percentile can need), a second computes the strips again
and maps them with :func:`~convcli.values.map_range`.

Which images and outputs take strips at all is decided in :mod:`~convcli.pipeline.stream_run`.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from convcli.choices import Existing
from convcli.engine import needed_rows, tile_quantum
from convcli.errors import ConvcliError
from convcli.geometry import Geometry
from convcli.io import luma
from convcli.io.png import write_png
from convcli.io.rows import RowImage, check_held
from convcli.io.tiff_write import write_tiff
from convcli.kernels import Kernel
from convcli.pipeline.filtering import Applied, FeatureMap, Window, evaluate, kernel_geometry
from convcli.pipeline.plan import ConvOptions, FilterPlan, combined_sum
from convcli.pipeline.strip_pixels import strip_pixels
from convcli.pipeline.strip_stats import Statistics, StripReport, check_finite_maps, strip_gain
from convcli.values import (
    ROBUST,
    MappingReport,
    magnitude_percentile,
    map_range,
    resolve_mapping,
)

STRIP_BYTES = 8 * 2**20
"""About the float32 bytes of one kernel's response per strip (strips are whole quanta)."""

Run = tuple[np.ndarray, tuple[Applied, ...], float]


@dataclass(frozen=True)
class OutputSpec:
    """How one feature map is written: its mapping and pixel type, known before filtering."""

    output: str
    fmt: str
    mapping: str  # resolved: never ``auto``
    depth: int | None  # None: float32 values (``raw`` or ``.npy``)
    streamed: bool  # written strip by strip (TIFF, PNG)
    scale: float | None = None  # ``--scale`` (None: 1, or auto's robust gain)
    bias: float = 0.0
    reason: str = ""  # why ``auto`` chose the mapping (:data:`~convcli.values.ROBUST`: a gain)
    existing: Existing = "overwrite"
    writer_args: Mapping[str, Any] = field(default_factory=dict)  # metadata for the writer

    @property
    def image_wide(self) -> bool:
        """Whether the mapping needs the whole map's statistics (a first pass)."""
        return self.mapping == "normalize" or self.reason == ROBUST


@dataclass(frozen=True)
class Streamed:
    """One feature map made in strips: its values (unless streamed to a file) and report."""

    fmap: FeatureMap
    report: MappingReport
    spec: OutputSpec


def can_stream(plan: FilterPlan, image: RowImage, options: ConvOptions) -> bool:
    """Whether every map of ``plan`` has one output height, so strips of rows line up."""
    if plan.chain:
        return False
    heights = {g.output_hw[0] for g in _geometries(plan, image, options)}
    return len(heights) == 1 and heights != {0}


def _kernels(plan: FilterPlan) -> list[Kernel]:
    return [
        k for unit in plan.units for k in ([unit] if isinstance(unit, Kernel) else unit.kernels)
    ]


def _geometries(plan: FilterPlan, image: RowImage, options: ConvOptions) -> list[Geometry]:
    hw = (image.shape[0], image.shape[1])
    return [kernel_geometry(k, hw, options) for k in _kernels(plan)]


def strip_rows(plan: FilterPlan, image: RowImage, options: ConvOptions, channels: int) -> int:
    """Output rows per strip: a multiple of every kernel's tile quantum, near STRIP_BYTES."""
    geometries = _geometries(plan, image, options)
    quanta = [
        tile_quantum(k.weights, g, method=options.method, flip=options.flip,
                     channels=channels, dtype=np.float32)
        for k, g in zip(_kernels(plan), geometries, strict=True)
    ]  # fmt: skip
    quantum = reduce(math.lcm, quanta, 1)
    row_bytes = geometries[0].output_hw[1] * channels * 4
    return quantum * max(1, STRIP_BYTES // (row_bytes * quantum))


def _cuts(total: int, rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + rows, total)) for start in range(0, total, rows)]


def strips(
    image: RowImage, plan: FilterPlan, options: ConvOptions, rows: int, gray: bool
) -> Iterator[tuple[tuple[int, int], list[Run]]]:
    """Each strip of output rows with the plan's runs on it (raw float maps)."""
    hw = (image.shape[0], image.shape[1])
    geometries = _geometries(plan, image, options)
    for cut in _cuts(geometries[0].output_hw[0], rows):
        held = reduce(np.union1d, [needed_rows(g, cut, options.padding_mode) for g in geometries])
        block = image.rows(held)
        if gray and block.ndim == 3:
            block = luma(block)
        elif block.dtype == np.float64:
            block = block.astype(np.float32)  # the whole-image path reads float32
        yield cut, evaluate(block, plan, options, Window(hw, held, cut))


def _map_strip(
    values: np.ndarray, spec: OutputSpec, max_value: float, stats: Statistics | None,
    gain: float, strip_range: tuple[float, float],
) -> tuple[np.ndarray, int]:  # fmt: skip
    """One strip of one map, mapped (with the whole map's range if ``stats``) and rounded.

    Pixels are made in place (``values`` is scratch after); float values are returned.
    """
    low, high = stats.range if stats is not None else strip_range
    if spec.depth is None:
        mapped, clipped = map_range(values, spec.mapping, max_value=max_value, low=low,
                                    high=high, scale=gain, bias=spec.bias)  # fmt: skip
        return mapped.astype(np.float32, copy=False), clipped
    return strip_pixels(values, spec.mapping, max_value=max_value, low=low, high=high,
                        scale=gain, bias=spec.bias, depth=spec.depth)  # fmt: skip


def _strip_range(values: np.ndarray) -> tuple[float, float]:
    return (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)


Sink = Callable[[tuple[int, int], np.ndarray], None]


_WRITERS: dict[str, Callable[..., bool]] = {"tiff": write_tiff, "png": write_png}
"""Formats written strip by strip: ``writer(path, strips, shape, dtype)``."""


class _StripSink:
    """A file written strip by strip on its own thread while the next strips are filtered."""

    def __init__(self, spec: OutputSpec, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self._writer = _WRITERS[spec.fmt]
        self._spec = spec
        path = spec.output
        self._queue: queue.Queue[np.ndarray | BaseException | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._temp: str | None = None
        self._thread = threading.Thread(
            target=self._write, args=(path, shape, dtype), name="convcli-writer", daemon=True
        )
        self._thread.start()

    def _items(self) -> Iterator[np.ndarray]:
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
            if not isinstance(first, np.ndarray):
                return  # given up before any strip
            spec = self._spec
            self._writer(path, chain([first], self._items()), shape, dtype,
                         existing=spec.existing,
                         on_open=self._opened,
                         **spec.writer_args)  # fmt: skip
        except BaseException as exc:  # handed to the filtering thread, which raises it
            self._error = exc

    def _put(self, item: np.ndarray | BaseException | None) -> None:
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

    def __call__(self, cut: tuple[int, int], pixels: np.ndarray) -> None:
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

    def put(self, cut: tuple[int, int], pixels: np.ndarray, run: Run) -> None:
        """Rows ``cut`` of the map, made by ``run``."""
        if self.blank is None:
            self._open(pixels, run)
        if self.sink is not None:
            self.sink(cut, pixels)
        elif self.array is not None:
            self.array[cut[0] : cut[1]] = pixels

    def _open(self, pixels: np.ndarray, run: Run) -> None:
        shape = (self.height, *pixels.shape[1:])
        self.blank = np.broadcast_to(pixels.dtype.type(0), shape)
        self.applied, self.kernel_sum = run[1], run[2]
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
        """The map (its values, or the stand-in when it went to its file)."""
        values = self.array if self.array is not None else self.blank
        assert values is not None, "no strip was put"
        return FeatureMap(name, values, None, self.kernel_sum, self.applied)


def stream_maps(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    specs: Sequence[OutputSpec],
    *,
    gray: bool,
    max_pixels: int | None,
) -> list[Streamed]:
    """Every feature map of ``plan`` on ``image``, made strip by strip (see the module).

    Maps whose spec is ``streamed`` are written to their file as strips come; the others
    are returned whole (pixels, or float32 values for float outputs).

    Raises
    ------
    ConvcliError
        As the whole-image path, and the ``--max-pixels`` guard on the pixels held.
    """
    channels = 1 if gray or len(image.shape) == 2 else image.shape[2]
    rows = strip_rows(plan, image, options, channels)
    geometry = _geometries(plan, image, options)[0]
    if image.streamed:
        check_held(image.name, _held_pixels(image, geometry, rows, specs), max_pixels)
    stats = _statistics(image, plan, options, rows, gray, specs)
    gains = [strip_gain(spec, st, image.max_value) for spec, st in zip(specs, stats, strict=True)]
    targets = [_Target(spec, geometry.output_hw[0]) for spec in specs]
    reports = [StripReport() for _ in specs]
    try:
        for cut, runs in strips(image, plan, options, rows, gray):
            for target, report, st, gain, run in zip(targets, reports, stats, gains, runs,
                                                     strict=True):  # fmt: skip
                strip_range = _strip_range(run[0])
                report.add(run[0], strip_range)  # before the mapping overwrites the values
                pixels, clipped = _map_strip(run[0], target.spec, image.max_value, st, gain,
                                             strip_range)  # fmt: skip
                report.clipped += clipped
                target.put(cut, pixels, run)
            del runs, run  # freed before the next strip is computed
        check_finite_maps(reports)
        for target in targets:
            target.close()
    except BaseException:
        for target in targets:
            target.abort()
        raise
    return [
        Streamed(target.feature_map(name), report.final(target.spec, gain), target.spec)
        for name, target, report, gain in zip(plan.map_names, targets, reports, gains, strict=True)
    ]


def _held_pixels(
    image: RowImage, geometry: Geometry, rows: int, specs: Sequence[OutputSpec]
) -> int:
    """Pixels held at once: a strip's input rows and every output not written in strips."""
    span = (rows - 1) * geometry.stride[0] + geometry.effective_kernel_hw[0]
    whole = sum(0 if s.streamed else geometry.output_hw[0] * geometry.output_hw[1] for s in specs)
    return min(span, image.shape[0]) * image.shape[1] + whole


def _statistics(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    rows: int,
    gray: bool,
    specs: Sequence[OutputSpec],
) -> list[Statistics | None]:
    """A first pass gathering the statistics of the maps whose mapping needs them."""
    out_h, out_w = _geometries(plan, image, options)[0].output_hw
    size = out_h * out_w * planes_of(image, gray)
    stats: list[Statistics | None] = [
        (
            Statistics(top=magnitude_percentile(size) if spec.reason == ROBUST else None)
            if spec.image_wide
            else None
        )
        for spec in specs
    ]
    if not any(spec.image_wide for spec in specs):
        return stats
    for _, runs in strips(image, plan, options, rows, gray):
        for st, (values, _, _) in zip(stats, runs, strict=True):
            if st is not None:
                st.add(values)
        del runs, values
    return stats


def kernel_sums(plan: FilterPlan) -> list[float]:
    """The kernel sum each map counts as (what ``auto`` mapping looks at), as evaluate gives."""
    sums = [
        float(u.sum)
        if isinstance(u, Kernel)
        else combined_sum([float(k.sum) for k in u.kernels], u.combine)
        for u in plan.units
    ]
    if plan.combine in (None, "stack"):
        return sums
    return [combined_sum(sums, str(plan.combine))]  # fmt: skip


def output_spec(
    output: str,
    fmt: str,
    mapping: str,
    kernel_sum: float,
    depth: int | None,
    *,
    scale: float | None = None,
    bias: float = 0.0,
    existing: Existing = "overwrite",
) -> OutputSpec:
    """The spec of one output: float values for ``.npy`` and ``raw``, else pixels of ``depth``."""
    floats = fmt == "npy" or mapping == "raw"
    word = "raw" if floats and mapping == "auto" else mapping
    resolved, reason = resolve_mapping(word, kernel_sum, free_scale=scale is None)
    streamed = fmt in _WRITERS and output != "-" and not floats
    return OutputSpec(output, fmt, resolved, None if floats else depth, streamed, scale, bias,
                      reason, existing)  # fmt: skip


def all_geometries(plan: FilterPlan, image: RowImage, options: ConvOptions) -> list[Geometry]:
    """The geometry of every kernel of the plan on ``image``."""
    return _geometries(plan, image, options)


def first_geometry(plan: FilterPlan, image: RowImage, options: ConvOptions) -> Geometry:
    """The geometry of the plan's first kernel on ``image``."""
    return _geometries(plan, image, options)[0]


def planes_of(image: RowImage, gray: bool) -> int:
    """Colour planes of each map (no alpha is streamed)."""
    return 1 if gray or len(image.shape) == 2 else int(image.shape[2])
