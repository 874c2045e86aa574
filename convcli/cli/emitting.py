"""``--emit LIBRARY`` for ``apply`` and ``explain``: print the same filter as a program.

With ``--emit`` nothing is filtered or written (as with ``--dry-run``): standard output
carries the program, for an input of the size of the one image given. ``apply`` loads
this module for its options on every run, so :mod:`convcli.emit`, which writes the
programs, is imported only when one is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from convcli.batch import expand_inputs
from convcli.choices import EMIT_LIBRARIES
from convcli.errors import ConvcliError, ImageError
from convcli.geometry import Pair
from convcli.io import read_image
from convcli.kernels import Kernel, KernelBank
from convcli.pipeline import ConvOptions, FilterPlan

F = TypeVar("F", bound=Callable[..., Any])

EMIT_HELP = (
    "Print a Python program computing the same raw feature map with this library "
    "(every translation commented); filter and write nothing."
)


def emit_option(fn: F) -> F:
    """Add ``--emit numpy|scipy|opencv|torch``."""
    option = click.option(
        "--emit", type=click.Choice(EMIT_LIBRARIES), default=None, help=EMIT_HELP
    )
    return option(fn)


def _pair(value: Any) -> str:
    return str(value) if isinstance(value, int) else ",".join(map(str, value))


def _padding(value: Any) -> str:
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value[0], int):
        return _pair(value)
    return ",".join(str(n) for pair in value for n in pair)


def _spec_text(spec: Kernel | KernelBank) -> str:
    """The ``-k`` text of a spec; an inline matrix as its rows (``1 -1; 2 0``)."""
    from convcli.emit.libraries import number

    if isinstance(spec, Kernel) and spec.name == "inline":
        return "; ".join(" ".join(number(v) for v in row) for row in spec.weights)
    return spec.name


def command_line(command: str, source: str, specs: tuple[Kernel | KernelBank, ...],
                 kw: dict[str, Any]) -> str:  # fmt: skip
    """The command the program stands for, its options in a fixed order (defaults left out)."""
    import shlex

    words = ["convcli", command, source]
    for spec in specs:
        words += ["-k", _spec_text(spec)]
    options = [
        ("--combine", kw.get("combine"), None),
        ("-s", _pair(kw["stride"]), "1"),
        ("-p", _padding(kw["padding"]), "same"),
        ("-m", kw["padding_mode"], "reflect"),
        ("--cval", f"{kw['cval']:g}", "0"),
        ("-d", _pair(kw["dilation"]), "1"),
        ("--color", kw.get("color", "keep"), "keep"),
    ]
    for flag, value, default in options:
        if value is not None and value != default:
            words += [flag, value]
    words += ["--chain"] * bool(kw.get("chain")) + ["--flip"] * bool(kw["flip"])
    words += ["--normalize"] * bool(kw.get("normalize"))
    return " ".join(shlex.quote(w) for w in words)


def options_from(kw: dict[str, Any]) -> ConvOptions:
    """The engine options of ``apply`` and ``explain`` from their parsed keywords."""
    return ConvOptions(kw["stride"], kw["padding"], kw["padding_mode"], kw["cval"],
                       kw["dilation"], kw["flip"], kw.get("method", "auto"))  # fmt: skip


def emitted(
    plan: FilterPlan,
    input_hw: Pair,
    source: str,
    command: str,
    kw: dict[str, Any],
    *,
    color: str = "keep",
    libraries: tuple[str, ...] = EMIT_LIBRARIES,
) -> dict[str, str]:
    """The ``--emit`` program of each of ``libraries`` for ``plan`` on an input of ``input_hw``."""
    from convcli.emit import emit_program

    options = options_from(kw)
    return {
        name: emit_program(plan, options, input_hw, name, command=command, source=source,
                           color=color)
        for name in libraries
    }  # fmt: skip


def labelled(programs: dict[str, str]) -> list[tuple[str, str]]:
    """``(label, program)`` pairs, labelled ``plain NumPy (--emit numpy)`` and so on."""
    from convcli.emit.libraries import LIBRARIES

    return [(f"{LIBRARIES[name].title} (--emit {name})", text) for name, text in programs.items()]


def emit_for_apply(kw: dict[str, Any], plan: FilterPlan) -> None:
    """``apply --emit``: read the one input's size and print the program; write nothing."""
    try:
        expansion = expand_inputs(kw["inputs"], recursive=kw["recursive"])
    except ConvcliError as exc:
        raise click.UsageError(str(exc)) from None
    if expansion.missing:
        name, reason = expansion.missing[0]
        msg = f"{name}: {reason}"
        raise ImageError(msg)
    if len(expansion.files) != 1 or expansion.files[0].path is None:
        msg = (
            f"--emit writes a program for one input file (its size sets the pads); "
            f"got {len(expansion.files)} inputs"
        )
        raise click.UsageError(msg)
    if kw["color"] == "luma":
        msg = "--emit writes programs for --color keep or gray, not luma"
        raise click.UsageError(msg)
    source = str(expansion.files[0].path)
    loaded = read_image(source, color=kw["color"], max_pixels=kw["max_pixels"])
    hw = (int(loaded.pixels.shape[0]), int(loaded.pixels.shape[1]))
    command = command_line("apply", source, kw["kernels"], kw)
    program = emitted(plan, hw, source, command, kw, color=kw["color"], libraries=(kw["emit"],))
    click.echo(program[kw["emit"]], nl=False)
