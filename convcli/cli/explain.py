"""``convcli explain``: the multiply-adds behind convolution outputs, number by number.

Wiring only: parse, call :mod:`convcli.learn.inputs`, :mod:`convcli.learn.window`,
:mod:`convcli.learn.text` and :mod:`convcli.learn.animation`, print with rich.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from convcli.cli.emitting import command_line, emit_option, emitted, labelled
from convcli.cli.params import KERNEL_SPEC, geometry_options_without
from convcli.errors import ConvcliError
from convcli.kernels import Kernel, KernelBank
from convcli.learn.animation import check_animatable, write_gif
from convcli.learn.inputs import load_input
from convcli.learn.page import write_page
from convcli.learn.shapes import dims
from convcli.learn.text import (
    SMALL_GRID,
    describe_setup,
    fmt,
    format_overview,
    format_position,
    format_step,
)
from convcli.learn.window import Setup, apply_padding, check_position, explain_at, prepare
from convcli.pipeline import build_plan

_HEADING = re.compile(r"^\S.*:$", re.MULTILINE)


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


POSITION = PositionType()


def _named(*suffixes: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A callback requiring a file name ending in one of ``suffixes`` (never stdout)."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not value.lower().endswith(suffixes):
            what = suffixes[0][1:].upper()
            msg = (
                f"{value!r} does not end in {suffixes[0]}; "
                f"expected the name of the {what} file to write"
            )
            raise click.BadParameter(msg, ctx, param)
        return value

    return check


@click.command("explain")
@click.argument("source", metavar="INPUT")
@click.option("-k", "--kernel", type=KERNEL_SPEC, required=True, help="Any --kernel spec.")
@geometry_options_without("method")
@click.option(
    "--at", "at", type=POSITION, default=None, help="Explain the output value at ROW,COL."
)
@click.option("--steps", is_flag=True, help="Walk through every output position.")
@click.option(
    "--gif",
    "gif",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_named(".gif"),
    help="Also write an animated GIF of the sliding window to this file (.gif); "
    "its size is printed height×width.",
)
@click.option(
    "--html",
    "html",
    type=click.Path(dir_okay=False),
    default=None,
    callback=_named(".html", ".htm"),
    help="Also write one self-contained HTML page (.html) to explore every position: "
    "point at an output cell, step with the arrow keys, play the slide.",
)
@emit_option
def explain(source: str, **kw: Any) -> None:
    """Show the multiply-adds behind convolution outputs, number by number.

    \b
      convcli explain grid.txt -k sobel_x                 the whole grid (up to 12×12)
      convcli explain grid.txt -k sobel_x --at 2,3        one output value
      convcli explain grid.txt -k box:3 --stride 2 --steps
      convcli explain grid.txt -k sobel_x -d 2 --gif s.gif
      convcli explain photo.png -k sobel_x --html page.html

    INPUT is a text matrix (rows of numbers), a .npy or an image (turned gray; a crop
    around the window is shown). Geometry defaults are apply's: padding same, reflect.
    """
    learn = load_input(source)
    kernel = _one_kernel(kw["kernel"])
    plan = build_plan([kernel])
    command = command_line("explain", learn.source, (kw["kernel"],), kw)
    color = "gray" if learn.kind == "image" else "keep"  # explain turns images gray
    if kw["emit"]:
        _check_emit_alone(kw)
        program = emitted(plan, learn.values.shape, learn.source, command, kw, color=color,
                          libraries=(kw["emit"],))[kw["emit"]]  # fmt: skip
        click.echo(program, nl=False)
        return
    setup = _setup(learn.values, kernel, kw)
    _check_explain(setup, learn.source, kw)
    console = Console(highlight=False, soft_wrap=True)
    heading = _heading(setup, learn.source, learn.note, kw["kernel"], kw["padding"])
    page = ""
    if kw["html"]:
        programs = labelled(
            emitted(plan, learn.values.shape, learn.source, command, kw, color=color)
        )
        page = _write_page(kw["html"], setup, kw["at"], heading, programs)
    console.print(heading[0], style="bold", markup=False)
    console.print("\n".join(heading[1:]), markup=False)
    if page:
        console.print(page, markup=False)
    if kw["gif"]:
        info = write_gif(kw["gif"], setup)
        console.print(f"wrote {info.path}: {info.frames} frames, {dims(info.hw)}", markup=False)
    if kw["at"] is not None:
        console.print(_styled(format_position(setup, explain_at(setup, kw["at"]))))
    elif not _too_big(setup):
        _print_overview(console, setup, kw["steps"])


def _check_emit_alone(kw: dict[str, Any]) -> None:
    """``--emit`` prints a program and writes nothing: files asked for too are a mistake."""
    wanted = [f"--{flag}" for flag in ("html", "gif") if kw[flag]]
    if wanted:
        also = " (the page shows the programs too)" if kw["html"] else ""
        msg = (
            f"--emit prints a program and writes no file: drop {' and '.join(wanted)}, "
            f"or drop --emit{also}"
        )
        raise click.UsageError(msg)


def _one_kernel(spec: Kernel | KernelBank) -> Kernel:
    if isinstance(spec, KernelBank):
        names = ", ".join(k.name for k in spec.kernels)
        msg = f"explain takes one kernel; {spec.name} is a bank of {names}: give one of them"
        raise click.BadParameter(msg, param_hint="'-k' / '--kernel'")
    return spec


def _setup(values: Any, kernel: Kernel, kw: dict[str, Any]) -> Setup:
    geometry = {key: kw[key] for key in ("stride", "padding", "dilation")}
    geometry["padding"] = apply_padding(kernel, values.shape, flip=kw["flip"], **geometry)
    return prepare(
        values,
        kernel.weights,
        kernel_name=kernel.name,
        padding_mode=kw["padding_mode"],
        cval=kw["cval"],
        flip=kw["flip"],
        **geometry,
    )


def _too_big(setup: Setup) -> bool:
    return max(setup.geometry.input_hw) > SMALL_GRID


def _check_explain(setup: Setup, source: str, kw: dict[str, Any]) -> None:
    """Fail before printing or writing anything: every mistake here is a usage error."""
    try:
        if kw["at"] is not None:
            check_position(setup.geometry, kw["at"])
        if kw["gif"]:
            check_animatable(setup)
    except ConvcliError as exc:
        raise click.UsageError(str(exc)) from None
    if kw["gif"] and kw["html"] and Path(kw["gif"]).resolve() == Path(kw["html"]).resolve():
        msg = f"--gif and --html name the same file {kw['html']}; give two files"
        raise click.UsageError(msg)
    if kw["at"] is None and _too_big(setup) and (kw["steps"] or not (kw["gif"] or kw["html"])):
        msg = (
            f"{source} is {dims(setup.geometry.input_hw)}; whole grids and --steps are shown "
            f"up to {dims((SMALL_GRID, SMALL_GRID))}: give --at ROW,COL"
        )
        raise click.UsageError(msg)


def _heading(setup: Setup, source: str, note: str, kernel: Kernel, padding: object) -> list[str]:
    """The input, the setup and the shape formula, and notes on anchors and offsets."""
    lines = [f"{source}" + (f" ({note})" if note else ""), describe_setup(setup)]
    if kernel.anchor is not None and padding == "same":
        lines.append(
            f"note: these pads are apply's 'same' placed by {kernel.name}'s anchor "
            f"{kernel.anchor} (explicit pads ignore the anchor)"
        )
    if kernel.offset:
        lines.append(
            f"note: apply adds the kernel's offset {fmt(kernel.offset)} to every value;"
            " the sums below do not include it"
        )
    return lines


def _write_page(
    path: str,
    setup: Setup,
    at: tuple[int, int] | None,
    heading: list[str],
    programs: list[tuple[str, str]],
) -> str:
    """Write the HTML page (with the ``--emit`` programs); the line saying what it shows."""
    lines = "\n".join(heading[1:]).splitlines()
    info = write_page(path, setup, at=at, title=heading[0], lines=lines, programs=programs)
    view = info.view
    return (
        f"wrote {info.path}: output rows {view.rows.start}..{view.rows.stop - 1}, cols "
        f"{view.cols.start}..{view.cols.stop - 1} of {dims(setup.geometry.output_hw)}, "
        f"{math.ceil(info.size / 1024)} KB"
    )


def _print_overview(console: Console, setup: Setup, steps: bool) -> None:
    console.print(_styled(format_overview(setup)))
    if steps:
        console.print("steps:", style="bold", markup=False)
        for at in setup.positions():
            console.print(format_step(explain_at(setup, at)), markup=False)


def _styled(text: str) -> Text:
    """Headings bold, padding cells dim yellow, window taps bold."""
    styled = Text(text)
    styled.highlight_regex(_HEADING, "bold")
    styled.highlight_regex(r"-?[\d.e+]+\*", "yellow")
    styled.highlight_regex(r"\[[^\]\n]*\]", "bold cyan")
    return styled
