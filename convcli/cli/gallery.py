"""``convcli gallery``: one contact sheet of an image filtered by many kernels.

Wiring only: read the image, call :mod:`convcli.learn.gallery`, print what was written.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from convcli.cli.params import KERNEL_SPEC
from convcli.io import read_image
from convcli.kernels import load_library
from convcli.learn.gallery import build_gallery, write_gallery
from convcli.learn.shapes import dims


@click.command("gallery")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The contact sheet to write (.png, .jpg, ...).",
)
@click.option(
    "-k",
    "--kernel",
    "kernels",
    type=KERNEL_SPEC,
    multiple=True,
    help="Kernels to show (repeat). [default: the whole library]",
)
@click.option(
    "--tile-size",
    type=click.IntRange(min=16, max=1024),
    default=256,
    show_default=True,
    help="Longer side of each tile, in pixels.",
)
@click.option(
    "--columns",
    type=click.IntRange(min=1),
    default=None,
    help="Tiles per row. [default: about square, at most 6]",
)
def gallery(
    image: str, output: str, kernels: tuple[Any, ...], tile_size: int, columns: int | None
) -> None:
    """Write one picture of IMAGE filtered by every library kernel (or those given).

    \b
      convcli gallery photo.png -o sheet.png
      convcli gallery photo.png -o edges.png -k sobel_x -k sobel_y -k laplacian_4

    Each tile is labelled with the kernel's name. Edge responses (zero-sum kernels) use a
    diverging colour map, blue negative, white zero, red positive, explained in a legend.
    Sizes are printed height×width.
    """
    loaded = read_image(image)
    frame = f" (frame 0 of {loaded.frames})" if loaded.frames > 1 else ""
    specs = list(kernels) or load_library()
    sheet = build_gallery(
        loaded.pixels,
        specs,
        max_value=loaded.max_value,
        tile_size=tile_size,
        columns=columns,
        title=f"{image}{frame}: filtered gray copy, padding same, reflect",
    )
    write_gallery(output, sheet)
    Console(highlight=False, soft_wrap=True).print(
        f"wrote {output}: {len(sheet.tiles)} tiles ({sheet.columns} columns, "
        f"{dims(sheet.tile_hw)} each), {dims(sheet.hw)}{frame}",
        markup=False,
    )
