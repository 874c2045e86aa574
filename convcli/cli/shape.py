"""``convcli shape``: what shape comes out of a convolution or a CNN layer chain, and why.

Wiring only: parse, call :mod:`convcli.learn.inputs` and :mod:`convcli.learn.shapes`, print
with rich.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from convcli.cli.params import KERNEL_SPEC, geometry_options_without
from convcli.errors import ConvcliError, GeometryError
from convcli.geometry import Pair
from convcli.io.tiff import is_tiff, probe
from convcli.learn.inputs import shape_of
from convcli.learn.shapes import (
    LayerRow,
    ShapeReport,
    chain_dict,
    dims,
    fmt_pair,
    layer_chain,
    parse_layer,
    report_dict,
    shape_report,
    shape_warnings,
)
from convcli.learn.window import apply_padding
from convcli.pipeline.plan import ConvOptions, build_plan
from convcli.pipeline.split import NotSplit, PlanFigures, plan_lines, split_plan

_SIZE = re.compile(r"^\s*(\d+)(?:[x×](\d+))?\s*$", re.IGNORECASE)
_LOOKS_LIKE_SIZE = re.compile(r"^[\d\s,x×*]+$", re.IGNORECASE)
_CHAIN_COLUMNS = (
    "#",
    "layer",
    "input",
    "pads t,b,l,r",
    "output",
    "receptive field",
    "jump",
    "dropped rows,cols",
)


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


KERNEL_OR_SIZE = KernelOrSizeType()


@click.command("shape")
@click.argument("source", metavar="IMAGE|HxW[xC]")
@click.option(
    "-k",
    "--kernel",
    "kernels",
    type=KERNEL_OR_SIZE,
    multiple=True,
    help="A kernel size (7 or 7x3) or any --kernel spec (once).",
)
@click.option(
    "-l",
    "--layer",
    "layers",
    multiple=True,
    metavar="kKsSdDpP",
    help="A CNN layer like k7s2p3 or k3s1d2p2 (repeat for a chain; missing parts are s1, d1, p0).",
)
@geometry_options_without("cval", "method")
@click.option(
    "--plan",
    is_flag=True,
    help="Also show how apply --dask splits the image into strip tasks: the strips, halo "
    "rows and memory per task.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def shape(ctx: click.Context, source: str, **kw: Any) -> None:
    """Show the output shape of a convolution, and why (the formula with your numbers).

    \b
      convcli shape photo.png -k sobel_x               what apply would write
      convcli shape 224x224x3 -k 7 --stride 2 -p 3     sizes alone
      convcli shape 224x224x3 -l k7s2p3 -l k3s2p1      a CNN layer chain
      convcli shape huge.tif -k gaussian:sigma=3 --plan  strip tasks of apply --dask

    Images are read from their header only. The defaults are apply's (padding same,
    reflect), so shape predicts what apply writes. Sizes are printed height first:
    224×224×3.
    """
    kw["kernel"] = _one_kernel(kw.pop("kernels"))
    kw["source"] = source
    hwc, what = _source(source)
    try:
        _shape(ctx, hwc, what, kw)
    except GeometryError as exc:  # shape reads no pixels: every number came from the user
        raise click.UsageError(str(exc)) from None


def _one_kernel(kernels: tuple[Any, ...]) -> Any:
    if len(kernels) > 1:
        msg = f"give -k/--kernel once (or a --layer chain); got {len(kernels)}"
        raise click.UsageError(msg)
    return kernels[0] if kernels else None


def _source(source: str) -> tuple[tuple[int, int, int], str]:
    """The input's size; a mistyped size (no such file) is a usage error."""
    try:
        return shape_of(source)
    except ConvcliError as exc:
        if _LOOKS_LIKE_SIZE.match(source) and not Path(source).exists():
            raise click.UsageError(str(exc)) from None
        raise


def _shape(ctx: click.Context, hwc: tuple[int, int, int], what: str, kw: dict[str, Any]) -> None:
    if kw["plan"] and (kw["layers"] or kw["kernel"] is None or isinstance(kw["kernel"], tuple)):
        msg = "--plan needs -k with a kernel spec (its weights choose the engine's method)"
        raise click.UsageError(msg)
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


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _kernel_hw(kernel: Any) -> Pair:
    return kernel if isinstance(kernel, tuple) else (kernel.shape[0], kernel.shape[1])


def _kernel_words(kernel: Any) -> str:
    size = dims(_kernel_hw(kernel))
    return size if isinstance(kernel, tuple) else f"{size} ({kernel.name})"


def _shape_one(hwc: tuple[int, int, int], what: str, kw: dict[str, Any]) -> None:
    kernel = kw["kernel"]
    figures = _figures(hwc, kw) if kw["plan"] else None
    geometry = {key: kw[key] for key in ("stride", "padding", "dilation")}
    geometry["padding"] = apply_padding(kernel, hwc[:2], flip=kw["flip"], **geometry)
    report = shape_report(hwc, _kernel_hw(kernel), **geometry)
    if kw["as_json"]:
        info = {"source": what, "kernel": _kernel_words(kernel), **report_dict(report)}
        if info["padding"] is None and isinstance(kw["padding"], str):
            info["padding"] = kw["padding"]  # `same` placed by the kernel's anchor
        info["padding_mode"] = kw["padding_mode"]
        if figures is not None:
            info["plan"] = {**dataclasses.asdict(figures), "parts": dict(figures.parts)}
        click.echo(json.dumps(info))
        return
    _print_report(report, what, kernel, kw)
    if figures is not None:
        _print_plan(figures, kw)


def _figures(hwc: tuple[int, int, int], kw: dict[str, Any]) -> PlanFigures:
    """How ``apply --dask`` would split the image (read from its header) into strip tasks."""
    shape = hwc[:2] if hwc[2] == 1 else hwc
    options = ConvOptions(kw["stride"], kw["padding"], kw["padding_mode"], 0.0,
                          kw["dilation"], kw["flip"])  # fmt: skip
    plan = build_plan([kw["kernel"]])
    return split_plan(shape, _bit_depth(kw["source"]), plan, options)


def _bit_depth(source: str) -> int:
    """The TIFF's bits per sample; 8 for a size (apply --dask splits TIFF files only)."""
    if not Path(source).is_file():
        return 8
    layout = probe(source) if is_tiff(source) else None
    if layout is None:
        msg = f"{source}: apply --dask splits TIFF images (read by tifffile) into strip tasks only"
        raise NotSplit(msg)
    return layout.bit_depth


def _print_plan(figures: PlanFigures, kw: dict[str, Any]) -> None:
    stride = kw["stride"] if isinstance(kw["stride"], int) else kw["stride"][0]
    console = _console()
    for name, value in plan_lines(figures, stride):
        console.print(f"{name:<9}{value}", markup=False)


def _print_report(report: ShapeReport, what: str, kernel: Any, kw: dict[str, Any]) -> None:
    g = report.geometry
    (top, bottom), (left, right) = g.pads
    word = f"{g.padding_word} -> " if g.padding_word else ""
    if not g.padding_word and kw["padding"] == "same":
        word = "same (placed by the kernel's anchor) -> "
    pads = f"top {top}, bottom {bottom}, left {left}, right {right} ({kw['padding_mode']})"
    rows = [
        ("input", f"{dims(report.input_hwc)}  [{what}]"),
        ("kernel", _kernel_words(kernel)),
        ("stride", fmt_pair(g.stride)),
        ("dilation", fmt_pair(g.dilation)),
        ("padding", f"{word}{pads}"),
        ("output", dims(report.output_hwc)),
    ]
    console = _console()
    for name, value in rows:
        console.print(f"{name:<9}{value}", markup=False)
    for formula in report.formulas:
        console.print(f"  {formula}", markup=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False)


def _shape_chain(hwc: tuple[int, int, int], what: str, kw: dict[str, Any]) -> None:
    try:
        specs = [parse_layer(text) for text in kw["layers"]]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--layer'") from None
    rows = layer_chain(hwc[:2], specs)
    if kw["as_json"]:
        click.echo(json.dumps({"source": what, **chain_dict(hwc, rows)}))
        return
    console = _console()
    console.print(f"input {dims(hwc)}  [{what}]", markup=False)
    console.print(_chain_table(rows))
    for row in rows:
        for warning in shape_warnings(row.geometry):
            console.print(
                f"warning: layer {row.index} ({row.spec.text}): {warning}",
                style="yellow",
                markup=False,
            )


def _chain_table(rows: list[LayerRow]) -> Table:
    table = Table(box=None, pad_edge=False)
    for title in _CHAIN_COLUMNS:
        table.add_column(title, justify="left" if title == "layer" else "right")
    for row in rows:
        g = row.geometry
        table.add_row(
            str(row.index),
            row.spec.text,
            dims(g.input_hw),
            ",".join(str(p) for pair in g.pads for p in pair),
            dims(g.output_hw),
            dims(row.receptive_field),
            fmt_pair(row.jump),
            f"{row.dropped[0]},{row.dropped[1]}",
        )
    return table
