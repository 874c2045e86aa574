"""``apply``'s option bundles for values and files: how responses become pixels, and what
the written files keep and how they are encoded."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from convcli.choices import VALUE_MAPPINGS
from convcli.io.meta import COMPRESSIONS, DEFAULT_QUALITY, SaveOptions

F = TypeVar("F", bound=Callable[..., Any])

MAPPING_HELP = (
    "Feature map -> pixels: auto (clip; for kernels summing to 0, abs scaled so the 99.5th "
    "percentile is white), clip, abs, normalize (min-max to full range), offset (mid-grey "
    "is zero), raw (.tif/.npy only)."
)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        msg = f"{value} is not a finite number"
        raise click.BadParameter(msg, ctx, param)
    return value


def _stack(fn: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def value_options(fn: F) -> F:
    """Add --map, --scale, --bias and --normalize."""
    return _stack(fn, [
        click.option("--map", "mapping", type=click.Choice(VALUE_MAPPINGS), default="auto",
                     show_default=True, help=MAPPING_HELP),
        click.option("--scale", type=float, default=None, callback=_finite,
                     help="Multiply the response by S before mapping (replaces auto's gain). "
                     "[default: 1]"),
        click.option("--bias", type=float, default=0.0, callback=_finite,
                     help="Add B to the response (after --scale). [default: 0]"),
        click.option("--normalize", is_flag=True,
                     help="Divide each kernel by its sum (an error for a kernel summing to 0)."),
    ])  # fmt: skip


def file_options(fn: F) -> F:
    """Add --quality, --lossless, --compression, --strip and --frame."""
    return _stack(fn, [
        click.option("--quality", type=click.IntRange(1, 100), default=None,
                     help=f"JPEG and WebP quality. [default: {DEFAULT_QUALITY}, OpenCV's "
                     "JPEG default]"),
        click.option("--lossless", is_flag=True,
                     help="Lossless WebP (--quality is then the effort)."),
        click.option("--compression", type=click.Choice(COMPRESSIONS), default=None,
                     help="TIFF compression. [default: none, as libvips and ImageMagick]"),
        click.option("--strip", is_flag=True,
                     help="Drop the input's ICC profile, EXIF and DPI."),
        click.option("--frame", type=click.IntRange(min=0), default=None,
                     help="The frame (from 0) of an animated GIF/WebP or multi-page TIFF to "
                     "filter. [default: every frame, where the output holds frames]"),
    ])  # fmt: skip


def save_options(kw: dict[str, Any]) -> SaveOptions:
    """The encoding the options ask for (metadata is filled in per image)."""
    return SaveOptions(quality=kw["quality"] or DEFAULT_QUALITY, lossless=kw["lossless"],
                       compression=kw["compression"] or "none")  # fmt: skip


def check_encoding(formats: set[str], kw: dict[str, Any]) -> None:
    """--quality, --lossless and --compression only with outputs they act on."""
    for option, needs in (("quality", {"jpeg", "webp"}), ("lossless", {"webp"}),
                          ("compression", {"tiff"})):  # fmt: skip
        if kw[option] and not formats & needs:
            listed = " or ".join(sorted(needs))
            msg = (
                f"--{option} acts on {listed} output; the outputs are {', '.join(sorted(formats))}"
            )
            raise click.UsageError(msg)
