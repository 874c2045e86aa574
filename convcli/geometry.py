"""Stride, padding and dilation: normalisation, the output-shape formula, and its text.

This module is the single source of the shape arithmetic shared by the engine,
``convcli shape``, ``convcli explain`` and every summary::

    out = floor((n + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Literal, cast

from convcli.errors import GeometryError

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]
PaddingWord = Literal["valid", "same", "full"]
PaddingSpec = int | Pair | Pads | str
PaddingMode = Literal["zeros", "reflect", "symmetric", "replicate", "circular"]

PADDING_WORDS: tuple[PaddingWord, ...] = ("valid", "same", "full")
PADDING_MODES: tuple[PaddingMode, ...] = ("zeros", "reflect", "symmetric", "replicate", "circular")
PADDING_MODE_ALIASES: dict[str, PaddingMode] = {
    "constant": "zeros",
    "edge": "replicate",
    "wrap": "circular",
}
AXIS_NAMES = ("h", "w")


def dims(shape: tuple[int, ...] | list[int]) -> str:
    """A size as convcli prints it everywhere: height first (NumPy's order), ``×`` between.

    Examples
    --------
    >>> dims((384, 512, 3))
    '384×512×3'
    """
    return "×".join(str(n) for n in shape)


def _is_int(value: object) -> bool:
    # numbers.Integral covers int and the NumPy integer types, without importing NumPy
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_pair(value: object) -> bool:
    return isinstance(value, tuple | list) and len(value) == 2 and all(_is_int(v) for v in value)


def normalize_pair(value: object, name: str, *, minimum: int = 1) -> Pair:
    """Return ``value`` (an int or a pair of ints) as a ``(y, x)`` pair, validated.

    Parameters
    ----------
    value : int or (int, int)
        The stride or dilation as given.
    name : str
        The parameter's name, used in the error message.
    minimum : int
        The smallest value allowed.

    Returns
    -------
    tuple of int
        ``(y, x)``.

    Raises
    ------
    GeometryError
        If ``value`` is not an int or a pair of ints, or is below ``minimum``.

    Examples
    --------
    >>> normalize_pair(2, "stride")
    (2, 2)
    >>> normalize_pair((1, 3), "dilation")
    (1, 3)
    """
    both = (value, value) if _is_int(value) else value
    if not _is_pair(both):
        msg = f"{name} must be an int or a pair of ints; got {value!r}"
        raise GeometryError(msg)
    y, x = cast(Pair, both)
    pair = (int(y), int(x))
    if min(pair) < minimum:
        msg = f"{name} must be >= {minimum}; got {value!r}"
        raise GeometryError(msg)
    return pair


def normalize_padding_mode(mode: str) -> PaddingMode:
    """Return the canonical padding-mode name for ``mode`` (aliases accepted).

    Examples
    --------
    >>> normalize_padding_mode("edge")
    'replicate'
    """
    if mode in PADDING_MODES:
        return mode
    if mode in PADDING_MODE_ALIASES:
        return PADDING_MODE_ALIASES[mode]
    valid = ", ".join(PADDING_MODES + tuple(PADDING_MODE_ALIASES))
    msg = f"unknown padding mode {mode!r}; expected one of: {valid}"
    raise GeometryError(msg)


def _explicit_pads(padding: object) -> Pads:
    if _is_int(padding):
        p = int(cast(int, padding))
        pads: Pads = ((p, p), (p, p))
    elif _is_pair(padding):
        ph, pw = cast(Pair, padding)
        pads = ((int(ph), int(ph)), (int(pw), int(pw)))
    elif isinstance(padding, tuple | list) and len(padding) == 2 and all(map(_is_pair, padding)):
        (top, bottom), (left, right) = cast(Pads, padding)
        pads = ((int(top), int(bottom)), (int(left), int(right)))
    else:
        pads = _bad_padding(padding)
    if min(min(pads[0]), min(pads[1])) < 0:
        msg = f"padding must not be negative; got {padding!r}"
        raise GeometryError(msg)
    return pads


def _bad_padding(padding: object) -> Pads:
    words = ", ".join(PADDING_WORDS)
    msg = (
        f"padding must be an int, (ph, pw), ((top, bottom), (left, right)) or one of "
        f"{words}; got {padding!r}"
    )
    raise GeometryError(msg)


def _word_pads(word: str, n: int, k: int, s: int, d: int) -> Pair:
    span = d * (k - 1)
    if word == "valid":
        return (0, 0)
    if word == "full":
        return (span, span)
    total = _same_total(n, k, s, d)
    return (total // 2, total - total // 2)


def _same_total(n: int, k: int, s: int, d: int) -> int:
    """Total ``same`` pad of one axis: output ``ceil(n / s)``, as TensorFlow does."""
    out = math.ceil(n / s)
    return max((out - 1) * s + d * (k - 1) + 1 - n, 0)


def _is_same(padding: PaddingSpec) -> bool:
    return isinstance(padding, str) and padding.strip().lower() == "same"


def anchored_padding(
    padding: PaddingSpec,
    input_hw: Pair,
    kernel_hw: Pair,
    anchor: Pair | None,
    *,
    stride: int | Pair = 1,
    dilation: int | Pair = 1,
) -> PaddingSpec:
    """``same`` padding that lays the kernel tap ``anchor`` over each output pixel.

    The total pad is ``same``'s; the pad before is ``anchor * dilation`` (at most the
    total). Without an anchor, or for any padding but ``same``, ``padding`` is returned.

    Examples
    --------
    >>> anchored_padding("same", (5, 5), (2, 2), (1, 1))
    ((1, 0), (1, 0))
    >>> anchored_padding("same", (5, 5), (2, 2), None)
    'same'
    """
    if anchor is None or not _is_same(padding):
        return padding
    s = normalize_pair(stride, "stride")
    d = normalize_pair(dilation, "dilation")
    pads = []
    for a in (0, 1):
        total = _same_total(input_hw[a], kernel_hw[a], s[a], d[a])
        before = min(anchor[a] * d[a], total)
        pads.append((before, total - before))
    return (pads[0], pads[1])


def anchor_tap(kernel_hw: Pair, anchor: Pair | None, dilation: int | Pair = 1) -> Pair:
    """Offset, in input pixels from a window's top-left, of the tap over the output pixel.

    Examples
    --------
    >>> anchor_tap((3, 3), None, dilation=2)
    (2, 2)
    >>> anchor_tap((2, 2), (1, 0))
    (1, 0)
    """
    d = normalize_pair(dilation, "dilation")
    if anchor is not None:
        return (anchor[0] * d[0], anchor[1] * d[1])
    return (d[0] * (kernel_hw[0] - 1) // 2, d[1] * (kernel_hw[1] - 1) // 2)


def resolve_pads(
    padding: PaddingSpec, input_hw: Pair, kernel_hw: Pair, stride: Pair, dilation: Pair
) -> tuple[Pads, PaddingWord | None]:
    """Return the four pads ``((top, bottom), (left, right))`` and the padding word used.

    ``same`` follows TensorFlow: output ``ceil(n / stride)``, the odd pixel at the
    bottom/right. ``full`` pads ``dilation*(k-1)`` on each side; ``valid`` pads nothing.

    Raises
    ------
    GeometryError
        If ``padding`` is negative, malformed or an unknown word.
    """
    if isinstance(padding, str):
        word = padding.strip().lower()
        if word not in PADDING_WORDS:
            from difflib import get_close_matches  # only a misspelt word needs it

            close = get_close_matches(word, PADDING_WORDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = (
                f"unknown padding {padding!r}; expected an int or one of: valid, same, full{hint}"
            )
            raise GeometryError(msg)
        pads = tuple(
            _word_pads(word, input_hw[a], kernel_hw[a], stride[a], dilation[a]) for a in (0, 1)
        )
        return cast(Pads, pads), word
    return _explicit_pads(padding), None


def _out_size(n: int, before: int, after: int, k: int, s: int, d: int) -> int:
    return (n + before + after - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class Geometry:
    """A resolved 2-D geometry: every number the engine uses, and the output shape.

    Attributes
    ----------
    input_hw, kernel_hw, stride, dilation : tuple of int
        ``(y, x)`` pairs.
    pads : ((int, int), (int, int))
        ``((top, bottom), (left, right))`` actually used.
    padding_word : {'valid', 'same', 'full'} or None
        The word the pads came from, if any.
    output_hw : tuple of int
        The output shape, from the formula.
    """

    input_hw: Pair
    kernel_hw: Pair
    stride: Pair
    dilation: Pair
    pads: Pads
    padding_word: PaddingWord | None
    output_hw: Pair

    @property
    def padded_hw(self) -> Pair:
        """Shape of the input after padding."""
        return cast(Pair, tuple(self.input_hw[a] + sum(self.pads[a]) for a in (0, 1)))

    @property
    def effective_kernel_hw(self) -> Pair:
        """Extent of the dilated kernel: ``dilation*(k-1) + 1`` per axis."""
        return cast(Pair, tuple(self.dilation[a] * (self.kernel_hw[a] - 1) + 1 for a in (0, 1)))

    def dropped(self, axis: int) -> int:
        """Rows (axis 0) or columns (axis 1) of the padded input no output window reaches."""
        used = (self.output_hw[axis] - 1) * self.stride[axis] + self.effective_kernel_hw[axis]
        return self.padded_hw[axis] - used

    def formula(self, axis: int) -> str:
        """The shape formula for one axis with the numbers substituted.

        Examples
        --------
        >>> g = resolve_geometry((480, 640), (3, 3), stride=2, padding=1)
        >>> g.formula(0)
        'out_h = floor((480 + 1 + 1 - 1·(3-1) - 1) / 2) + 1 = 240'
        """
        n, k = self.input_hw[axis], self.kernel_hw[axis]
        (before, after), s, d = self.pads[axis], self.stride[axis], self.dilation[axis]
        return (
            f"out_{AXIS_NAMES[axis]} = floor(({n} + {before} + {after} - {d}·({k}-1) - 1)"
            f" / {s}) + 1 = {self.output_hw[axis]}"
        )


def resolve_geometry(
    input_hw: Pair,
    kernel_hw: Pair,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    dilation: int | Pair = 1,
) -> Geometry:
    """Normalise stride, padding and dilation and compute the output shape.

    Parameters
    ----------
    input_hw, kernel_hw : (int, int)
        Input and kernel heights and widths, each >= 1.
    stride, dilation : int or (int, int)
        >= 1.
    padding : int, (ph, pw), ((top, bottom), (left, right)) or {'valid', 'same', 'full'}
        Pads added before the kernel slides.

    Returns
    -------
    Geometry

    Raises
    ------
    GeometryError
        If a value is invalid, or the dilated kernel is larger than the padded input
        (the message shows the formula with the numbers).

    Examples
    --------
    >>> resolve_geometry((6, 6), (3, 3)).output_hw
    (4, 4)
    """
    ihw = normalize_pair(tuple(input_hw), "input size")
    khw = normalize_pair(tuple(kernel_hw), "kernel size")
    s = normalize_pair(stride, "stride")
    d = normalize_pair(dilation, "dilation")
    pads, word = resolve_pads(padding, ihw, khw, s, d)
    out = cast(Pair, tuple(_out_size(ihw[a], *pads[a], khw[a], s[a], d[a]) for a in (0, 1)))
    geometry = Geometry(ihw, khw, s, d, pads, word, out)
    for axis in (0, 1):
        if out[axis] < 1:
            msg = (
                f"kernel (dilated {dims(geometry.effective_kernel_hw)}) is larger than the "
                f"padded input {dims(geometry.padded_hw)}: {geometry.formula(axis)}"
            )
            raise GeometryError(msg)
    return geometry


def output_shape(
    input_hw: Pair,
    kernel_hw: Pair,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    dilation: int | Pair = 1,
) -> Pair:
    """Return the ``(H', W')`` a 2-D convolution produces.

    ``out = floor((n + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1``
    per axis. Parameters are those of :func:`resolve_geometry`.

    Raises
    ------
    GeometryError
        If the output would be empty or a value is invalid.

    Examples
    --------
    >>> output_shape((224, 224), (7, 7), stride=2, padding=3)
    (112, 112)
    >>> output_shape((5, 5), (2, 2), padding="same", stride=2)
    (3, 3)
    """
    return resolve_geometry(
        input_hw, kernel_hw, stride=stride, padding=padding, dilation=dilation
    ).output_hw


MAX_WORKING_PIXELS = 2**28
"""The largest padded input the engine works on: 268,435,456 pixels (1 GiB of float32)."""


def working_geometry(
    geometry: Geometry, limit: int = MAX_WORKING_PIXELS, rows: Pair | None = None
) -> Geometry:
    """The geometry the engine runs: size-checked, strides no longer than the padded input.

    A stride longer than the padded input gives one output on that axis whatever its
    value, so it is shortened to the padded size (the result is the same; the work
    arrays stay small).

    Parameters
    ----------
    geometry : Geometry
        The whole image's.
    limit : int
        The most padded pixels the engine works on at once.
    rows : (int, int), optional
        Output rows ``(start, stop)`` computed alone (a strip): what is checked is the
        padded rows they read, not the whole padded input (whose height is still bounded
        by ``limit``, for its index maps).

    Raises
    ------
    GeometryError
        If the padded input (or a strip's padded rows) is larger than ``limit`` pixels.

    Examples
    --------
    >>> working_geometry(resolve_geometry((6, 6), (3, 3), stride=10**12)).stride
    (6, 6)
    >>> big = resolve_geometry((20000, 20000), (19, 19), padding="same")
    >>> working_geometry(big, rows=(0, 64)).padded_hw
    (20018, 20018)
    """
    ph, pw = geometry.padded_hw
    span = ph if rows is None else min(ph, (rows[1] - rows[0] - 1) * geometry.stride[0]
                                       + geometry.effective_kernel_hw[0])  # fmt: skip
    if max(span, 1) * pw > limit or ph > limit:
        pads = ",".join(str(p) for pair in geometry.pads for p in pair)
        msg = (
            f"the padded input would be {dims(geometry.padded_hw)} = {ph * pw:,} pixels "
            f"(input {dims(geometry.input_hw)}, pads {pads}); the engine works on at most "
            f"{limit:,}: use less padding or dilation"
        )
        raise GeometryError(msg)
    stride = (min(geometry.stride[0], ph), min(geometry.stride[1], pw))
    return replace(geometry, stride=stride) if stride != geometry.stride else geometry
