"""``convcli kernels``: list the kernel library; ``convcli kernels show SPEC``: one kernel."""

from __future__ import annotations

import json
from typing import Any

import click
import numpy as np
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from convcli.cli.params import KERNEL_SPEC
from convcli.geometry import dims
from convcli.kernels import Kernel, KernelBank, kernel_info, load_library, parametric_kernels

MAX_SHOWN_SIDE = 15
"""Matrices with a longer side are summarised, not printed (``--json`` has every value)."""


@click.group("kernels", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list for scripts.")
@click.pass_context
def kernels(ctx: click.Context, as_json: bool) -> None:
    """List the kernel library: name, size, sum, rank, kind and description.

    \b
      convcli kernels                    the table
      convcli kernels --json             the same, as JSON
      convcli kernels show sobel_x       one kernel, its factors and flipped form
      convcli kernels show gaussian:2    any --kernel spec works
    """
    if ctx.invoked_subcommand is not None:
        return
    entries = load_library()
    if as_json:
        click.echo(_json_lines([_listing_info(kernel_info(e)) for e in entries]))
        return
    _print_listing(entries)


def _json_lines(items: list[dict[str, Any]]) -> str:
    """A JSON list with one object a line: easy to read, grep and parse."""
    return "[\n" + ",\n".join(f"  {json.dumps(item)}" for item in items) + "\n]"


def _listing_info(info: dict[str, Any]) -> dict[str, Any]:
    """The listing omits the weights (``kernels show --json`` has them)."""
    return {key: value for key, value in info.items() if key != "weights"}


@kernels.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("spec", type=KERNEL_SPEC)
@click.option("--json", "as_json", is_flag=True, help="Print the kernel as JSON.")
def show(spec: Kernel | KernelBank, as_json: bool) -> None:
    """Show one kernel: its matrix, sum, rank, 1-D factors and flipped (convolution) form.

    SPEC is any --kernel spec: a name, NAME:ARGS, an inline matrix or a file. Inline
    matrices starting with '-' work as they are: convcli kernels show "-1 0 1".
    """
    if as_json:
        info = kernel_info(spec)
        if isinstance(spec, KernelBank):
            info["kernels"] = [kernel_info(k) for k in spec.kernels]
        click.echo(json.dumps(info))
        return
    _print_entry(spec)


def _esc(text: str) -> str:
    """Text with rich markup escaped (descriptions hold brackets: ``[1 2 1]``)."""
    return escape(text)


def _console() -> Console:
    return Console(highlight=False)


def _print_listing(entries: list[Kernel | KernelBank]) -> None:
    """The library table, then the parametric families."""
    table = _table("Kernel library", ("name", "size", "sum", "separable", "kind"))
    for entry in entries:
        table.add_row(*_listing_row(entry))
    families = _table("Parametric kernels (NAME:ARGS)", ("spec", "kind"))
    for family in parametric_kernels():
        families.add_row(_esc(family.usage), family.kind, _esc(family.description))
    console = _console()
    console.print(table)
    console.print(families)
    console.print("Inline matrices and files work too: convcli kernels show --help")


def _table(title: str, columns: tuple[str, ...]) -> Table:
    """A compact table whose last column, the description, takes the room left."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column("description", ratio=1)
    return table


def _listing_row(entry: Kernel | KernelBank) -> tuple[str, ...]:
    """name, size, sum, separable (rank), kind, description."""
    if isinstance(entry, KernelBank):
        size = f"{len(entry.kernels)}×{dims(entry.shape)}"
        return (entry.name, size, "", "", "bank", _esc(f"{entry.description} [{entry.combine}]"))
    separable = f"{'yes' if entry.rank == 1 else 'no'} ({entry.rank})"
    kernel = (entry.name, dims(entry.shape), _number(entry.sum), separable, entry.kind)
    return (*kernel, _esc(entry.description))


def _print_entry(entry: Kernel | KernelBank) -> None:
    console = _console()
    if isinstance(entry, KernelBank):
        console.print(f"[bold]{_esc(entry.name)}[/bold]: {_esc(entry.description)}")
        console.print(f"bank of {len(entry.kernels)} kernels, combined by {entry.combine}")
        for kernel in entry.kernels:
            console.print()
            _print_kernel(console, kernel)
        return
    _print_kernel(console, entry)


def _print_kernel(console: Console, kernel: Kernel) -> None:
    """Matrix, sum, rank, factors, anchor and the flipped form of one kernel."""
    console.print(f"[bold]{_esc(kernel.name)}[/bold]: {_esc(kernel.description)}")
    console.print(f"kind {kernel.kind}, {dims(kernel.shape)}, from {_esc(kernel.source)}")
    _print_matrix(console, kernel.weights, "weights (cross-correlation, as laid on the image)")
    row, col = kernel.center
    console.print(f"sum: {_number(kernel.sum)}    rank: {kernel.rank}    "
                  f"anchor: row {row}, col {col}    offset: {_number(kernel.offset)}")  # fmt: skip
    factors = kernel.separable_factors()
    if factors is None:
        console.print(f"separable: no (rank {kernel.rank})")
    else:
        column, row_factor = _vector(factors[0]), _vector(factors[1])
        console.print(_esc(f"separable: yes = column {column}ᵀ × row {row_factor}"))
    flipped = kernel.flipped()
    _print_matrix(console, flipped.weights, "flipped (true convolution, as --flip applies it)")


def _print_matrix(console: Console, weights: np.ndarray, title: str) -> None:
    if max(weights.shape) > MAX_SHOWN_SIDE:
        console.print(f"{title}: {dims(weights.shape)}, too large to print (use --json)")
        return
    console.print(f"{title}:")
    table = _matrix_table(weights)
    # Never let rich shorten a value to "0.0…": print wider than the terminal instead.
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    width = console.width
    console.width = max(needed, width)
    console.print(table, crop=False)
    console.width = width


def _matrix_table(weights: np.ndarray) -> Table:
    """The values right-aligned; negative red, positive green, zero dim."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    for _ in range(weights.shape[1]):
        table.add_column(justify="right")
    for row in weights:
        table.add_row(*(_cell(float(value)) for value in row))
    return table


def _cell(value: float) -> str:
    style = "red" if value < 0 else "green" if value > 0 else "dim"
    return f"[{style}]{_number(value)}[/{style}]"


def _number(value: float) -> str:
    """Whole numbers without decimals; others with 4 significant digits."""
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"


def _vector(values: np.ndarray) -> str:
    return "[" + " ".join(_number(float(v)) for v in values) + "]"
