"""Kernel values: :class:`Kernel` and :class:`KernelBank`, validated when made.

Conventions, stated once:

- **Cross-correlation.** Every kernel is written as it is laid on the image (the CNN
  convention), so ``sobel_x`` is positive where brightness increases to the right and
  ``sobel_y`` where it increases downwards. ``flip=True`` in the engine (or
  :meth:`Kernel.flipped`) turns a kernel into true convolution.
- **Anchor.** The tap laid on the output pixel, as ``(row, col)``. ``None`` means the engine's
  ``same`` convention, ``((h - 1) // 2, (w - 1) // 2)``: the centre of an odd kernel, the
  top-left of the central 2×2 of an even one. Library files with an even side state it.
- **Zero sum.** :func:`is_zero_sum` is the one test of "sums to 0" (edge detectors); such a
  kernel is never divided by its sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

import numpy as np

from convcli.choices import COMBINE_MODES, CombineMode
from convcli.errors import KernelError
from convcli.kernels.files import ZERO_SUM_TOLERANCE, check_array, is_zero_sum

KernelKind = Literal["smoothing", "edge", "sharpen", "other"]
KERNEL_KINDS: tuple[KernelKind, ...] = get_args(KernelKind)

_TOLERANCE = ZERO_SUM_TOLERANCE


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
        weights = check_array(np.asarray(self.weights), label).copy()
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        if self.kind not in KERNEL_KINDS:
            msg = f"{label}: kind {self.kind!r} is not one of {', '.join(KERNEL_KINDS)}"
            raise KernelError(msg)
        if self.anchor is not None:
            object.__setattr__(self, "anchor", check_anchor(self.anchor, weights.shape, label))

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
        return 0.0 if is_zero_sum(self.weights) else float(self.weights.sum())

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

    def anchor_as_run(self, flip: bool) -> tuple[int, int] | None:
        """The stated anchor as the engine lays it: mirrored when ``flip`` rotates the kernel."""
        if self.anchor is None:
            return None
        ay, ax = self.anchor
        return (self.shape[0] - 1 - ay, self.shape[1] - 1 - ax) if flip else (ay, ax)

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
        return replace(self, name=f"{self.name} (flipped)", weights=self.weights[::-1, ::-1],
                       anchor=self.anchor_as_run(flip=True))  # fmt: skip

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


def check_anchor(anchor: Sequence[int], shape: tuple[int, ...], name: str) -> tuple[int, int]:
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


def infer_kind(weights: np.ndarray) -> KernelKind:
    """Guess an unnamed kernel's kind: all ≥ 0 smoothing, zero sum edge, else sharpen/other."""
    if np.all(weights >= 0):
        return "smoothing"
    if is_zero_sum(weights):
        return "edge"
    centre = weights[weights.shape[0] // 2, weights.shape[1] // 2]
    return "sharpen" if weights.sum() > 0 and centre > 0 else "other"


def looks_inline(text: str) -> bool:
    """Whether a spec starts like a number, so it is read as an inline matrix."""
    return text[0] in "0123456789+-."


def inline_label(text: str) -> str:
    """How error messages name an inline matrix (shortened to 40 characters)."""
    shown = " ".join(text.split())
    return f"inline kernel {shown if len(shown) <= 40 else shown[:37] + '...'!r}"


def inline_kernel(weights: np.ndarray, text: str) -> Kernel:
    """The :class:`Kernel` of an inline matrix ``text`` with these ``weights``."""
    return Kernel(name="inline", weights=weights, description="inline matrix",
                  kind=infer_kind(weights), source=inline_label(text))  # fmt: skip


def normalized(spec: Kernel | KernelBank) -> Kernel | KernelBank:
    """``spec`` with every kernel divided by its sum (``--normalize``), so flat areas keep
    their brightness.

    Raises
    ------
    KernelError
        For a kernel whose weights sum to 0 (an edge detector has no sum to divide by).

    Examples
    --------
    >>> k = Kernel("k", np.array([[1.0, 2.0, 1.0]]))
    >>> normalized(k).weights.tolist()
    [[0.25, 0.5, 0.25]]
    """
    if isinstance(spec, KernelBank):
        kernels = tuple(normalized(k) for k in spec.kernels)
        return replace(spec, kernels=kernels)  # type: ignore[arg-type]
    if spec.sum == 0.0:
        label = spec.source if spec.name == "inline" else f"kernel {spec.name!r}"
        msg = (
            f"{label}: the weights sum to 0, so --normalize cannot divide by their sum; "
            "use --scale or --map instead"
        )
        raise KernelError(msg)
    return replace(spec, weights=spec.weights / spec.sum)
