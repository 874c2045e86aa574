"""File to file: read an image, filter it, map the values, write each feature map.

:func:`filter_image` returns an :class:`~convcli.pipeline.summary.ImageResult`, from
which the summary and the ``--json`` record are made.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field

import numpy as np

from convcli.errors import OutputError
from convcli.io import (
    FORMATS,
    LoadedImage,
    encode_image,
    holds_16bit,
    read_image,
    write_image,
    write_npy,
)
from convcli.io.rows import open_rows
from convcli.pipeline.filtering import AlphaMode, FeatureMap, apply_plan
from convcli.pipeline.plan import ConvOptions, FilterPlan
from convcli.pipeline.stream import (
    Streamed,
    can_stream,
    kernel_sums,
    output_spec,
    planes_of,
    stream_maps,
)
from convcli.pipeline.summary import ImageResult, MapResult, map_result
from convcli.values import map_values, to_pixels


@dataclass(frozen=True)
class ApplySettings:
    """Everything ``apply`` does to each image (picklable, sent to worker processes)."""

    plan: FilterPlan
    options: ConvOptions = field(default_factory=ConvOptions)
    color: str = "keep"
    alpha_mode: AlphaMode = "keep"
    mapping: str = "auto"
    depth: int | None = None
    max_pixels: int | None = None


def output_depth(requested: int | None, bit_depth: int, fmt: str, *, planes: int = 1) -> int:
    """The pixel depth to write: ``--depth``, else 16 for deeper inputs where it fits.

    Parameters
    ----------
    requested : int or None
        ``--depth``.
    bit_depth : int
        The input's bits per sample.
    fmt : str
        The output format.
    planes : int
        Samples per pixel written, alpha included (JPEG, WebP, BMP hold 8 bits only).

    Raises
    ------
    OutputError
        If ``requested`` is 16 and ``fmt`` holds 8-bit samples only.

    Examples
    --------
    >>> output_depth(None, 16, "png"), output_depth(None, 16, "jpeg"), output_depth(8, 16, "png")
    (16, 8, 8)
    >>> output_depth(None, 16, "tiff"), output_depth(None, 16, "tiff", planes=3)
    (16, 16)
    """
    if requested == 16 and 16 not in FORMATS[fmt].depths:
        msg = f"{fmt.upper()} holds 8-bit samples only; --depth 16 needs .png or .tif"
        raise OutputError(msg)
    if requested is not None:
        return requested
    fits = holds_16bit(FORMATS[fmt], planes)
    return 16 if bit_depth > 8 and fits else 8


def _planes(fmap: FeatureMap) -> int:
    colour = 1 if fmap.values.ndim == 2 else int(fmap.values.shape[-1])
    return colour + (fmap.alpha is not None)


def filter_image(
    source: str | bytes,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
) -> ImageResult:
    """Read one image, filter it, and write each feature map to its output.

    Parameters
    ----------
    source : str or bytes
        A file name, or the encoded image (standard input).
    outputs : sequence of str
        One path per feature map, or ``"-"``: the encoded bytes are returned in
        :attr:`ImageResult.data` instead of written.
    formats : sequence of str
        The format of each output (``png``, ``jpeg``, ``tiff``, ``webp``, ``bmp``, ``npy``).
    settings : ApplySettings

    Returns
    -------
    ImageResult

    Raises
    ------
    ConvcliError
        An image that cannot be read, a geometry that does not fit it, an output
        that cannot be written. Outputs already written stay; none is half-written.
    """
    start = time.perf_counter()
    streamed = _filter_in_strips(source, outputs, formats, settings, start)
    if streamed is not None:
        return streamed
    loaded = read_image(source, color=settings.color, max_pixels=settings.max_pixels)  # type: ignore[arg-type]
    fmaps = apply_plan(
        loaded.pixels,
        settings.plan,
        settings.options,
        alpha=loaded.alpha,
        alpha_mode=settings.alpha_mode,
    )
    results, data = [], None
    for fmap, output, fmt in zip(fmaps, outputs, formats, strict=True):
        result, encoded = _write_map(fmap, output, fmt, loaded, settings)
        results.append(result)
        data = encoded if encoded is not None else data
    elapsed = (time.perf_counter() - start) * 1000
    applied = tuple(dict.fromkeys(a for fmap in fmaps for a in fmap.applied))
    name = loaded.source if isinstance(source, str) else "-"
    return ImageResult(
        name,
        _shape(loaded),
        loaded.mode,
        loaded.bit_depth,
        tuple(results),
        applied,
        elapsed,
        data,
        settings.plan.label,
        settings.options.padding_mode,
        settings.mapping == "auto",
    )


def _filter_in_strips(
    source: str | bytes,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
    start: float,
) -> ImageResult | None:
    """The strip pipeline (:mod:`~convcli.pipeline.stream`); None for the whole-image path."""
    drop = settings.alpha_mode == "drop"
    image = open_rows(source, max_pixels=settings.max_pixels, drop_alpha=drop)
    if image is None:
        return None
    with closing(image):
        if not can_stream(settings.plan, image, settings.options):
            return None
        gray = settings.color == "gray"
        planes = planes_of(image, gray)
        specs = [
            output_spec(output, fmt, settings.mapping, ksum,
                        output_depth(settings.depth, image.bit_depth, fmt, planes=planes))
            for output, fmt, ksum in zip(outputs, formats, kernel_sums(settings.plan), strict=True)
        ]  # fmt: skip
        maps = stream_maps(image, settings.plan, settings.options, specs, gray=gray,
                           max_pixels=settings.max_pixels)  # fmt: skip
    results, data = [], None
    for made in maps:
        results.append(map_result(made.fmap, made.spec.output, made.spec.fmt, made.report,
                                  made.spec.depth))  # fmt: skip
        data = _emit_streamed(made) or data
    applied = tuple(dict.fromkeys(a for made in maps for a in made.fmap.applied))
    shape = image.shape if len(image.shape) == 3 and not gray else (*image.shape[:2], 1)
    name = image.name if isinstance(source, str) else "-"
    elapsed = (time.perf_counter() - start) * 1000
    return ImageResult(name, shape, image.mode, image.bit_depth, tuple(results), applied,
                       elapsed, data, settings.plan.label, settings.options.padding_mode,
                       settings.mapping == "auto")  # fmt: skip


def _emit_streamed(made: Streamed) -> bytes | None:
    """Write a map made in strips that was not written strip by strip."""
    spec, values = made.spec, made.fmap.values
    if spec.streamed:
        return None
    if spec.depth is None:
        return _emit_float(values, None, spec.output, spec.fmt)
    if spec.output == "-":
        return encode_image(values, format=spec.fmt)
    write_image(spec.output, values, format=spec.fmt)
    return None


def _shape(loaded: LoadedImage) -> tuple[int, ...]:
    shape = tuple(int(n) for n in loaded.pixels.shape)
    return shape if len(shape) == 3 else (*shape, 1)


def _write_map(
    fmap: FeatureMap, output: str, fmt: str, loaded: LoadedImage, settings: ApplySettings
) -> tuple[MapResult, bytes | None]:
    floats = fmt == "npy" or settings.mapping == "raw"
    mapping = "raw" if floats and settings.mapping == "auto" else settings.mapping
    values, report = map_values(
        fmap.values, mapping, max_value=loaded.max_value, kernel_sum=fmap.kernel_sum
    )
    if floats:
        data = _emit_float(values, fmap.alpha, output, fmt)
        return map_result(fmap, output, fmt, report, None), data
    if math.isnan(report.min):  # NaN has no pixel value; min is NaN only if one is there
        values = np.nan_to_num(values, nan=0.0)
    depth = output_depth(settings.depth, loaded.bit_depth, fmt, planes=_planes(fmap))
    data = _emit_pixels(values, fmap.alpha, depth, loaded.max_value, output, fmt)
    return map_result(fmap, output, fmt, report, depth), data


def _emit_float(
    values: np.ndarray, alpha: np.ndarray | None, output: str, fmt: str
) -> bytes | None:
    array = values.astype(np.float32, copy=False)
    if fmt == "npy":
        if output == "-":
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            return buffer.getvalue()
        write_npy(output, array)
        return None
    if fmt != "tiff":
        msg = f"{output}: --map raw keeps float values; only .tif and .npy can hold them"
        raise OutputError(msg)
    if output == "-":
        return encode_image(array, alpha=alpha, format=fmt)
    write_image(output, array, alpha=alpha, format=fmt)
    return None


def _emit_pixels(
    values: np.ndarray,
    alpha: np.ndarray | None,
    depth: int,
    max_value: float,
    output: str,
    fmt: str,
) -> bytes | None:
    pixels = to_pixels(values, depth, max_value=max_value)
    alpha_px = None if alpha is None else to_pixels(alpha, depth, max_value=max_value)
    if output == "-":
        return encode_image(pixels, alpha=alpha_px, format=fmt)
    write_image(output, pixels, alpha=alpha_px, format=fmt)
    return None
