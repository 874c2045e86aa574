"""When ``apply`` takes the strip pipeline, and one image through it to its result.

:func:`filter_in_strips` gives the :class:`~convcli.pipeline.summary.ImageResult` of an
image filtered in strips (:mod:`~convcli.pipeline.stream`), or None: the whole-image path
then runs. Strips are taken only where they give what the whole-image path gives (the
same pixels, metadata, warnings, summary and ``existing`` policy): an integer image of one
frame, kept or gray colour (alpha kept or filtered with kept colour, unless a TIFF holds it
premultiplied or beside 16-bit gray), a plan without a chain, no EXIF (TIFF rows are read
as stored, not turned upright; tifffile writes no EXIF), and outputs that are PNG or
uncompressed TIFF files of integer pixels, written strip by strip, or JPEG, WebP and BMP
files, whose pixels are gathered whole and encoded at the end. The ICC profile, EXIF and DPI
are carried as the whole-image path carries them. Every other case (such a TIFF's alpha,
frames, ``--color luma``, float images, ``-o -``, ``.npy``, ``raw``, GIF,
``--compression``) falls back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING

from convcli.errors import OutputError
from convcli.geometry import working_geometry
from convcli.io import FORMATS, holds_16bit
from convcli.io.meta import ImageMeta, save_arguments
from convcli.io.rows import RowImage, open_rows
from convcli.io.tiff_write import exif_tags
from convcli.io.write import png_meta_chunks, write_image
from convcli.pipeline.filtering import alpha_weighted
from convcli.pipeline.notes import gain_hint, output_warnings
from convcli.pipeline.stream import (
    AlphaWork,
    OutputSpec,
    all_geometries,
    can_stream,
    first_geometry,
    kernel_sums,
    output_spec,
    planes_of,
    stream_maps,
)
from convcli.pipeline.strip_targets import Streamed
from convcli.pipeline.summary import ImageResult, map_result

if TYPE_CHECKING:
    from convcli.pipeline.run import ApplySettings

_STREAMED_FORMATS = ("png", "tiff")
_ENCODED_FORMATS = ("jpeg", "webp", "bmp")
"""Formats whose pixels are gathered strip by strip and encoded whole at the end (their
codecs take a whole image): no float map of the image is held, only its pixels."""


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


def _settings_stream(
    outputs: Sequence[str], formats: Sequence[str], settings: ApplySettings
) -> bool:
    """Whether the settings and outputs allow strips at all (before opening the file)."""
    if settings.plan.chain or settings.color not in ("keep", "gray") or settings.frame:
        return False
    if settings.save.compression != "none" or settings.mapping == "raw":
        return False
    return all(
        fmt in (*_STREAMED_FORMATS, *_ENCODED_FORMATS) and output != "-"
        for output, fmt in zip(outputs, formats, strict=True)
    )


def filter_in_strips(
    source: str | bytes,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
) -> ImageResult | None:
    """The image filtered in strips and written, or None where the whole-image path runs.

    Raises
    ------
    ConvcliError
        As the whole-image path.
    """
    start = time.perf_counter()
    if not _settings_stream(outputs, formats, settings):
        return None
    if isinstance(source, str) and source.lower().endswith(".npy"):  # values, not pixels
        return None
    drop = settings.alpha_mode == "drop"
    image = open_rows(source, max_pixels=settings.max_pixels, drop_alpha=drop,
                      keep_alpha=settings.color == "keep")  # fmt: skip
    if image is None:
        return None
    with closing(image):
        gray = settings.color == "gray"
        color = "gray" if gray or len(image.shape) == 2 else "rgb"
        if not image_streams(image, formats, settings):
            return None
        kept = ImageMeta() if settings.strip else image.meta
        specs = output_specs(image, outputs, formats, settings, kept, color)
        if specs is None:
            return None
        alpha = None
        if image.alpha and settings.alpha_mode != "drop":
            weigh = alpha_weighted(settings.plan, image.lowest_alpha(), image.max_value)
            alpha = AlphaWork(settings.alpha_mode, weigh)
        maps = stream_maps(image, settings.plan, settings.options, specs, gray=gray,
                           max_pixels=settings.max_pixels, alpha=alpha,
                           processes=settings.processes)  # fmt: skip
    for made in maps:
        if not made.spec.streamed:
            _write_encoded(made)
    name = image.name if isinstance(source, str) else "-"
    return strip_result(image, maps, settings, name, start)


def strip_result(
    image: RowImage, maps: Sequence[Streamed], settings: ApplySettings, name: str, start: float
) -> ImageResult:
    """The result of ``image`` filtered in strips into ``maps`` (``start``: perf_counter)."""
    gray = settings.color == "gray"
    results = []
    for made in maps:
        depth = made.spec.depth
        chosen = image.bit_depth if settings.depth is None else depth  # --depth: no warning
        # partial alpha is noted for GIF only, which is not written in strips
        exif = None if settings.strip else image.meta.exif
        notes = output_warnings(fmt=made.spec.fmt, has_alpha=image.alpha,
                                input_depth=chosen or 32, depth=depth,
                                exif_bytes=len(exif or b""))  # fmt: skip
        notes += gain_hint(made.report, made.fmap.kernel_sum)
        keeps_alpha = image.alpha and FORMATS[made.spec.fmt].alpha
        results.append(map_result(made.fmap, made.spec.output, made.spec.fmt, made.report, depth,
                                  alpha=keeps_alpha, warnings=notes))  # fmt: skip
    applied = tuple(dict.fromkeys(a for made in maps for a in made.fmap.applied))
    shape = image.shape if len(image.shape) == 3 and not gray else (*image.shape[:2], 1)
    elapsed = (time.perf_counter() - start) * 1000
    return ImageResult(name, shape, image.mode, image.bit_depth, tuple(results), applied,
                       elapsed, None, settings.plan.label, settings.options.padding_mode,
                       1, 0)  # fmt: skip


def image_streams(image: RowImage, formats: Sequence[str], settings: ApplySettings) -> bool:
    """Whether strips of ``image`` give what the whole-image path gives."""
    if image.frames != 1 or image.bit_depth not in (8, 16):
        return False
    # tifffile reads rows as stored (not turned upright), and writes EXIF text tags only
    if not image.upright:
        return False
    for kernel_geometry in all_geometries(settings.plan, image, settings.options):
        # the engine's size check of a strip (its padded rows), before any output: one
        # output row's padded rows are too wide where any strip's would be
        working_geometry(kernel_geometry, rows=(0, min(1, kernel_geometry.output_hw[0])))
    exif = image.meta.exif
    if exif and "tiff" in formats and not settings.strip and exif_tags(exif) is None:
        return False
    return can_stream(settings.plan, image, settings.options)


def output_specs(
    image: RowImage,
    outputs: Sequence[str],
    formats: Sequence[str],
    settings: ApplySettings,
    meta: ImageMeta,
    color: str,
) -> list[OutputSpec] | None:
    """Each output's spec with the metadata its strip writer keeps; None if one cannot stream.

    Raises
    ------
    OutputError
        ``--depth 16`` for a format of 8-bit samples.
    """
    planes = planes_of(image, settings.color == "gray") + image.alpha
    specs = []
    for output, fmt, ksum in zip(outputs, formats, kernel_sums(settings.plan), strict=True):
        depth = output_depth(settings.depth, image.bit_depth, fmt, planes=planes)
        spec = output_spec(output, fmt, settings.mapping, ksum, depth, scale=settings.scale,
                           bias=settings.bias, existing=settings.existing)  # fmt: skip
        if not spec.streamed and fmt not in _ENCODED_FORMATS:
            return None
        dpi = _strided_dpi(meta, settings, image)
        options = replace(settings.save, meta=replace(meta, dpi=dpi))
        args = save_arguments(FORMATS[fmt].pillow or "", options, color)
        if fmt == "png":
            save: dict[str, object] = {"chunks": png_meta_chunks(args)}
        elif fmt == "tiff":
            save = {"save": args, "alpha": image.alpha}
        else:
            save = {"options": options}
        specs.append(replace(spec, writer_args=save))
    return specs


def _write_encoded(made: Streamed) -> None:
    """Encode the pixels of a map gathered whole (JPEG, WebP, BMP) and write its file, as the
    whole-image path does."""
    spec, fmap = made.spec, made.fmap
    write_image(spec.output, fmap.values, alpha=fmap.alpha, format=spec.fmt,
                options=spec.writer_args["options"], existing=spec.existing)  # fmt: skip


def _strided_dpi(
    meta: ImageMeta, settings: ApplySettings, image: RowImage
) -> tuple[float, float] | None:
    """A stride of ``s`` divides the DPI by ``s`` (as the whole-image path's ``_strided``)."""
    if meta.dpi is None:
        return None
    geometry = first_geometry(settings.plan, image, settings.options)
    return (meta.dpi[0] / geometry.stride[1], meta.dpi[1] / geometry.stride[0])
