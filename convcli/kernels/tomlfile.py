"""Kernel files in this library's TOML format: one kernel, or a bank naming its members.

Fields of a kernel: ``name``, ``description``, ``kind``, ``weights`` (a list of rows),
``normalize``, ``scale``, ``offset``, ``anchor`` (required when a side is even), ``tags``,
``aliases``. A bank has ``kernels`` (names, specs or inline tables) and ``combine``.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from convcli.choices import COMBINE_MODES
from convcli.errors import KernelError
from convcli.kernels import files
from convcli.kernels.files import ZERO_SUM_TOLERANCE, is_zero_sum
from convcli.kernels.kernel import Kernel, KernelBank, KernelKind, check_anchor, infer_kind

_KERNEL_FIELDS = ("name", "description", "kind", "weights", "normalize", "scale", "offset",
                  "anchor", "tags", "aliases")  # fmt: skip
_BANK_FIELDS = ("name", "description", "kernels", "combine", "tags", "aliases")

Resolver = Callable[[str], "Kernel | KernelBank"]


@dataclass(frozen=True)
class TomlContext:
    """What a TOML file is checked against: its label, its stem, and how names resolve."""

    label: str
    stem: str
    library: bool
    resolve: Resolver


def read_toml(path: Path, label: str) -> dict[str, Any]:
    """Parse a TOML file, with its errors as :class:`KernelError`."""
    if sys.version_info >= (3, 11):  # imported here: NAME:ARGS kernels read no TOML
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    text = files.read_text(path, label)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{label}: not valid TOML: {exc}"
        raise KernelError(msg) from None
    except RecursionError:
        raise KernelError(files.too_deep(label)) from None


def kernel_from_toml(data: Mapping[str, Any], ctx: TomlContext) -> Kernel | KernelBank:
    """Build a kernel or (when there is a ``kernels`` list) a bank from a parsed TOML table."""
    is_bank = "kernels" in data
    _check_fields(data, _BANK_FIELDS if is_bank else _KERNEL_FIELDS, ctx.label)
    name = _text(data, "name", ctx, default=ctx.stem)
    if ctx.library and name != ctx.stem:
        msg = f"{ctx.label}: `name` is {name!r}; expected {ctx.stem!r}, the file's name"
        raise KernelError(msg)
    if ctx.library and not data.get("description"):
        msg = f"{ctx.label}: `description` is missing; expected one line saying what it does"
        raise KernelError(msg)
    common = {
        "name": name,
        "description": _text(data, "description", ctx, default=""),
        "source": ctx.label,
        "tags": _strings(data, "tags", ctx),
        "aliases": _strings(data, "aliases", ctx),
    }
    return _bank_from_toml(data, ctx, common) if is_bank else _kernel_from_toml(data, ctx, common)


def _kernel_from_toml(data: Mapping[str, Any], ctx: TomlContext, common: dict[str, Any]) -> Kernel:
    if "weights" not in data:
        msg = (
            f"{ctx.label}: `weights` is missing; expected a list of rows, or `kernels` for a bank"
        )
        raise KernelError(msg)
    weights = files.matrix_from_data(data["weights"], ctx.label, "`weights`")
    weights = _scaled(weights, data, ctx.label)
    kind = cast(KernelKind, _text(data, "kind", ctx, default=infer_kind(weights)))
    offset = _number_field(data, "offset", ctx.label, default=0.0)
    anchor = _anchor_field(data, weights.shape, ctx.label)
    return Kernel(weights=weights, kind=kind, anchor=anchor, offset=offset, **common)


def _anchor_field(
    data: Mapping[str, Any], shape: tuple[int, ...], label: str
) -> tuple[int, int] | None:
    """The ``anchor`` of a TOML kernel; required when a side is even."""
    anchor = data.get("anchor")
    if anchor is None and any(n % 2 == 0 for n in shape):
        msg = (
            f"{label}: the kernel is {shape[0]}×{shape[1]} with an even side "
            "but has no `anchor`; expected anchor = [row, col]"
        )
        raise KernelError(msg)
    if anchor is None:
        return None
    if not isinstance(anchor, list):
        msg = f"{label}: `anchor` is {anchor!r}; expected [row, col]"
        raise KernelError(msg)
    return check_anchor(anchor, shape, label)


def _scaled(weights: np.ndarray, data: Mapping[str, Any], label: str) -> np.ndarray:
    """Apply ``scale`` (divide by it) then ``normalize`` (divide by the sum), never by zero."""
    scale = _number_field(data, "scale", label, default=1.0)
    if abs(scale) < ZERO_SUM_TOLERANCE:
        msg = (
            f"{label}: `scale` is {scale:g}; "
            "expected a non-zero number (the weights are divided by it)"
        )
        raise KernelError(msg)
    weights = weights / scale
    normalize = data.get("normalize", False)
    if not isinstance(normalize, bool):
        msg = f"{label}: `normalize` is {normalize!r}; expected true or false"
        raise KernelError(msg)
    if normalize:
        if is_zero_sum(weights):
            msg = (
                f"{label}: `normalize` is true but the weights sum to 0; "
                "a zero-sum kernel cannot be normalized"
            )
            raise KernelError(msg)
        weights = weights / weights.sum()
    return weights


def _bank_from_toml(
    data: Mapping[str, Any], ctx: TomlContext, common: dict[str, Any]
) -> KernelBank:
    members = data["kernels"]
    if not isinstance(members, list) or not members:
        msg = (
            f"{ctx.label}: `kernels` is {members!r}; expected a non-empty list of names or tables"
        )
        raise KernelError(msg)
    kernels = tuple(_member(m, i, ctx) for i, m in enumerate(members, start=1))
    combine = _text(data, "combine", ctx, default="")
    if combine not in COMBINE_MODES:
        msg = f"{ctx.label}: `combine` is {combine!r}; expected one of {', '.join(COMBINE_MODES)}"
        raise KernelError(msg)
    return KernelBank(kernels=kernels, combine=combine, **common)


def _member(entry: object, index: int, ctx: TomlContext) -> Kernel:
    """One bank member: a spec string, or an inline table in this file's kernel format."""
    label = f"{ctx.label}: `kernels` entry {index}"
    if isinstance(entry, dict):
        sub = replace(ctx, label=label, stem=f"{ctx.stem}_{index}", library=False)
        member = kernel_from_toml(entry, sub)
    elif isinstance(entry, str):
        member = ctx.resolve(entry)
    else:
        msg = f"{label} is {entry!r}; expected a kernel name or a table with `weights`"
        raise KernelError(msg)
    if isinstance(member, KernelBank):
        msg = f"{label} is {member.name!r}, a bank; expected a single kernel"
        raise KernelError(msg)
    return member


def _check_fields(data: Mapping[str, Any], allowed: tuple[str, ...], label: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            msg = f"{label}: unknown field `{key}`; {hint}expected fields: {', '.join(allowed)}"
            raise KernelError(msg)


def _text(data: Mapping[str, Any], key: str, ctx: TomlContext, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        msg = f"{ctx.label}: `{key}` is {value!r}; expected a string"
        raise KernelError(msg)
    return value


def _strings(data: Mapping[str, Any], key: str, ctx: TomlContext) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{ctx.label}: `{key}` is {value!r}; expected a list of strings"
        raise KernelError(msg)
    return tuple(value)


def _number_field(data: Mapping[str, Any], key: str, label: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        msg = f"{label}: `{key}` is {value!r}; expected a finite number"
        raise KernelError(msg)
    return float(value)
