"""``convcli shape``, ``convcli explain`` and ``convcli gallery``: the learning tools.

Wiring only: parse, call :mod:`convcli.layers`, :mod:`convcli.explain` and
:mod:`convcli.gallery`, print with rich.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from convcli.cli.params import KERNEL_SPEC, geometry_options

if TYPE_CHECKING:
    from rich.console import Console

    from convcli.explain import Setup
    from convcli.kernels import Kernel, KernelBank
    from convcli.layers import ShapeReport

_SIZE = re.compile(r"^\s*(\d+)(?:x(\d+))?\s*$", re.IGNORECASE)


class KernelOrSizeType(click.ParamType):
    """``N`` or ``HxW`` (a kernel size), or any ``--kernel`` spec."""

    name = "N|HxW|SPEC"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """A ``(kh, kw)`` tuple for sizes; otherwise the parsed kernel or bank."""
        if not isinstance(value, str):
            return value
        match = _SIZE.match(value)
        if match is None:
            return KERNEL_SPEC.convert(value, param, ctx)
        kh = int(match[1])
        kw = int(match[2] or kh)
        if min(kh, kw) < 1:
            self.fail(f"kernel size {value!r} must be >= 1", param, ctx)
        return (kh, kw)


class PositionType(click.ParamType):
    """``ROW,COL``: an output position, each >= 0."""

    name = "ROW,COL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse to a ``(row, col)`` tuple."""
        if isinstance(value, tuple):
            return value
        parts = str(value).replace(" ", "").split(",")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
            self.fail(f"{value!r} is not ROW,COL (two whole numbers >= 0, e.g. 2,3)", param, ctx)
        return (int(parts[0]), int(parts[1]))


KERNEL_OR_SIZE = KernelOrSizeType()
POSITION = PositionType()


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _geometry_kw(kw: dict[str, Any]) -> dict[str, Any]:
    return {key: kw[key] for key in ("stride", "padding", "dilation")}


def _kernel_hw(kernel: Any) -> tuple[int, int]:
    return kernel if isinstance(kernel, tuple) else tuple(kernel.shape)


def _kernel_words(kernel: Any) -> str:
    kh, kw = _kernel_hw(kernel)
    return f"{kh}x{kw}" if isinstance(kernel, tuple) else f"{kh}x{kw} ({kernel.name})"


# ---------------------------------------------------------------- shape


@click.command("shape")
@click.argument("source", metavar="IMAGE|HxW[xC]")
@click.option(
    "-k",
    "--kernel",
    type=KERNEL_OR_SIZE,
    default=None,
    help="A kernel size (7 or 7x3) or any --kernel spec.",
)
@click.option(
    "-l",
    "--layer",
    "layers",
    multiple=True,
    metavar="kKsSdDpP",
    help="A CNN layer like k7s2p3 or k3s1d2p2 (repeat for a chain; missing parts are s1, d1, p0).",
)
@geometry_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def shape(ctx: click.Context, source: str, **kw: Any) -> None:
    """Show the output shape of a convolution, and why (the formula with your numbers).

    \b
      convcli shape photo.png -k sobel_x               what apply would write
      convcli shape 224x224x3 -k 7 --stride 2 -p 3     sizes alone
      convcli shape 224x224x3 -l k7s2p3 -l k3s2p1      a CNN layer chain

    Images are read from their header only. The defaults are apply's (padding same,
    reflect), so shape predicts what apply writes.
    """
    from convcli.explain import shape_of

    hwc, what = shape_of(source)
    if kw["layers"]:
        _check_layer_options(ctx, kw)
        _shape_chain(hwc, what, kw)
    elif kw["kernel"] is None:
        msg = "give -k/--kernel (a size like 7 or any spec) or --layer"
        raise click.UsageError(msg)
    else:
        _shape_one(hwc, what, kw)


def _check_layer_options(ctx: click.Context, kw: dict[str, Any]) -> None:
    if kw["kernel"] is not None:
        msg = "give -k/--kernel or --layer, not both"
        raise click.UsageError(msg)
    for name in ("stride", "padding", "dilation"):
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            msg = f"--{name} applies to -k; with --layer write it in each layer (e.g. k3s2d2p1)"
            raise click.UsageError(msg)


def _shape_one(hwc: tuple[int, int, int], what: str, kw: dict[str, Any]) -> None:
    from convcli.explain import apply_padding
    from convcli.layers import report_dict, shape_report

    kernel = kw["kernel"]
    geometry = _geometry_kw(kw)
    geometry["padding"] = apply_padding(kernel, hwc[:2], flip=kw["flip"], **geometry)
    report = shape_report(hwc, _kernel_hw(kernel), **geometry)
    if kw["as_json"]:
        info = {"source": what, "kernel": _kernel_words(kernel), **report_dict(report)}
        if info["padding"] is None and isinstance(kw["padding"], str):
            info["padding"] = kw["padding"]  # `same` placed by the kernel's anchor
        info["padding_mode"] = kw["padding_mode"]
        click.echo(json.dumps(info))
        return
    _print_report(report, what, kernel, kw)


def _print_report(report: ShapeReport, what: str, kernel: Any, kw: dict[str, Any]) -> None:
    g = report.geometry
    (top, bottom), (left, right) = g.pads
    word = f"{g.padding_word} -> " if g.padding_word else ""
    if not g.padding_word and kw["padding"] == "same":
        word = "same (placed by the kernel's anchor) -> "
    console = _console()
    rows = [
        ("input", f"{_dims(report.input_hwc)}  [{what}]"),
        ("kernel", _kernel_words(kernel)),
        ("stride", _pair(g.stride)),
        ("dilation", _pair(g.dilation)),
        (
            "padding",
            f"{word}top {top}, bottom {bottom}, left {left}, right {right} ({kw['padding_mode']})",
        ),
        ("output", _dims(report.output_hwc)),
    ]
    for name, value in rows:
        console.print(f"{name:<9}{value}", markup=False)
    for formula in report.formulas:
        console.print(f"  {formula}", markup=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _pair(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _shape_chain(hwc: tuple[int, int, int], what: str, kw: dict[str, Any]) -> None:
    from convcli.layers import chain_dict, layer_chain, parse_layer, shape_warnings

    try:
        specs = [parse_layer(text) for text in kw["layers"]]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--layer'") from None
    rows = layer_chain(hwc[:2], specs)
    if kw["as_json"]:
        click.echo(json.dumps({"source": what, **chain_dict(hwc, rows)}))
        return
    console = _console()
    console.print(f"input {_dims(hwc)}  [{what}]", markup=False)
    console.print(_chain_table(rows))
    for row in rows:
        for warning in shape_warnings(row.geometry):
            console.print(
                f"warning: layer {row.index} ({row.spec.text}): {warning}",
                style="yellow",
                markup=False,
            )


def _chain_table(rows: list[Any]) -> Any:
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for title in (
        "#",
        "layer",
        "input",
        "pads t,b,l,r",
        "output",
        "receptive field",
        "jump",
        "dropped rows,cols",
    ):
        table.add_column(title, justify="left" if title == "layer" else "right")
    for row in rows:
        g = row.geometry
        table.add_row(
            str(row.index),
            row.spec.text,
            _dims(g.input_hw),
            ",".join(str(p) for pair in g.pads for p in pair),
            _dims(g.output_hw),
            _dims(row.receptive_field),
            _pair(row.jump),
            f"{row.dropped[0]},{row.dropped[1]}",
        )
    return table


# ---------------------------------------------------------------- explain


def _check_gif_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The --gif file must be named ``*.gif``: a GIF is what gets written (never stdout)."""
    if value is not None and not value.lower().endswith(".gif"):
        msg = f"{value!r} does not end in .gif; expected the name of the GIF file to write"
        raise click.BadParameter(msg, ctx, param)
    return value


@click.command("explain")
@click.argument("source", metavar="INPUT")
@click.option("-k", "--kernel", type=KERNEL_SPEC, required=True, help="Any --kernel spec.")
@geometry_options
@click.option(
    "--at", "at", type=POSITION, default=None, help="Explain the output value at ROW,COL."
)
@click.option("--steps", is_flag=True, help="Walk through every output position.")
@click.option(
    "--gif",
    "gif",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_check_gif_name,
    help="Also write an animated GIF of the sliding window to this file (.gif).",
)
def explain(source: str, **kw: Any) -> None:
    """Show the multiply-adds behind convolution outputs, number by number.

    \b
      convcli explain grid.txt -k sobel_x                 the whole grid (up to 12x12)
      convcli explain grid.txt -k sobel_x --at 2,3        one output value
      convcli explain grid.txt -k box:3 --stride 2 --steps
      convcli explain grid.txt -k sobel_x -d 2 --gif s.gif

    INPUT is a text matrix (rows of numbers), a .npy or an image (turned gray; a crop
    around the window is shown). Geometry defaults are apply's: padding same, reflect.
    """
    from convcli.explain import load_input, write_gif

    learn = load_input(source)
    setup = _setup(learn.values, _one_kernel(kw["kernel"]), kw)
    _check_explain(setup, learn.source, kw)
    console = _console()
    _print_heading(console, setup, learn.source, learn.note, kw["kernel"], kw["padding"])
    if kw["gif"]:
        info = write_gif(kw["gif"], setup)
        console.print(
            f"wrote {info.path}: {info.frames} frames, {info.size[0]}x{info.size[1]}", markup=False
        )
    if kw["at"] is not None:
        _print_position(console, setup, kw["at"])
    elif not _too_big(setup):
        _print_overview(console, setup, kw["steps"])


def _too_big(setup: Setup) -> bool:
    from convcli.explain import SMALL_GRID

    return max(setup.geometry.input_hw) > SMALL_GRID


def _check_explain(setup: Setup, source: str, kw: dict[str, Any]) -> None:
    from convcli.explain import SMALL_GRID, check_animatable, check_position

    if kw["at"] is not None:
        check_position(setup.geometry, kw["at"])
    if kw["gif"]:
        check_animatable(setup)
    if kw["at"] is None and _too_big(setup) and (kw["steps"] or not kw["gif"]):
        h, w = setup.geometry.input_hw
        msg = (
            f"{source} is {h}x{w}; whole grids and --steps are shown up to "
            f"{SMALL_GRID}x{SMALL_GRID}: give --at ROW,COL"
        )
        raise click.UsageError(msg)


def _one_kernel(spec: Kernel | KernelBank) -> Kernel:
    from convcli.kernels import KernelBank

    if isinstance(spec, KernelBank):
        names = ", ".join(k.name for k in spec.kernels)
        msg = f"explain takes one kernel; {spec.name} is a bank of {names}: give one of them"
        raise click.BadParameter(msg, param_hint="'-k' / '--kernel'")
    return spec


def _setup(values: Any, kernel: Kernel, kw: dict[str, Any]) -> Setup:
    from convcli.explain import apply_padding, prepare

    geometry = _geometry_kw(kw)
    geometry["padding"] = apply_padding(kernel, values.shape, flip=kw["flip"], **geometry)
    mode = kw["padding_mode"]
    return prepare(
        values,
        kernel.weights,
        kernel_name=kernel.name,
        padding_mode=mode,
        cval=kw["cval"],
        flip=kw["flip"],
        **geometry,
    )


def _print_heading(
    console: Console, setup: Setup, source: str, note: str, kernel: Kernel, padding: object
) -> None:
    from convcli.explain import describe_setup, fmt

    console.print(f"{source}" + (f" ({note})" if note else ""), style="bold", markup=False)
    console.print(describe_setup(setup), markup=False)
    if kernel.anchor is not None and padding == "same":
        console.print(
            f"note: these pads are apply's 'same' placed by {kernel.name}'s anchor "
            f"{kernel.anchor} (explicit pads ignore the anchor)",
            markup=False,
        )
    if kernel.offset:
        console.print(
            f"note: apply adds the kernel's offset {fmt(kernel.offset)} to every value;"
            " the sums below do not include it",
            markup=False,
        )


def _print_position(console: Console, setup: Setup, at: tuple[int, int]) -> None:
    from convcli.explain import explain_at, format_position

    console.print(_styled(format_position(setup, explain_at(setup, at))))


def _print_overview(console: Console, setup: Setup, steps: bool) -> None:
    from convcli.explain import explain_at, format_overview, format_step

    console.print(_styled(format_overview(setup)))
    if steps:
        console.print("steps:", style="bold", markup=False)
        for at in setup.positions():
            console.print(format_step(explain_at(setup, at)), markup=False)


def _styled(text: str) -> Any:
    """Headings bold, padding cells dim yellow, window taps bold."""
    from rich.text import Text

    styled = Text(text)
    styled.highlight_regex(re.compile(r"^\S.*:$", re.MULTILINE), "bold")
    styled.highlight_regex(r"-?[\d.e+]+\*", "yellow")
    styled.highlight_regex(r"\[[^\]\n]*\]", "bold cyan")
    return styled


# ---------------------------------------------------------------- gallery


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
    """
    from convcli.gallery import build_gallery, write_gallery
    from convcli.images import read_image
    from convcli.kernels import load_library

    loaded = read_image(image)
    specs = list(kernels) or load_library()
    sheet = build_gallery(
        loaded.pixels,
        specs,
        max_value=loaded.max_value,
        tile_size=tile_size,
        columns=columns,
        title=f"{image}: filtered gray copy, padding same, reflect",
    )
    write_gallery(output, sheet)
    w, h = sheet.image.size
    tw, th = sheet.tile_size
    _console().print(
        f"wrote {output}: {len(sheet.tiles)} tiles ({sheet.columns} columns, "
        f"{tw}x{th} each), {w}x{h}",
        markup=False,
    )
