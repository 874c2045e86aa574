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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np

from convcli.choices import Existing
from convcli.engine import held_rows, needed_rows, tile_quantum
from convcli.geometry import Geometry, Pair
from convcli.io import luma
from convcli.io.rows import RowImage, check_held, colour_and_alpha
from convcli.kernels import Kernel
from convcli.pipeline.filtering import (
    AlphaMode,
    FeatureMap,
    Window,
    alpha_rows,
    apply_plan,
    kernel_geometry,
)
from convcli.pipeline.plan import ConvOptions, FilterPlan, combined_sum
from convcli.pipeline.shared import shared_strips
from convcli.pipeline.strip_pixels import strip_pixels
from convcli.pipeline.strip_stats import Statistics, StripReport, strip_gain
from convcli.pipeline.strip_targets import WRITERS, MappedStrip, Streamed, write_maps
from convcli.values import (
    ROBUST,
    magnitude_percentile,
    map_range,
    resolve_mapping,
    to_pixels,
)

STRIP_BYTES = 8 * 2**20
"""About the float32 bytes of one kernel's response per strip (strips are whole quanta)."""


@dataclass(frozen=True)
class AlphaWork:
    """How the alpha of an image with alpha is used, decided once for the whole image."""

    mode: AlphaMode  # ``keep`` or ``filter``
    weigh: bool  # colour alpha-weighted (:func:`~convcli.pipeline.filtering.alpha_weighted`)


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


def can_stream(plan: FilterPlan, image: RowImage, options: ConvOptions) -> bool:
    """Whether every map of ``plan`` has one output height, so strips of rows line up."""
    if plan.chain:
        return False
    heights = {g.output_hw[0] for g in all_geometries(plan, image, options)}
    return len(heights) == 1 and heights != {0}


def all_geometries(plan: FilterPlan, image: RowImage, options: ConvOptions) -> list[Geometry]:
    """The geometry of every kernel of the plan on ``image``."""
    hw = (image.shape[0], image.shape[1])
    return [kernel_geometry(k, hw, options) for k in plan.kernels]


def strip_rows(
    plan: FilterPlan, image: RowImage, options: ConvOptions, channels: int,
    target: int | None = None,
) -> int:  # fmt: skip
    """Output rows per strip: a multiple of every kernel's tile quantum, near ``target``
    bytes of one map's float32 values (:data:`STRIP_BYTES` when None)."""
    geometries = all_geometries(plan, image, options)
    quanta = [
        tile_quantum(k.weights, g, method=options.method, flip=options.flip,
                     channels=channels, dtype=np.float32)
        for k, g in zip(plan.kernels, geometries, strict=True)
    ]  # fmt: skip
    quantum = reduce(math.lcm, quanta, 1)
    row_bytes = geometries[0].output_hw[1] * channels * 4
    size = STRIP_BYTES if target is None else target
    return quantum * max(1, size // (row_bytes * quantum))


def _cuts(total: int, rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + rows, total)) for start in range(0, total, rows)]


def strips(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    rows: int,
    gray: bool,
    alpha: AlphaWork | None = None,
) -> Iterator[tuple[tuple[int, int], list[FeatureMap]]]:
    """Each strip of output rows with the plan's maps on it (raw float values)."""
    for cut in _cuts(first_geometry(plan, image, options).output_hw[0], rows):
        yield cut, strip_runs(image, plan, options, cut, gray, alpha)


def strip_runs(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    cut: Pair,
    gray: bool,
    alpha: AlphaWork | None = None,
) -> list[FeatureMap]:
    """The plan's maps (raw float values, alpha on their grid when ``image.alpha``) on
    output rows ``cut``, from the input rows they need."""
    hw = (image.shape[0], image.shape[1])
    geometries = all_geometries(plan, image, options)
    needed = [needed_rows(g, cut, options.padding_mode) for g in geometries]
    if image.alpha:  # the rows alpha is sampled from
        needed += [alpha_rows(k, g, options, cut) for k, g in zip(plan.kernels, geometries,
                                                                      strict=True)]  # fmt: skip
    held = held_rows(needed)
    block = image.rows(held)
    window = Window(hw, held, cut)
    if image.alpha:
        assert alpha is not None, "an image with alpha needs its AlphaWork"
        colour, held_alpha = colour_and_alpha(block)
        return apply_plan(colour, plan, options, alpha=held_alpha, alpha_mode=alpha.mode,
                          alpha_max=image.max_value, window=window, weigh=alpha.weigh)  # fmt: skip
    if gray and block.ndim == 3:
        block = luma(block)
    elif block.dtype == np.float64:
        block = block.astype(np.float32)  # the whole-image path reads float32
    return apply_plan(block, plan, options, window=window)


def map_runs(
    runs: Sequence[FeatureMap],
    specs: Sequence[OutputSpec],
    max_value: float,
    stats: Sequence[Statistics | None],
    gains: Sequence[float],
) -> list[MappedStrip]:
    """Each map on one strip mapped to pixels (alpha, if any, last), with what the
    mapping did."""
    mapped = []
    for spec, st, gain, fmap in zip(specs, stats, gains, runs, strict=True):
        strip_range = _strip_range(fmap.values)
        report = StripReport()
        report.add(fmap.values, strip_range)  # before the mapping overwrites the values
        pixels, clipped = _map_strip(fmap.values, spec, max_value, st, gain, strip_range)
        report.clipped = clipped
        if fmap.alpha is not None and spec.depth is not None:
            alpha = to_pixels(fmap.alpha, spec.depth, max_value=max_value)
            pixels = np.concatenate([pixels.reshape(*alpha.shape, -1), alpha[..., None]], axis=2)
        ksum = 0.0 if fmap.kernel_sum is None else fmap.kernel_sum
        mapped.append(MappedStrip(pixels, report, fmap.applied, ksum, fmap.alpha is not None))
    return mapped


def mapped_strip(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    cut: Pair,
    *,
    gray: bool,
    specs: Sequence[OutputSpec],
    gains: Sequence[float],
) -> list[MappedStrip]:
    """Output rows ``cut`` of every map, mapped and rounded to pixels: one strip's work.

    The work of one strip of :func:`stream_maps` for mappings of each value alone (no
    :class:`~convcli.pipeline.strip_stats.Statistics`); a strip task on a cluster runs it.

    Parameters
    ----------
    image : RowImage
        The input; only the rows ``cut`` needs are read.
    plan, options
        What runs.
    cut : (int, int)
        Output rows; a multiple of :func:`strip_rows`'s quantum where it starts.
    gray : bool
        ``--color gray``.
    specs : sequence of OutputSpec
        Each map's output (its mapping must not be :attr:`~OutputSpec.image_wide`).
    gains : sequence of float
        Each map's gain (``--scale``, or 1).

    Returns
    -------
    list of MappedStrip
        One per map.
    """
    runs = strip_runs(image, plan, options, cut, gray)
    return map_runs(runs, specs, image.max_value, [None] * len(specs), gains)


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


def stream_maps(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    specs: Sequence[OutputSpec],
    *,
    gray: bool,
    max_pixels: int | None,
    alpha: AlphaWork | None = None,
    processes: int = 1,
) -> list[Streamed]:
    """Every feature map of ``plan`` on ``image``, made strip by strip (see the module).

    ``processes`` share the strips (:func:`~convcli.pipeline.shared.shared_strips`).

    Maps whose spec is ``streamed`` are written to their file as strips come; the others
    are returned whole (pixels, or float32 values for float outputs).

    Raises
    ------
    ConvcliError
        As the whole-image path, and the ``--max-pixels`` guard on the pixels held.
    """
    channels = 1 if gray or len(image.shape) == 2 else image.shape[2]
    rows = strip_rows(plan, image, options, channels)
    geometry = first_geometry(plan, image, options)
    if image.streamed:
        held = _held_pixels(image, geometry, rows, specs, processes)
        check_held(image.name, held, max_pixels)
    stats = _statistics(image, plan, options, rows, gray, specs, alpha)
    gains = [strip_gain(spec, st, image.max_value) for spec, st in zip(specs, stats, strict=True)]

    def make(cut: Pair) -> list[MappedStrip]:
        runs = strip_runs(image, plan, options, cut, gray, alpha)
        mapped = map_runs(runs, specs, image.max_value, stats, gains)
        if processes > 1:  # PNG compressed by the process that made the strip
            return [strip.encoded_for(spec) for strip, spec in zip(mapped, specs, strict=True)]
        return mapped

    cuts = _cuts(geometry.output_hw[0], rows)
    slot = _slot_bytes(image, gray, specs, rows, geometry.output_hw[1])
    with closing(shared_strips(cuts, make, processes, slot, image.name)) as mapped:
        return write_maps(mapped, specs, geometry.output_hw[0], plan.map_names, gains)


def _slot_bytes(image: RowImage, gray: bool, specs: Sequence[OutputSpec], rows: int,
                width: int) -> int:  # fmt: skip
    """Bytes one strip of every map may need to be handed over: its pixels, and for a PNG
    its compressed rows too (at worst its filtered bytes, a filter byte a row, and zlib's
    few bytes per stored block)."""
    total = 0
    for spec in specs:
        itemsize = 4 if spec.depth is None else spec.depth // 8
        pixels = rows * width * (planes_of(image, gray) + image.alpha) * itemsize
        png = spec.fmt == "png" and spec.streamed
        total += pixels + (pixels + rows + pixels // 1000 + 1024 if png else 0)
    return total


def _held_pixels(
    image: RowImage, geometry: Geometry, rows: int, specs: Sequence[OutputSpec], processes: int
) -> int:
    """Pixels held at once: a strip's input rows in each process sharing the strips, and
    every output not written in strips."""
    span = (rows - 1) * geometry.stride[0] + geometry.effective_kernel_hw[0]
    whole = sum(0 if s.streamed else geometry.output_hw[0] * geometry.output_hw[1] for s in specs)
    return processes * min(span, image.shape[0]) * image.shape[1] + whole


def _statistics(
    image: RowImage,
    plan: FilterPlan,
    options: ConvOptions,
    rows: int,
    gray: bool,
    specs: Sequence[OutputSpec],
    alpha: AlphaWork | None,
) -> list[Statistics | None]:
    """A first pass gathering the statistics of the maps whose mapping needs them."""
    out_h, out_w = first_geometry(plan, image, options).output_hw
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
    for _, runs in strips(image, plan, options, rows, gray, alpha):
        for st, fmap in zip(stats, runs, strict=True):
            if st is not None:
                st.add(fmap.values)
        del runs, fmap
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
    streamed = fmt in WRITERS and output != "-" and not floats
    return OutputSpec(output, fmt, resolved, None if floats else depth, streamed, scale, bias,
                      reason, existing)  # fmt: skip


def first_geometry(plan: FilterPlan, image: RowImage, options: ConvOptions) -> Geometry:
    """The geometry of the plan's first kernel on ``image``."""
    return all_geometries(plan, image, options)[0]


def planes_of(image: RowImage, gray: bool) -> int:
    """Colour planes of each map (alpha not counted)."""
    return 1 if gray or len(image.shape) == 2 else int(image.shape[2])
