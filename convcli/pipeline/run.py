"""File to file: read an image, filter it, map the values, write each feature map.

:func:`filter_image` returns an :class:`~convcli.pipeline.summary.ImageResult`, from
which the summary and the ``--json`` record are made.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from convcli.choices import Existing
from convcli.engine import check_finite
from convcli.errors import ImageError, OutputError
from convcli.geometry import dims
from convcli.io import (
    FORMATS,
    LoadedImage,
    encode_image,
    read_image,
    write_npy,
)
from convcli.io.atomic import write_bytes
from convcli.io.meta import ImageMeta, SaveOptions
from convcli.pipeline.filtering import AlphaMode, FeatureMap, apply_plan
from convcli.pipeline.luma import apply_luma
from convcli.pipeline.notes import gain_hint, output_warnings
from convcli.pipeline.plan import ConvOptions, FilterPlan
from convcli.pipeline.record import write_records
from convcli.pipeline.stream_run import filter_in_strips, output_depth
from convcli.pipeline.summary import ImageResult, MapResult, map_result
from convcli.values import map_values, to_pixels

if TYPE_CHECKING:  # frames are read and written by convcli.io.frames, imported for them only
    from convcli.io.frames import Animation


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
    record: bool = False  # write <output>.json replay records
    scale: float | None = None
    bias: float = 0.0
    save: SaveOptions = field(default_factory=SaveOptions)
    strip: bool = False
    frame: int | None = None
    existing: Existing = "overwrite"
    processes: int = 1  # processes sharing one image's strips (pipeline.shared)


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
        The format of each output (``png``, ``jpeg``, ``tiff``, ``webp``, ``gif``, ``bmp``,
        ``npy``); a file of several frames goes to formats that hold frames, or needs
        ``--frame``.
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
    streamed = filter_in_strips(source, outputs, formats, settings)
    if streamed is not None:
        return _recorded(streamed, source, settings)
    start = time.perf_counter()
    color = "keep" if settings.color == "luma" else settings.color
    loaded = read_image(source, color=color, max_pixels=settings.max_pixels,  # type: ignore[arg-type]
                        frame=settings.frame or 0)  # fmt: skip
    animation = None
    if loaded.frames > 1 and settings.frame is None:
        animation = _animation(source, loaded, formats, settings)
    runs = [_feature_maps(f, settings) for f in (animation.frames if animation else [loaded])]
    fmaps = runs[0]
    results, data = [], None
    for index, (output, fmt) in enumerate(zip(outputs, formats, strict=True)):
        maps = [run[index] for run in runs]
        result, encoded = _write_map(maps, output, fmt, loaded, settings, animation)
        results.append(result)
        data = encoded if encoded is not None else data
    elapsed = (time.perf_counter() - start) * 1000
    applied = tuple(dict.fromkeys(a for fmap in fmaps for a in fmap.applied))
    name = loaded.source if isinstance(source, str) else "-"
    image_result = ImageResult(
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
        loaded.frames,
        None if animation else loaded.frame,
    )
    return _recorded(image_result, source, settings)


def _recorded(result: ImageResult, source: str | bytes, settings: ApplySettings) -> ImageResult:
    """``result`` with its replay records written (``--record``)."""
    if not settings.record:
        return result
    return replace(result, records=write_records(result, source, settings))


def _animation(
    source: str | bytes, loaded: LoadedImage, formats: Sequence[str], settings: ApplySettings
) -> Animation:
    """Every frame of a file of several frames, or a refusal naming --frame."""
    single = sorted({f.upper() for f in formats if not FORMATS[f].frames})
    if single:
        msg = (
            f"{loaded.source}: has {loaded.frames} frames and {', '.join(single)} holds one; "
            f"pass --frame N (0..{loaded.frames - 1}) to filter one, or write .gif, .webp or .tif"
        )
        raise ImageError(msg)
    if settings.mapping == "raw":
        msg = f"{loaded.source}: --map raw writes the float values of one frame; pass --frame N"
        raise OutputError(msg)
    from convcli.io.frames import read_animation

    color = "keep" if settings.color == "luma" else settings.color
    return read_animation(source, color=color, max_pixels=settings.max_pixels)  # type: ignore[arg-type]


def _feature_maps(loaded: LoadedImage, settings: ApplySettings) -> list[FeatureMap]:
    """The feature maps of one image (or frame): every channel, or the luma only."""
    filter_pixels = partial(
        apply_plan,
        plan=settings.plan,
        options=settings.options,
        alpha=loaded.alpha,
        alpha_mode=settings.alpha_mode,
        alpha_max=loaded.max_value,
    )
    if loaded.bit_depth == 32:  # only float images can hold NaN/Inf: refused, never drawn
        check_finite(loaded.pixels, "image")
    if settings.color == "luma" and loaded.pixels.ndim == 3:
        maps = apply_luma(loaded.pixels, settings.plan.chain, filter_pixels)
    else:
        maps = filter_pixels(loaded.pixels)
    top = f"{np.finfo(np.float32).max:.3g}"
    for fmap in maps:
        check_finite(fmap.values, "the result", f"kernel × image values overflow float32 (±{top})")
    return maps


def _stacked(maps: Sequence[FeatureMap], name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The values (and alpha) of every frame's map, frames first."""
    shapes = sorted({dims(m.values.shape) for m in maps})
    if len(shapes) > 1:
        msg = f"{name}: its frames differ in size ({', '.join(shapes)}); pass --frame N"
        raise ImageError(msg)
    alphas = [m.alpha for m in maps]
    alpha = None if any(a is None for a in alphas) else np.stack(alphas)  # type: ignore[arg-type]
    return np.stack([m.values for m in maps]), alpha


def _shape(loaded: LoadedImage) -> tuple[int, ...]:
    shape = tuple(int(n) for n in loaded.pixels.shape)
    return shape if len(shape) == 3 else (*shape, 1)


def _write_map(
    maps: Sequence[FeatureMap],
    output: str,
    fmt: str,
    loaded: LoadedImage,
    settings: ApplySettings,
    animation: Animation | None,
) -> tuple[MapResult, bytes | None]:
    """Map and write one feature map (of every frame, one scale for all of them)."""
    fmap = maps[0]
    values, alpha = (
        (fmap.values, fmap.alpha) if animation is None else _stacked(maps, loaded.source)
    )
    floats = animation is None and (
        fmt == "npy" or settings.mapping == "raw" or _float_out(fmap, fmt, loaded, settings)
    )
    mapping = "raw" if floats and settings.mapping == "auto" else settings.mapping
    values, report = map_values(
        values,
        mapping,
        max_value=loaded.max_value,
        kernel_sum=fmap.kernel_sum,
        scale=settings.scale,
        bias=settings.bias,
    )
    depth = None
    meta = ImageMeta() if settings.strip else _strided(loaded.meta, fmap, settings.plan.chain)
    save = replace(settings.save, meta=meta)
    if floats:
        data = _emit_float(values, alpha, output, fmt, save, settings.existing)
    else:
        if math.isnan(report.min):  # NaN has no pixel value; min is NaN only if one is there
            values = np.nan_to_num(values, nan=0.0)
        depth = output_depth(settings.depth, loaded.bit_depth, fmt, planes=_planes(fmap))
        pixels = to_pixels(values, depth, max_value=loaded.max_value)
        alpha_px = None if alpha is None else to_pixels(alpha, depth, max_value=loaded.max_value)
        data = _emit(pixels, alpha_px, output, fmt, save, settings.existing, animation)
    has_alpha = fmap.alpha is not None
    chosen = loaded.bit_depth if settings.depth is None else depth  # --depth: no warning
    partial = alpha is not None and bool(np.any((alpha > 0) & (alpha < loaded.max_value)))
    notes = output_warnings(fmt=fmt, has_alpha=has_alpha, input_depth=chosen or 32, depth=depth,
                            partial_alpha=partial, exif_bytes=len(meta.exif or b""))  # fmt: skip
    notes += gain_hint(report, fmap.kernel_sum)
    keeps_alpha = has_alpha and FORMATS[fmt].alpha
    return map_result(fmap, output, fmt, report, depth, alpha=keeps_alpha, warnings=notes), data


def _strided(meta: ImageMeta, fmap: FeatureMap, chain: bool) -> ImageMeta:
    """The metadata of an output: a stride of ``s`` divides the DPI by ``s``.

    The picture keeps its printed size, with ``s`` times fewer pixels across.
    """
    if meta.dpi is None:
        return meta
    sy = sx = 1
    for step in fmap.applied if chain else fmap.applied[:1]:
        sy, sx = sy * step.geometry.stride[0], sx * step.geometry.stride[1]
    return replace(meta, dpi=(meta.dpi[0] / sx, meta.dpi[1] / sy))


def _float_out(fmap: FeatureMap, fmt: str, loaded: LoadedImage, settings: ApplySettings) -> bool:
    """Float in, float out: a float image under ``auto`` to a format that holds its floats."""
    if loaded.bit_depth != 32 or settings.mapping != "auto" or settings.depth is not None:
        return False
    if settings.scale is not None or settings.bias:
        return False
    single = fmap.values.ndim == 2 and fmap.alpha is None
    return 32 in FORMATS[fmt].depths and (FORMATS[fmt].float_colour or single)


def _emit_float(
    values: np.ndarray,
    alpha: np.ndarray | None,
    output: str,
    fmt: str,
    options: SaveOptions,
    existing: Existing,
) -> bytes | None:
    array = values.astype(np.float32, copy=False)
    if fmt == "npy":
        if output == "-":
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            return buffer.getvalue()
        write_npy(output, array, existing=existing)
        return None
    if fmt != "tiff":
        msg = f"{output}: --map raw keeps float values; only .tif and .npy can hold them"
        raise OutputError(msg)
    return _emit(array, alpha, output, fmt, options, existing)


def _emit(
    array: np.ndarray,
    alpha: np.ndarray | None,
    output: str,
    fmt: str,
    options: SaveOptions,
    existing: Existing,
    animation: Animation | None = None,
) -> bytes | None:
    """Encode for ``-`` (the bytes are returned) or write the file (frames first if animated)."""
    if animation is None:
        data = encode_image(array, alpha=alpha, format=fmt, options=options)
    else:
        from convcli.io.frames import encode_animation

        alphas = None if alpha is None or not FORMATS[fmt].alpha else list(alpha)
        data = encode_animation(list(array), alphas, FORMATS[fmt], animation, options)
    if output == "-":
        return data
    write_bytes(output, data, existing=existing)
    return None
