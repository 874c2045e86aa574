"""Closed sets of words shared by the library and the CLI's ``click.Choice`` options.

Nothing heavier than :mod:`typing` is imported: ``convcli --help`` reads these sets, and
the modules that use them (:mod:`convcli.images`, :mod:`convcli.kernels`) cost start-up
time.
"""

from __future__ import annotations

from typing import Literal, get_args

ValueMapping = Literal["auto", "clip", "abs", "normalize", "offset", "raw"]
VALUE_MAPPINGS: tuple[ValueMapping, ...] = get_args(ValueMapping)

CombineMode = Literal["stack", "magnitude", "max", "min", "sum", "abs-sum"]
COMBINE_MODES: tuple[CombineMode, ...] = get_args(CombineMode)

EmitLibrary = Literal["numpy", "scipy", "opencv", "torch"]
EMIT_LIBRARIES: tuple[EmitLibrary, ...] = get_args(EmitLibrary)
"""``--emit`` names: here, so ``apply`` builds its option without importing :mod:`convcli.emit`."""

Existing = Literal["refuse", "overwrite", "skip"]
"""What to do with outputs that already exist: refuse, replace them, or keep them."""
