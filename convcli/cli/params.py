"""Parameter types and option bundles shared by several commands.

Values are validated here, so a bad value is a usage error (exit 2) naming the option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from convcli.engine import METHODS
from convcli.errors import ClusterError, ConvcliError
from convcli.geometry import PADDING_MODE_ALIASES, PADDING_MODES, PADDING_WORDS
from convcli.io.formats import EXTENSION_FORMATS, OUTPUT_FORMATS
from convcli.kernels import parse_kernel_spec

F = TypeVar("F", bound=Callable[..., Any])


def _ints(value: str) -> list[int]:
    return [int(part) for part in value.replace(" ", "").split(",")]


class PairType(click.ParamType):
    """``N`` or ``Y,X``, each an int >= 1 (stride, dilation)."""

    name = "N|Y,X"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse to an int or a ``(y, x)`` tuple."""
        if isinstance(value, int | tuple):
            return value
        try:
            numbers = _ints(str(value))
        except ValueError:
            self.fail(f"{value!r} is not N or Y,X (whole numbers)", param, ctx)
        if len(numbers) not in (1, 2) or min(numbers) < 1:
            self.fail(f"{value!r} must be N or Y,X with each value >= 1", param, ctx)
        return numbers[0] if len(numbers) == 1 else (numbers[0], numbers[1])


class PaddingType(click.ParamType):
    """``N``, ``H,W``, ``T,B,L,R`` or one of ``same``, ``valid``, ``full``."""

    name = "N|H,W|T,B,L,R|same|valid|full"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse to the engine's padding spec."""
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in PADDING_WORDS:
            return word
        try:
            n = _ints(word)
        except ValueError:
            self.fail(f"{value!r} is not N, H,W, T,B,L,R or one of same, valid, full", param, ctx)
        if min(n) < 0 or len(n) not in (1, 2, 4):
            self.fail(f"{value!r} must be 1, 2 or 4 whole numbers >= 0", param, ctx)
        if len(n) == 1:
            return n[0]
        if len(n) == 2:
            return (n[0], n[1])
        return ((n[0], n[1]), (n[2], n[3]))


class KernelSpecType(click.ParamType):
    """A ``--kernel`` spec: a name, ``NAME:ARGS``, an inline matrix or a file."""

    name = "SPEC"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse with :func:`convcli.kernels.parse_kernel_spec`; errors are usage errors."""
        if not isinstance(value, str):
            return value
        try:
            return parse_kernel_spec(value)
        except ConvcliError as exc:
            self.fail(str(exc), param, ctx)


class DaskType(click.ParamType):
    """``--dask``: ``local``, ``local:N`` or a scheduler address; the extra must be installed."""

    name = "local[:N]|tcp://HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse to a :class:`~convcli.batch.cluster.DaskTarget`; a missing extra exits 2."""
        from convcli.batch.cluster import DaskTarget, parse_dask_target, require_dask

        if isinstance(value, DaskTarget):
            return value
        try:
            target = parse_dask_target(str(value))
        except ClusterError as exc:
            self.fail(str(exc), param, ctx)
        require_dask()
        return target


class FormatType(click.Choice):
    """An output format's name, or an extension that names it (``jpg``, ``tif``), as users
    type it after ``-o out.jpg``."""

    name = "format"

    def __init__(self) -> None:
        aliases = [ext[1:] for ext in EXTENSION_FORMATS if ext[1:] not in OUTPUT_FORMATS]
        super().__init__([*OUTPUT_FORMATS, *aliases], case_sensitive=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The format's name for ``value``."""
        word = str(super().convert(value, param, ctx))
        return EXTENSION_FORMATS.get(f".{word}", word)


PAIR = PairType()
PADDING = PaddingType()
FORMAT = FormatType()
KERNEL_SPEC = KernelSpecType()
DASK = DaskType()
PADDING_MODE_CHOICE = click.Choice(PADDING_MODES + tuple(PADDING_MODE_ALIASES))

# The defaults of `apply`; `shape` and `explain` share them so `shape` predicts `apply`.
DEFAULT_PADDING = "same"
DEFAULT_PADDING_MODE = "reflect"


def geometry_options(fn: F) -> F:
    """Add --stride, --padding, --padding-mode, --cval, --dilation, --flip, --method."""
    return geometry_options_without()(fn)


def geometry_options_without(*omitted: str) -> Callable[[F], F]:
    """:func:`geometry_options` less the ones named (``"cval"``, ``"method"``, ...).

    A command lists only the options that do something there.
    """

    def add(fn: F) -> F:
        for option in reversed(_geometry_options(set(omitted))):
            fn = option(fn)
        return fn

    return add


def _geometry_options(omitted: set[str]) -> list[Callable[[F], F]]:
    options = {
        "stride": click.option(
            "-s",
            "--stride",
            type=PAIR,
            default=1,
            show_default=True,
            help="Step of the kernel: N or Y,X.",
        ),
        "padding": click.option(
            "-p",
            "--padding",
            type=PADDING,
            default=DEFAULT_PADDING,
            show_default=True,
            help="Pads: N, H,W, T,B,L,R, or same/valid/full.",
        ),
        "padding_mode": click.option(
            "-m",
            "--padding-mode",
            type=PADDING_MODE_CHOICE,
            default=DEFAULT_PADDING_MODE,
            show_default=True,
            help="What the pads hold.",
        ),
        "cval": click.option(
            "--cval",
            type=float,
            default=0.0,
            show_default=True,
            help="The constant for --padding-mode zeros.",
        ),
        "dilation": click.option(
            "-d",
            "--dilation",
            type=PAIR,
            default=1,
            show_default=True,
            help="Gap between kernel taps: N or Y,X.",
        ),
        "flip": click.option(
            "--flip/--no-flip",
            default=False,
            show_default=True,
            help="True convolution (kernel rotated 180°) instead of cross-correlation.",
        ),
        "method": click.option(
            "--method",
            type=click.Choice(METHODS),
            default="auto",
            show_default=True,
            help="Engine method; auto picks the fastest.",
        ),
    }
    return [option for name, option in options.items() if name not in omitted]
