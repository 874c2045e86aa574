"""Kernels: the built-in library, parametric kernels, inline and file kernels, and banks.

Conventions, stated once:

- **Cross-correlation.** Every kernel is written as it is laid on the image (the CNN
  convention), so ``sobel_x`` is positive where brightness increases to the right and
  ``sobel_y`` where it increases downwards. ``flip=True`` in the engine (or
  :meth:`Kernel.flipped`) turns a kernel into true convolution.
- **Anchor.** The tap laid on the output pixel, as ``(row, col)``. ``None`` means the engine's
  ``same`` convention, ``((h - 1) // 2, (w - 1) // 2)``: the centre of an odd kernel, the
  top-left of the central 2×2 of an even one. Library files with an even side state it.
- **Never divide by zero.** ``normalize`` on a zero-sum kernel is an error, not a NaN.

The ``--kernel`` spec grammar, one parser for every command (:func:`parse_kernel_spec`):

- ``NAME`` — a kernel or bank of the library (``sobel_x``, ``sobel``, ``blur``);
- ``NAME:ARGS`` — a parametric kernel, positional and/or ``key=value`` arguments
  (``gaussian:sigma=2``, ``gaussian:2,size=9``, ``box:5``, ``motion:9,45``);
- an inline matrix, rows split by ``;`` and values by spaces or commas
  (``"0 -1 0; -1 5 -1; 0 -1 0"``, ``-1,0,1``) or a JSON nested list (``[[1, 0], [0, -1]]``);
  a leading ``=`` is ignored, so ``-k=-1,0,1`` works with click's short options;
- a file: ``.toml`` (this library's format), ``.txt``/``.csv`` (one row a line, ``#``
  comments), ``.npy``, or a libvips ``.mat`` (header ``width height [scale [offset]]``).

Examples
--------
>>> from convcli.kernels import parse_kernel_spec
>>> k = parse_kernel_spec("sobel_x")
>>> k.weights.tolist()
[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
>>> k.sum, k.rank
(0.0, 1)
>>> parse_kernel_spec("gaussian:sigma=1").shape
(7, 7)
>>> parse_kernel_spec("=-1,0,1").weights.tolist()
[[-1.0, 0.0, 1.0]]
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast, get_args

import numpy as np

from convcli import _kernel_matrix as matrix
from convcli._kernel_parametric import PARAMETRIC, Parametric, build
from convcli.choices import COMBINE_MODES, CombineMode
from convcli.errors import KernelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KernelKind = Literal["smoothing", "edge", "sharpen", "other"]
KERNEL_KINDS: tuple[KernelKind, ...] = get_args(KernelKind)

FILE_SUFFIXES = (".toml", ".txt", ".csv", ".npy", ".mat")
"""The kernel file types :func:`parse_kernel_spec` reads, by suffix (case-insensitive)."""

_TOLERANCE = matrix.ZERO_SUM_TOLERANCE


@dataclass(frozen=True, eq=False)
class Kernel:
    """A 2-D kernel, validated on construction; ``weights`` is a read-only float64 copy.

    Parameters
    ----------
    name : str
        The library name, the canonical parametric spec (``gaussian:sigma=2,size=13``),
        ``inline`` or the file's kernel name.
    weights : numpy.ndarray
        The 2-D matrix, written for cross-correlation.
    description : str
        One line saying what it does.
    kind : {"smoothing", "edge", "sharpen", "other"}
        What it is for, as shown by ``convcli kernels``.
    anchor : tuple of int, optional
        ``(row, col)`` of the tap laid on the output pixel; ``None`` for the default.
    offset : float
        Added to every response (libvips/Pillow offset); 0 for most kernels.
    source : str
        Where it came from: ``kernels/sobel_x.toml``, ``parametric``, ``inline`` or a path.
    tags : tuple of str
        Free keywords.
    aliases : tuple of str
        Other names the library knows it by (``blur``).

    Raises
    ------
    KernelError
        If the weights are not a finite, non-empty 2-D matrix, the kind is unknown or the
        anchor lies outside the kernel.
    """

    name: str
    weights: np.ndarray
    description: str = ""
    kind: KernelKind = "other"
    anchor: tuple[int, int] | None = None
    offset: float = 0.0
    source: str = ""
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate and freeze the weights; check kind and anchor."""
        label = self.source or self.name
        weights = matrix.check_array(np.asarray(self.weights), label).copy()
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        if self.kind not in KERNEL_KINDS:
            msg = f"{label}: kind {self.kind!r} is not one of {', '.join(KERNEL_KINDS)}"
            raise KernelError(msg)
        if self.anchor is not None:
            object.__setattr__(self, "anchor", _check_anchor(self.anchor, weights.shape, label))

    def __eq__(self, other: object) -> bool:
        """Kernels are equal when every field is, the weights compared by value."""
        if not isinstance(other, Kernel):
            return NotImplemented
        return self._key() == other._key() and np.array_equal(self.weights, other.weights)

    def __hash__(self) -> int:
        """Hash of the fields and the weights' bytes."""
        return hash((self._key(), self.weights.tobytes()))

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.shape, self.description, self.kind, self.anchor, self.offset,
                self.source, self.tags, self.aliases)  # fmt: skip

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the kernel."""
        return (int(self.weights.shape[0]), int(self.weights.shape[1]))

    @property
    def sum(self) -> float:
        """Sum of the weights (1 keeps brightness, 0 responds only to change)."""
        return 0.0 if matrix.is_zero_sum(self.weights) else float(self.weights.sum())

    @property
    def rank(self) -> int:
        """Matrix rank; 1 means separable into a column and a row."""
        return int(np.linalg.matrix_rank(self.weights))

    @property
    def center(self) -> tuple[int, int]:
        """The anchor in effect: :attr:`anchor`, or the engine's default."""
        if self.anchor is not None:
            return self.anchor
        return ((self.shape[0] - 1) // 2, (self.shape[1] - 1) // 2)

    @property
    def slug(self) -> str:
        """The name made safe for a file name (``gaussian_sigma_2_size_13``)."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name).strip("_") or "kernel"

    def separable_factors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The 1-D ``(column, row)`` whose outer product is the kernel, if its rank is 1.

        Symmetric kernels get equal factors; others a column whose smallest non-zero
        magnitude is 1 (``sobel_x`` -> ``[1, 2, 1]`` and ``[-1, 0, 1]``).

        Examples
        --------
        >>> from convcli.kernels import parse_kernel_spec
        >>> column, row = parse_kernel_spec("sobel_x").separable_factors()
        >>> column.tolist(), row.tolist()
        ([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
        """
        if self.rank != 1:
            return None
        return _rank_one_factors(self.weights)

    def flipped(self) -> Kernel:
        """The kernel rotated 180°: cross-correlating with it is convolving with this one."""
        anchor = None
        if self.anchor is not None:
            anchor = (self.shape[0] - 1 - self.anchor[0], self.shape[1] - 1 - self.anchor[1])
        return replace(self, name=f"{self.name} (flipped)", weights=self.weights[::-1, ::-1],
                       anchor=anchor)  # fmt: skip

    def centered(self) -> Kernel:
        """The same kernel zero-padded to odd sides with :attr:`center` in the middle.

        Examples
        --------
        >>> from convcli.kernels import parse_kernel_spec
        >>> parse_kernel_spec("roberts_x").centered().weights.tolist()
        [[0.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]
        """
        pads = [_centring_pads(a, n) for a, n in zip(self.center, self.shape, strict=True)]
        weights = np.pad(self.weights, pads)
        return replace(self, weights=weights, anchor=None)


def _centring_pads(anchor: int, size: int) -> tuple[int, int]:
    half = max(anchor, size - 1 - anchor)
    return half - anchor, half - (size - 1 - anchor)


def _check_anchor(anchor: Sequence[int], shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """An anchor as a ``(row, col)`` of ints inside the kernel."""
    values = list(anchor)
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        msg = f"{name}: anchor {values!r} is not [row, col]; expected two whole numbers"
        raise KernelError(msg)
    if not (0 <= values[0] < shape[0] and 0 <= values[1] < shape[1]):
        msg = (
            f"{name}: anchor {values!r} lies outside the {shape[0]}×{shape[1]} kernel; "
            f"expected 0 <= row < {shape[0]} and 0 <= col < {shape[1]}"
        )
        raise KernelError(msg)
    return (values[0], values[1])


def _rank_one_factors(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of a rank-1 matrix, scaled and signed to read well."""
    u, s, vt = np.linalg.svd(weights)
    column, row = _signed(u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0]))
    square = weights.shape[0] == weights.shape[1]
    if square and np.allclose(weights, weights.T):
        return _snap(column), _snap(row)
    for scale in (1 / _smallest(column), _smallest(row)):
        if _whole(column * scale) and _whole(row / scale):
            return _snap(column * scale), _snap(row / scale)
    scale = 1 / _smallest(column)
    return _snap(column * scale), _snap(row / scale)


def _signed(column: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make a one-signed factor (the smoothing part) positive, else the column's peak."""
    for factor in (column, row):
        if np.all(factor <= _TOLERANCE) or np.all(factor >= -_TOLERANCE):
            flip = factor.sum() < 0
            return (-column, -row) if flip else (column, row)
    flip = column[np.argmax(np.abs(column))] < 0
    return (-column, -row) if flip else (column, row)


def _smallest(values: np.ndarray) -> float:
    """The smallest non-zero magnitude."""
    return float(np.min(np.abs(values[np.abs(values) > _TOLERANCE])))


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) < 1e-9))


def _snap(values: np.ndarray) -> np.ndarray:
    """Round values within 1e-9 of a whole number to it (SVD noise)."""
    rounded = np.round(values)
    return np.where(np.abs(values - rounded) < 1e-9, rounded, values) + 0.0


@dataclass(frozen=True)
class KernelBank:
    """Several kernels of one shape applied to the same image, their responses combined.

    Parameters
    ----------
    name : str
        The bank's name (``sobel``).
    kernels : tuple of Kernel
        The members, all of the same shape.
    combine : {"stack", "magnitude", "max", "min", "sum", "abs-sum"}
        How :func:`combine_responses` merges their feature maps.
    description : str
        One line saying what it does.
    source, tags, aliases
        As for :class:`Kernel`.
    """

    name: str
    kernels: tuple[Kernel, ...]
    combine: CombineMode
    description: str = ""
    source: str = ""
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check the members and the combine mode."""
        label = self.source or self.name
        if not self.kernels:
            msg = f"{label}: a bank needs at least one kernel"
            raise KernelError(msg)
        if self.combine not in COMBINE_MODES:
            msg = f"{label}: combine {self.combine!r} is not one of {', '.join(COMBINE_MODES)}"
            raise KernelError(msg)
        shapes = {k.shape for k in self.kernels}
        if len(shapes) > 1:
            listed = ", ".join(f"{k.name} {k.shape[0]}×{k.shape[1]}" for k in self.kernels)
            msg = f"{label}: the kernels of a bank must have one shape; got {listed}"
            raise KernelError(msg)

    @property
    def kind(self) -> str:
        """Always ``"bank"``."""
        return "bank"

    @property
    def shape(self) -> tuple[int, int]:
        """The shape every member shares."""
        return self.kernels[0].shape

    def flipped(self) -> KernelBank:
        """The bank with every member rotated 180°."""
        return replace(self, kernels=tuple(k.flipped() for k in self.kernels))


def combine_responses(responses: Sequence[np.ndarray], combine: CombineMode) -> np.ndarray:
    """Merge the feature maps of a bank's kernels.

    Parameters
    ----------
    responses : sequence of numpy.ndarray
        One feature map per kernel, all of one shape: ``(H', W')`` or ``(H', W', C)``.
    combine : {"stack", "magnitude", "max", "min", "sum", "abs-sum"}
        ``magnitude`` is √Σr², ``abs-sum`` Σ|r|; ``stack`` puts the maps on a new last axis,
        giving ``(H', W', K)`` or ``(H', W', C, K)``.

    Returns
    -------
    numpy.ndarray
        The combined map, of the responses' dtype.

    Raises
    ------
    KernelError
        If there are no responses, their shapes differ, or the mode is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> combine_responses([np.array([[3.0]]), np.array([[-4.0]])], "magnitude")
    array([[5.]])
    """
    arrays = [np.asarray(r) for r in responses]
    _check_responses(arrays, combine)
    stacked = np.stack(arrays, axis=-1)
    return _REDUCERS[combine](stacked)


def _check_responses(arrays: list[np.ndarray], combine: str) -> None:
    if combine not in COMBINE_MODES:
        msg = f"combine mode {combine!r} is not one of {', '.join(COMBINE_MODES)}"
        raise KernelError(msg)
    if not arrays:
        msg = "no responses to combine; expected one per kernel of the bank"
        raise KernelError(msg)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        msg = f"responses have shapes {sorted(shapes)}; expected one shape to combine them"
        raise KernelError(msg)


_REDUCERS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "stack": lambda s: s,
    "magnitude": lambda s: np.sqrt(np.sum(s * s, axis=-1)),
    "max": lambda s: np.max(s, axis=-1),
    "min": lambda s: np.min(s, axis=-1),
    "sum": lambda s: np.sum(s, axis=-1),
    "abs-sum": lambda s: np.sum(np.abs(s), axis=-1),
}


def kernel_dir() -> Path:
    """The folder of the built-in kernel files.

    ``convcli/kernels`` inside an installed wheel, else ``<repo>/kernels`` in a checkout.
    """
    packaged = Path(__file__).parent / "kernels"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "kernels"


def infer_kind(weights: np.ndarray) -> KernelKind:
    """Guess an unnamed kernel's kind: all ≥ 0 smoothing, zero sum edge, else sharpen/other."""
    if np.all(weights >= 0):
        return "smoothing"
    if matrix.is_zero_sum(weights):
        return "edge"
    centre = weights[weights.shape[0] // 2, weights.shape[1] // 2]
    return "sharpen" if weights.sum() > 0 and centre > 0 else "other"


# --------------------------------------------------------------------------- TOML files

_KERNEL_FIELDS = ("name", "description", "kind", "weights", "normalize", "scale", "offset",
                  "anchor", "tags", "aliases")  # fmt: skip
_BANK_FIELDS = ("name", "description", "kernels", "combine", "tags", "aliases")

Resolver = Callable[[str], "Kernel | KernelBank"]


@dataclass(frozen=True)
class _TomlContext:
    """What a TOML file is checked against: its label, its stem, and how names resolve."""

    label: str
    stem: str
    library: bool
    resolve: Resolver


def read_toml(path: Path, label: str) -> dict[str, Any]:
    """Parse a TOML file, with its errors as :class:`KernelError`."""
    text = matrix.read_text(path, label)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{label}: not valid TOML: {exc}"
        raise KernelError(msg) from None


def kernel_from_toml(data: Mapping[str, Any], ctx: _TomlContext) -> Kernel | KernelBank:
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


def _kernel_from_toml(
    data: Mapping[str, Any], ctx: _TomlContext, common: dict[str, Any]
) -> Kernel:
    if "weights" not in data:
        msg = (
            f"{ctx.label}: `weights` is missing; expected a list of rows, or `kernels` for a bank"
        )
        raise KernelError(msg)
    weights = matrix.matrix_from_data(data["weights"], ctx.label, "`weights`")
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
    return _check_anchor(anchor, shape, label)


def _scaled(weights: np.ndarray, data: Mapping[str, Any], label: str) -> np.ndarray:
    """Apply ``scale`` (divide by it) then ``normalize`` (divide by the sum), never by zero."""
    scale = _number_field(data, "scale", label, default=1.0)
    if abs(scale) < _TOLERANCE:
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
        if matrix.is_zero_sum(weights):
            msg = (
                f"{label}: `normalize` is true but the weights sum to 0; "
                "a zero-sum kernel cannot be normalized"
            )
            raise KernelError(msg)
        weights = weights / weights.sum()
    return weights


def _bank_from_toml(
    data: Mapping[str, Any], ctx: _TomlContext, common: dict[str, Any]
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


def _member(entry: object, index: int, ctx: _TomlContext) -> Kernel:
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


def _text(data: Mapping[str, Any], key: str, ctx: _TomlContext, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        msg = f"{ctx.label}: `{key}` is {value!r}; expected a string"
        raise KernelError(msg)
    return value


def _strings(data: Mapping[str, Any], key: str, ctx: _TomlContext) -> tuple[str, ...]:
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


# --------------------------------------------------------------------------- the library


@functools.lru_cache(maxsize=1)
def _library() -> dict[str, Kernel | KernelBank]:
    """Every library entry by name and alias; kernels are loaded before the banks using them."""
    folder = kernel_dir()
    parsed = [
        (path, read_toml(path, _library_label(path))) for path in sorted(folder.glob("*.toml"))
    ]
    registry: dict[str, Kernel | KernelBank] = {}
    for path, data in sorted(parsed, key=lambda item: "kernels" in item[1]):
        ctx = _TomlContext(_library_label(path), path.stem, True, _member_resolver(registry))
        _register(registry, kernel_from_toml(data, ctx))
    return registry


def _library_label(path: Path) -> str:
    return f"kernels/{path.name}"


def _register(registry: dict[str, Kernel | KernelBank], entry: Kernel | KernelBank) -> None:
    for name in (entry.name, *entry.aliases):
        if name in registry:
            msg = f"{entry.source}: the name {name!r} is already used by {registry[name].source}"
            raise KernelError(msg)
        registry[name] = entry


def _member_resolver(registry: Mapping[str, Kernel | KernelBank]) -> Resolver:
    """Resolve bank members against ``registry`` (not yet complete while loading)."""

    def resolve(spec: str) -> Kernel | KernelBank:
        text = spec.strip()
        if text in registry:
            return registry[text]
        if ":" in text or _looks_inline(text):
            return parse_kernel_spec(text)
        msg = f"bank member {text!r} is not a kernel of the library"
        raise KernelError(msg)

    return resolve


def load_library() -> list[Kernel | KernelBank]:
    """Every kernel and bank of the ``kernels/`` folder, sorted by name.

    Returns
    -------
    list of Kernel or KernelBank
        One entry per file (aliases are not repeated).

    Raises
    ------
    KernelError
        If a library file is invalid (a packaging bug, named with its file and field).
    """
    unique = {id(entry): entry for entry in _library().values()}
    return sorted(unique.values(), key=lambda entry: entry.name)


def parametric_kernels() -> list[Parametric]:
    """The parametric kernel families (``gaussian``, ``box``, ...), sorted by name."""
    return sorted(PARAMETRIC.values(), key=lambda family: family.name)


# --------------------------------------------------------------------------- the spec parser


def parse_kernel_spec(spec: str) -> Kernel | KernelBank:
    """Turn a ``--kernel`` spec into a kernel or a bank.

    Parameters
    ----------
    spec : str
        ``NAME``, ``NAME:ARGS``, an inline matrix (``"1 0 -1; 2 0 -2; 1 0 -1"``, ``-1,0,1``),
        a JSON nested list, or a ``.toml``/``.txt``/``.csv``/``.npy``/``.mat`` file path.
        See the module docstring for the grammar.

    Returns
    -------
    Kernel or KernelBank

    Raises
    ------
    KernelError
        With a message naming the spec, the row, line or field, the value and what was
        expected; unknown names come with the closest known ones.

    Examples
    --------
    >>> float(parse_kernel_spec("box:3").weights.sum())
    1.0
    >>> parse_kernel_spec("sobel").combine
    'magnitude'
    """
    text = spec.strip()
    if text.startswith("="):  # `-k=-1,0,1`: click keeps the `=` of a short option
        text = text[1:].strip()
    if not text:
        msg = "the kernel spec is empty; expected a name, NAME:ARGS, a matrix or a file"
        raise KernelError(msg)
    if text.startswith("["):
        return _inline(matrix.parse_json_matrix(text, _inline_label(text)), text)
    if _looks_like_path(text):
        return load_kernel_file(Path(text))
    if _looks_inline(text):
        return _inline(matrix.parse_matrix_text(text, _inline_label(text)), text)
    return _named(text)


def _looks_inline(text: str) -> bool:
    return text[0] in "0123456789+-."


def _looks_like_path(text: str) -> bool:
    return Path(text).suffix.lower() in FILE_SUFFIXES or "/" in text or "\\" in text


def _inline_label(text: str) -> str:
    shown = " ".join(text.split())
    return f"inline kernel {shown if len(shown) <= 40 else shown[:37] + '...'!r}"


def _inline(weights: np.ndarray, text: str) -> Kernel:
    return Kernel(name="inline", weights=weights, description="inline matrix",
                  kind=infer_kind(weights), source=_inline_label(text))  # fmt: skip


def _named(text: str) -> Kernel | KernelBank:
    """A library name, or ``NAME:ARGS`` / ``NAME`` of a parametric family."""
    name, colon, args = text.partition(":")
    name = name.strip().lower()
    library = _library()
    if not colon and name in library:
        return library[name]
    if name in PARAMETRIC:
        return _parametric(PARAMETRIC[name], args)
    if name in library:
        msg = (
            f"kernel {name!r} takes no parameters (got {text!r}); "
            f"parametric kernels: {', '.join(sorted(PARAMETRIC))}"
        )
        raise KernelError(msg)
    raise KernelError(_unknown_name_message(name))


def _unknown_name_message(name: str) -> str:
    known = sorted({*_library(), *PARAMETRIC})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    exists = f"; {name!r} exists but is not a kernel file ({', '.join(FILE_SUFFIXES)})"
    suffix = exists if Path(name).exists() else ""
    return f"unknown kernel {name!r}{hint}{suffix} (`convcli kernels` lists them all)"


def _parametric(family: Parametric, args: str) -> Kernel:
    weights, values = build(family, args)
    return Kernel(name=f"{family.name}:{_canonical_args(values, weights)}", weights=weights,
                  description=family.description, kind=cast(KernelKind, family.kind),
                  source="parametric")  # fmt: skip


def _canonical_args(values: Mapping[str, float | None], weights: np.ndarray) -> str:
    """``sigma=2,size=13``: every parameter's value in effect, the size included."""
    shown = {**values, "size": weights.shape[0]} if "size" in values else dict(values)
    return ",".join(f"{key}={value:g}" for key, value in shown.items() if value is not None)


def load_kernel_file(path: Path) -> Kernel | KernelBank:
    """Read a kernel from a ``.toml``, ``.txt``, ``.csv``, ``.npy`` or libvips ``.mat`` file.

    Parameters
    ----------
    path : pathlib.Path
        The file; its suffix says the format.

    Returns
    -------
    Kernel or KernelBank
        A bank only from a ``.toml`` file with a ``kernels`` list.

    Raises
    ------
    KernelError
        If the file is missing, unreadable, of another type or not a valid kernel.
    """
    label = str(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        msg = f"{label}: is a folder; expected a kernel file"
        raise KernelError(msg)
    if not suffix and not path.exists():
        msg = f"{label}: kernel file not found"
        raise KernelError(msg)
    if suffix not in FILE_SUFFIXES:
        msg = (
            f"{label}: unsupported kernel file type {suffix or '(none)'!r}; "
            f"expected {', '.join(FILE_SUFFIXES)}"
        )
        raise KernelError(msg)
    if suffix == ".toml":
        ctx = _TomlContext(label, path.stem, False, _member_resolver(_library()))
        return kernel_from_toml(read_toml(path, label), ctx)
    return _matrix_file(path, label, suffix)


def _matrix_file(path: Path, label: str, suffix: str) -> Kernel:
    offset = 0.0
    if suffix == ".npy":
        weights = matrix.read_npy_file(path, label)
    elif suffix == ".mat":
        weights, offset = matrix.read_mat_file(path, label)
    else:
        weights = matrix.read_text_file(path, label)
    return Kernel(name=path.stem, weights=weights, description=f"from {path.name}",
                  kind=infer_kind(weights), offset=offset, source=label)  # fmt: skip


# --------------------------------------------------------------------------- descriptions


def kernel_info(entry: Kernel | KernelBank) -> dict[str, Any]:
    """A JSON-ready summary of a kernel or bank, as ``convcli kernels --json`` prints it.

    Examples
    --------
    >>> info = kernel_info(parse_kernel_spec("sobel_x"))
    >>> info["name"], info["shape"], info["sum"], info["rank"], info["separable"]
    ('sobel_x', [3, 3], 0.0, 1, True)
    """
    common = {"name": entry.name, "kind": entry.kind, "shape": list(entry.shape),
              "description": entry.description, "aliases": list(entry.aliases),
              "tags": list(entry.tags), "source": entry.source}  # fmt: skip
    if isinstance(entry, KernelBank):
        members = [k.name for k in entry.kernels]
        return {**common, "sum": None, "rank": None, "separable": None,
                "combine": entry.combine, "kernels": members}  # fmt: skip
    return {**common, "sum": entry.sum, "rank": entry.rank, "separable": entry.rank == 1,
            "anchor": list(entry.center), "offset": entry.offset,
            "weights": entry.weights.tolist()}  # fmt: skip
