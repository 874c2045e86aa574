"""One image split into strip tasks: the plan, the checks, and one task's work (no Dask here).

An image too big for one machine's memory is filtered as strips of output rows, each a
task that opens the image, reads only the input rows its strip needs and runs the strip
pipeline's own per-strip work (:func:`~convcli.pipeline.stream.mapped_strip`: colour or
gray, the bank's combination, the value mapping, rounding to pixels). Strips are whole
multiples of the engine's tile quanta, so the pixels are those of
:func:`~convcli.pipeline.stream_run.filter_in_strips` on one machine, bit for bit.
:mod:`convcli.batch.huge` sends the tasks to a Dask cluster; ``convcli shape --plan``
prints :func:`split_plan`.

What splits is what the strip pipeline streams (a TIFF read by tifffile, an integer image of
one frame, no alpha to weight, no chain, no ``--color luma``), with value mappings of each
value alone: ``normalize`` and ``auto``'s robust gain for zero-sum kernels need the whole
map first and are refused (:class:`NotSplit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine import held_rows, needed_rows
from convcli.errors import ImageError
from convcli.geometry import Geometry, Pair
from convcli.io.meta import ImageMeta
from convcli.io.rows import RowImage, open_rows
from convcli.io.tiff import is_tiff
from convcli.pipeline.plan import ConvOptions, FilterPlan
from convcli.pipeline.stream import (
    OutputSpec,
    all_geometries,
    can_stream,
    kernel_sums,
    mapped_strip,
    output_spec,
    planes_of,
    strip_rows,
)
from convcli.pipeline.stream_run import image_streams, output_depth, output_specs
from convcli.pipeline.strip_stats import strip_gain
from convcli.pipeline.strip_targets import MappedStrip

if TYPE_CHECKING:
    from convcli.pipeline.run import ApplySettings

TASK_BYTES = 32 * 2**20
"""About the float32 bytes of one map's response in one task (strips are whole quanta)."""

ZARR = "zarr"
"""The output format of a Zarr array (a folder), written by strip tasks only."""


class NotSplit(ImageError):
    """The image or the settings cannot be split into strip tasks; the message says why."""


@dataclass(frozen=True)
class StripJob:
    """What every strip task of one image needs (picklable, sent to the workers).

    Attributes
    ----------
    source : str
        The image file, on storage every worker sees.
    plan, options
        What runs (engine threads as the worker should use).
    specs : tuple of OutputSpec
        Each map's output (mappings of each value alone).
    gains : tuple of float
        Each map's gain.
    gray : bool
        ``--color gray``.
    drop_alpha : bool
        ``--alpha drop``.
    """

    source: str
    plan: FilterPlan
    options: ConvOptions
    specs: tuple[OutputSpec, ...]
    gains: tuple[float, ...]
    gray: bool
    drop_alpha: bool


@dataclass(frozen=True)
class Split:
    """One image cut into strip tasks: the job, the cuts and the output it makes.

    ``image`` is the client's open handle on the input (a TIFF's header; rows are read
    by the tasks); close it when done.
    """

    image: RowImage
    job: StripJob
    cuts: tuple[Pair, ...]
    output_shape: tuple[int, ...]  # each map's pixels: (H', W') or (H', W', C)

    @property
    def dtype(self) -> np.dtype:
        """Each map's pixel type."""
        depth = self.job.specs[0].depth
        return np.dtype(np.uint16 if depth == 16 else np.uint8)


def run_strip(job: StripJob, cut: Pair) -> list[MappedStrip]:
    """One strip task: output rows ``cut`` of every map, as the strip pipeline makes them.

    Parameters
    ----------
    job : StripJob
        The image and what runs.
    cut : (int, int)
        Output rows, from :attr:`Split.cuts`.

    Returns
    -------
    list of MappedStrip
        One per map.

    Raises
    ------
    ConvcliError
        The image cannot be read (changed since it was planned), or the engine refuses.
    """
    image = open_rows(job.source, max_pixels=None, drop_alpha=job.drop_alpha)
    if image is None:
        msg = f"{job.source}: changed since it was planned (it has alpha now)"
        raise NotSplit(msg)
    with closing(image):
        return mapped_strip(image, job.plan, job.options, cut, gray=job.gray, specs=job.specs,
                            gains=job.gains)  # fmt: skip


def _refusal(settings: ApplySettings) -> str | None:
    """Why the settings cannot be split into strips, or None."""
    reasons = {
        "--chain runs each kernel on the whole previous map": settings.plan.chain,
        "--color luma filters the whole luma plane": settings.color == "luma",
        "--frame reads one frame of several": settings.frame is not None,
        "--compression is not written strip by strip": settings.save.compression != "none",
        "--map raw writes float values": settings.mapping == "raw",
        "--record replays a whole-image run": settings.record,
    }
    return next((why for why, hit in reasons.items() if hit), None)


def open_split(
    source: str,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
    task_bytes: int = TASK_BYTES,
) -> Split:
    """Plan the strip tasks of the image ``source`` written to ``outputs``.

    Parameters
    ----------
    source : str
        A TIFF file.
    outputs, formats : sequence of str
        Each map's output and its format (``tiff``, ``png`` or :data:`ZARR`).
    settings : ApplySettings
        As ``apply`` gives.
    task_bytes : int
        About the float32 bytes of one map a task computes.

    Returns
    -------
    Split
        With the image open (close it).

    Raises
    ------
    NotSplit
        The image, its outputs or the settings cannot be split into strips.
    ConvcliError
        The image cannot be read, or the geometry is impossible.
    """
    if (why := _refusal(settings)) is not None:
        msg = f"{source}: cannot be split into strip tasks: {why}"
        raise NotSplit(msg)
    if not is_tiff(source):
        msg = (f"{source}: --dask splits TIFF images into strip tasks only; convert it to "
               ".tif, or write .tif/.png to filter it whole on one worker")  # fmt: skip
        raise NotSplit(msg)
    image = open_rows(source, max_pixels=settings.max_pixels,
                      drop_alpha=settings.alpha_mode == "drop")  # fmt: skip
    if image is None:
        msg = f"{source}: cannot be split into strip tasks: it has alpha (give --alpha drop)"
        raise NotSplit(msg)
    try:
        return _split(image, source, outputs, formats, settings, task_bytes)
    except BaseException:
        image.close()
        raise


def _split(
    image: RowImage,
    source: str,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
    task_bytes: int,
) -> Split:
    streamed = [f for f in formats if f != ZARR]
    if not image_streams(image, streamed, settings):
        msg = (f"{source}: cannot be split into strip tasks: several frames, an EXIF "
               "orientation, float samples or maps of different heights")  # fmt: skip
        raise NotSplit(msg)
    specs = _specs(image, outputs, formats, settings)
    gray = settings.color == "gray"
    gains = tuple(strip_gain(spec, None, image.max_value) for spec in specs)
    planes = planes_of(image, gray)
    rows = strip_rows(settings.plan, image, settings.options, planes, task_bytes)
    height, width = all_geometries(settings.plan, image, settings.options)[0].output_hw
    cuts = tuple((start, min(start + rows, height)) for start in range(0, height, rows))
    shape = (height, width) if planes == 1 else (height, width, planes)
    job = StripJob(source, settings.plan, settings.options, specs, gains, gray,
                   settings.alpha_mode == "drop")  # fmt: skip
    return Split(image, job, cuts, shape)


def _specs(
    image: RowImage, outputs: Sequence[str], formats: Sequence[str], settings: ApplySettings
) -> tuple[OutputSpec, ...]:
    """Each output's spec; Zarr arrays hold the pixels the TIFF would."""
    gray = settings.color == "gray"
    if ZARR in formats:
        planes = planes_of(image, gray)
        depth = output_depth(settings.depth, image.bit_depth, "tiff", planes=planes)
        sums = kernel_sums(settings.plan)
        specs = [output_spec(out, ZARR, settings.mapping, ksum, depth, scale=settings.scale,
                             bias=settings.bias, existing=settings.existing)
                 for out, ksum in zip(outputs, sums, strict=True)]  # fmt: skip
    else:
        color = "gray" if gray or len(image.shape) == 2 else "rgb"
        kept = ImageMeta() if settings.strip else image.meta
        found = output_specs(image, outputs, formats, settings, kept, color)
        if found is None:
            msg = f"{image.name}: cannot be split into strip tasks: write .tif, .png or .zarr"
            raise NotSplit(msg)
        specs = found
    for spec in specs:
        if spec.image_wide:
            raise NotSplit(_image_wide(image.name, spec))
    return tuple(replace(s, streamed=s.fmt != ZARR) for s in specs)


def _image_wide(name: str, spec: OutputSpec) -> str:
    why = ("--map normalize needs the whole map's range" if spec.mapping == "normalize"
           else "--map auto needs the whole map for a zero-sum kernel's gain")  # fmt: skip
    return (f"{name}: {why}, which strip tasks do not see; give --map clip, abs or offset "
            "(with --scale for a gain)")  # fmt: skip


@dataclass(frozen=True)
class PlanFigures:
    """What ``shape --plan`` prints: how an image splits into strip tasks."""

    tasks: int
    rows: int  # output rows a task (the last may have fewer)
    last: int
    quantum: int
    read_rows: int  # input rows the largest task reads
    task_bytes: int  # about the memory of one task
    parts: tuple[tuple[str, int], ...]


def split_plan(
    shape: Sequence[int],
    bit_depth: int,
    plan: FilterPlan,
    options: ConvOptions,
    *,
    gray: bool = False,
    task_bytes: int = TASK_BYTES,
) -> PlanFigures:
    """How an image of ``shape`` splits into strip tasks, and what one task holds.

    Parameters
    ----------
    shape : sequence of int
        ``(H, W)`` or ``(H, W, C)``.
    bit_depth : int
        8 or 16 (the input's samples and the pixels written).
    plan, options
        What runs.
    gray : bool
        ``--color gray``.
    task_bytes : int
        As for :func:`open_split`.

    Returns
    -------
    PlanFigures

    Examples
    --------
    >>> from convcli.kernels import parse_kernel_spec
    >>> from convcli.pipeline.plan import build_plan
    >>> figures = split_plan((4000, 3000, 3), 8, build_plan([parse_kernel_spec("box:5")]),
    ...                      ConvOptions(method="direct"), task_bytes=2**20)
    >>> figures.tasks, figures.rows, figures.read_rows
    (138, 29, 33)
    """
    image = _header(shape, bit_depth)
    planes = planes_of(image, gray)
    if not can_stream(plan, image, options):
        msg = "the maps of this plan have different heights; strips do not line up"
        raise NotSplit(msg)
    rows = strip_rows(plan, image, options, planes, task_bytes)
    geometries = all_geometries(plan, image, options)
    height = geometries[0].output_hw[0]
    cuts = [(start, min(start + rows, height)) for start in range(0, height, rows)]
    read = max(
        held_rows([needed_rows(g, cut, options.padding_mode) for g in geometries]).size
        for cut in cuts
    )
    rows = max(stop - start for start, stop in cuts)  # the plan's rows, or all of a short map
    total, parts = _memory(image, geometries[0], rows, read, planes, len(plan.map_names))
    quantum = strip_rows(plan, image, options, planes, 1)
    return PlanFigures(len(cuts), rows, cuts[-1][1] - cuts[-1][0], quantum, read, total, parts)


def _header(shape: Sequence[int], bit_depth: int) -> RowImage:
    """A stand-in image of ``shape`` for planning (no rows to read)."""

    def no_rows(start: int, stop: int) -> np.ndarray:
        raise AssertionError

    return RowImage("plan", tuple(int(n) for n in shape), float(2**bit_depth - 1), bit_depth,
                    "", True, no_rows)  # fmt: skip


def _memory(
    image: RowImage, g: Geometry, rows: int, read: int, planes: int, maps: int
) -> tuple[int, tuple[tuple[str, int], ...]]:
    """About the bytes one task holds, and its parts."""
    samples = image.shape[2] if len(image.shape) == 3 else 1
    bit_depth = image.bit_depth
    padded_width = image.shape[1] + sum(g.pads[1])
    span = (rows - 1) * g.stride[0] + g.effective_kernel_hw[0]
    out_width = g.output_hw[1]
    parts = (
        ("input rows", read * image.shape[1] * samples * bit_depth // 8),
        ("padded float32 rows", span * padded_width * planes * 4),
        ("float32 maps", maps * rows * out_width * planes * 4),
        ("pixels", maps * rows * out_width * planes * bit_depth // 8),
    )
    return sum(size for _, size in parts), parts


def mib(size: int) -> str:
    """Bytes as MiB for the plan's text.

    Examples
    --------
    >>> mib(3 * 2**20), mib(150 * 2**10)
    ('3.0 MiB', '0.15 MiB')
    """
    value = size / 2**20
    return f"{value:.1f} MiB" if value >= 1 else f"{value:.2g} MiB"


def plan_lines(figures: PlanFigures, stride: int) -> list[tuple[str, str]]:
    """The rows ``shape --plan`` prints: the strips, the halo, the memory of one task.

    ``stride`` is the vertical stride (a strip's own input rows are its rows times it).

    Examples
    --------
    >>> figures = PlanFigures(3, 64, 20, 32, 70, 5 * 2**20, (("input rows", 2**20),))
    >>> for label, text in plan_lines(figures, 1):
    ...     print(label, text)
    strips 3 tasks of 64 output rows (the last 20), cut at multiples of 32 (the engine's tile)
    halo 70 input rows read for 64 output rows (6 halo rows)
    memory about 5.0 MiB a task: input rows 1.0 MiB
    """
    last = f" (the last {figures.last})" if figures.tasks > 1 else ""
    halo = max(0, figures.read_rows - figures.rows * stride)
    parts = ", ".join(f"{name} {mib(size)}" for name, size in figures.parts)
    return [
        ("strips", f"{figures.tasks} task{'s' * (figures.tasks != 1)} of {figures.rows} "
                   f"output rows{last}, cut at "
                   f"multiples of {figures.quantum} (the engine's tile)"),
        ("halo", f"{figures.read_rows} input rows read for {figures.rows} output rows "
                 f"({halo} halo rows)"),
        ("memory", f"about {mib(figures.task_bytes)} a task: {parts}"),
    ]  # fmt: skip
