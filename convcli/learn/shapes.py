"""Shape arithmetic for learners: one convolution's shape report and CNN layer chains.

A layer is written like the layers of a CNN paper: ``k7s2p3`` is a 7×7 kernel, stride 2,
padding 3; ``k3s1d2p2`` adds dilation 2; ``k3x5`` is 3 rows by 5 columns; ``psame``,
``pvalid`` and ``pfull`` use the padding words. Missing parts default to ``s1``, ``d1``
and ``p0`` (the CNN convention, not ``apply``'s ``same``).

Along a chain, the receptive field ``r`` and the jump ``j`` (the distance in input
pixels between neighbouring outputs) follow the recurrence::

    r_out = r_in + (k - 1)·d·j_in        j_out = j_in·s        (r_0 = 1, j_0 = 1)

Sizes are read as ``HxW`` or ``HxWxC`` (``x``, ``X`` or ``×``) and written height first with
``×``, as NumPy's shape and the shape formula are: ``224×224×3``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from convcli.errors import GeometryError
from convcli.geometry import Geometry, PaddingSpec, Pair, dims, resolve_geometry

_LAYER = re.compile(
    r"^k(?P<kh>\d+)(?:[x×](?P<kw>\d+))?"
    r"(?:s(?P<s>\d+(?:,\d+)?)|d(?P<d>\d+(?:,\d+)?)|p(?P<p>\d+(?:,\d+)?|same|valid|full))*$"
)
_PART = re.compile(r"([sdp])(\d+(?:,\d+)?|same|valid|full)")
_SIZE = re.compile(r"^(\d+)[x×](\d+)(?:[x×](\d+))?$")
_LAYER_HELP = "k<K>[x<K>] then optional s<N>, d<N>, p<N|same|valid|full>, e.g. k7s2p3"


@dataclass(frozen=True)
class LayerSpec:
    """One convolution layer of a chain: kernel size, stride, padding and dilation.

    Attributes
    ----------
    text : str
        The layer as written, e.g. ``'k7s2p3'``.
    kernel_hw, stride, dilation : tuple of int
        ``(y, x)`` pairs.
    padding : int, (int, int) or str
        As :func:`convcli.geometry.resolve_geometry` takes it.
    """

    text: str
    kernel_hw: Pair
    stride: Pair
    dilation: Pair
    padding: PaddingSpec


@dataclass(frozen=True)
class LayerRow:
    """The result of one layer of a chain.

    Attributes
    ----------
    index : int
        1-based position in the chain.
    spec : LayerSpec
        The layer.
    geometry : Geometry
        The resolved geometry: input and output sizes, pads, the formula.
    receptive_field, jump : tuple of int
        ``(y, x)``: input pixels one output sees, and input pixels between neighbouring
        outputs.
    start : tuple of int
        ``(y, x)`` of the top-left input pixel the first output sees (negative: padding).
    dropped : tuple of int
        ``(rows, cols)`` of this layer's input (real pixels, not pads) no window reaches.
    """

    index: int
    spec: LayerSpec
    geometry: Geometry
    receptive_field: Pair
    jump: Pair
    start: Pair
    dropped: Pair


@dataclass(frozen=True)
class ShapeReport:
    """Everything ``convcli shape`` prints for one kernel on one input.

    Attributes
    ----------
    input_hwc : (int, int, int)
        Height, width and channels of the input.
    geometry : Geometry
        The resolved geometry (pads actually used, output shape).
    formulas : tuple of str
        The formula per axis with the numbers substituted.
    warnings : tuple of str
        Plain-word warnings (dropped rows/columns, asymmetric ``same`` pads).
    """

    input_hwc: tuple[int, int, int]
    geometry: Geometry
    formulas: tuple[str, str]
    warnings: tuple[str, ...]

    @property
    def output_hwc(self) -> tuple[int, int, int]:
        """The output shape with the channel count (2-D kernels keep channels)."""
        return (*self.geometry.output_hw, self.input_hwc[2])


def fmt_pair(pair: Pair) -> str:
    """A stride or dilation: one number when both axes agree, else ``y,x``.

    Examples
    --------
    >>> fmt_pair((2, 2)), fmt_pair((2, 1))
    ('2', '2,1')
    """
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def parse_size(text: str) -> tuple[int, int, int]:
    """Parse ``HxW`` or ``HxWxC`` (channels default to 1; ``X`` and ``×`` work too).

    Raises
    ------
    GeometryError
        If ``text`` is not of that form or a number is 0.

    Examples
    --------
    >>> parse_size("224x224x3")
    (224, 224, 3)
    >>> parse_size("480X640"), parse_size("480×640")
    ((480, 640, 1), (480, 640, 1))
    """
    match = _SIZE.match(text.strip().lower())
    if not match:
        msg = f"size {text!r} is not HxW or HxWxC (e.g. 224x224x3)"
        raise GeometryError(msg)
    h, w, c = int(match[1]), int(match[2]), int(match[3] or 1)
    if min(h, w, c) < 1:
        msg = f"size {text!r} has a zero; each of H, W and C must be >= 1"
        raise GeometryError(msg)
    return h, w, c


def _pair_value(text: str) -> Pair:
    numbers = [int(v) for v in text.split(",")]
    return (numbers[0], numbers[-1])


def parse_layer(text: str) -> LayerSpec:
    """Parse a layer like ``k7s2p3``, ``k3s1d2p2``, ``k3x5s2psame`` or ``k3s2,1p1,0``.

    Raises
    ------
    GeometryError
        If ``text`` does not follow the grammar or a value is invalid.

    Examples
    --------
    >>> spec = parse_layer("k3s1d2p2")
    >>> spec.kernel_hw, spec.stride, spec.dilation, spec.padding
    ((3, 3), (1, 1), (2, 2), (2, 2))
    """
    word = text.strip().lower()
    match = _LAYER.match(word)
    if not match:
        msg = f"layer {text!r} is not understood; expected {_LAYER_HELP}"
        raise GeometryError(msg)
    kh = int(match["kh"])
    kernel_hw = (kh, int(match["kw"] or kh))
    parts = {"s": (1, 1), "d": (1, 1), "p": (0, 0)}
    padding: PaddingSpec = 0
    found = _PART.findall(word[match.end("kw") if match["kw"] else match.end("kh") :])
    _check_once(text, [key for key, _ in found])
    for key, value in found:
        if key == "p" and not value[0].isdigit():
            padding = value
        elif key == "p":
            padding = _pair_value(value)
        else:
            parts[key] = _pair_value(value)
    if min(kernel_hw) < 1 or min(parts["s"] + parts["d"]) < 1:
        msg = f"layer {text!r}: kernel size, stride and dilation must be >= 1"
        raise GeometryError(msg)
    return LayerSpec(text, kernel_hw, parts["s"], parts["d"], padding)


def _check_once(text: str, keys: list[str]) -> None:
    """Each of ``s``, ``d`` and ``p`` may appear once in a layer (``k3s2s2`` is a typo)."""
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        msg = f"layer {text!r} gives {', '.join(twice)} more than once; expected {_LAYER_HELP}"
        raise GeometryError(msg)


def _real_dropped(geometry: Geometry, axis: int) -> int:
    """Real input rows/cols (not pads) at the end that no window reaches."""
    return max(0, geometry.dropped(axis) - geometry.pads[axis][1])


def _step(prev: tuple[Pair, Pair, Pair], spec: LayerSpec, g: Geometry) -> tuple[Pair, Pair, Pair]:
    """Advance (receptive field, jump, start) through one layer."""
    rf, jump, start = prev
    new_rf = tuple(rf[a] + (spec.kernel_hw[a] - 1) * spec.dilation[a] * jump[a] for a in (0, 1))
    new_jump = tuple(jump[a] * spec.stride[a] for a in (0, 1))
    new_start = tuple(start[a] - g.pads[a][0] * jump[a] for a in (0, 1))
    return cast(Pair, new_rf), cast(Pair, new_jump), cast(Pair, new_start)


def layer_chain(input_hw: Pair, layers: list[LayerSpec]) -> list[LayerRow]:
    """Run ``input_hw`` through ``layers``: sizes, receptive fields, jumps, dropped pixels.

    Parameters
    ----------
    input_hw : (int, int)
        The input height and width.
    layers : list of LayerSpec
        The chain, first layer first.

    Returns
    -------
    list of LayerRow
        One row per layer.

    Raises
    ------
    GeometryError
        If a layer's output would be empty (the message names the layer and shows the
        formula).

    Examples
    --------
    >>> rows = layer_chain((224, 224), [parse_layer("k7s2p3"), parse_layer("k3s2p1")])
    >>> [(r.geometry.output_hw, r.receptive_field, r.jump) for r in rows]
    [((112, 112), (7, 7), (2, 2)), ((56, 56), (11, 11), (4, 4))]
    """
    rows: list[LayerRow] = []
    state: tuple[Pair, Pair, Pair] = ((1, 1), (1, 1), (0, 0))
    size = input_hw
    for index, spec in enumerate(layers, start=1):
        g = _resolve_layer(index, spec, size)
        state = _step(state, spec, g)
        dropped = (_real_dropped(g, 0), _real_dropped(g, 1))
        rows.append(LayerRow(index, spec, g, state[0], state[1], state[2], dropped))
        size = g.output_hw
    return rows


def _resolve_layer(index: int, spec: LayerSpec, size: Pair) -> Geometry:
    try:
        return resolve_geometry(
            size, spec.kernel_hw, stride=spec.stride, padding=spec.padding, dilation=spec.dilation
        )
    except GeometryError as exc:
        msg = f"layer {index} ({spec.text}) on {dims(size)}: {exc}"
        raise GeometryError(msg) from None


def shape_warnings(geometry: Geometry) -> tuple[str, ...]:
    """Plain-word warnings about a geometry: dropped rows/columns and asymmetric pads.

    Examples
    --------
    >>> shape_warnings(resolve_geometry((7, 7), (3, 3), stride=2, padding=0))
    ()
    >>> shape_warnings(resolve_geometry((8, 9), (3, 3), stride=2, padding=0))[0]
    'stride 2 does not divide evenly: the last row of the input is never used'
    >>> shape_warnings(resolve_geometry((10, 10), (3, 3), stride=4, padding=0))[0]
    'stride 4 does not divide evenly: the last 3 rows and 3 columns of the input are never used'
    """
    notes = [_dropped_warning(geometry), _asymmetry_warning(geometry)]
    return tuple(note for note in notes if note)


def _dropped_warning(geometry: Geometry) -> str:
    counts = [_real_dropped(geometry, axis) for axis in (0, 1)]
    parts = [_count(n, noun) for n, noun in zip(counts, ("row", "column"), strict=True) if n]
    if not parts:
        return ""
    stride = geometry.stride[0] if counts[0] else geometry.stride[1]
    if counts[0] and counts[1] and geometry.stride[0] != geometry.stride[1]:
        stride_words = f"stride {geometry.stride[0]},{geometry.stride[1]}"
    else:
        stride_words = f"stride {stride}"
    verb = "is" if sum(counts) == 1 else "are"
    return (
        f"{stride_words} does not divide evenly: the last {' and '.join(parts)} of the input "
        f"{verb} never used"
    )


def _count(n: int, noun: str) -> str:
    return noun if n == 1 else f"{n} {noun}s"


def _asymmetry_warning(geometry: Geometry) -> str:
    (top, bottom), (left, right) = geometry.pads
    if geometry.padding_word != "same" or (top == bottom and left == right):
        return ""
    return (
        f"'same' padding is asymmetric here (top {top}, bottom {bottom}, left {left}, "
        f"right {right}): the odd pixel goes to the bottom/right, as TensorFlow does"
    )


def shape_report(
    input_hwc: tuple[int, int, int],
    kernel_hw: Pair,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = "same",
    dilation: int | Pair = 1,
) -> ShapeReport:
    """Resolve the geometry of one kernel on one input and explain it.

    Parameters
    ----------
    input_hwc : (int, int, int)
        Input height, width and channels.
    kernel_hw : (int, int)
        Kernel height and width.
    stride, dilation : int or (int, int)
    padding : int, (int, int), ((int, int), (int, int)) or str
        As :func:`convcli.geometry.resolve_geometry`; defaults to ``apply``'s ``same``.

    Returns
    -------
    ShapeReport

    Raises
    ------
    GeometryError
        If the output would be empty (the message shows the formula).

    Examples
    --------
    >>> shape_report((6, 6, 1), (3, 3), padding=0).output_hwc
    (4, 4, 1)
    """
    g = resolve_geometry(
        input_hwc[:2], kernel_hw, stride=stride, padding=padding, dilation=dilation
    )
    return ShapeReport(input_hwc, g, (g.formula(0), g.formula(1)), shape_warnings(g))


def geometry_dict(geometry: Geometry) -> dict[str, object]:
    """A JSON-ready description of a geometry."""
    (top, bottom), (left, right) = geometry.pads
    return {
        "input_hw": list(geometry.input_hw),
        "kernel_hw": list(geometry.kernel_hw),
        "stride": list(geometry.stride),
        "dilation": list(geometry.dilation),
        "padding": geometry.padding_word,
        "pads": {"top": top, "bottom": bottom, "left": left, "right": right},
        "output_hw": list(geometry.output_hw),
        "formulas": [geometry.formula(0), geometry.formula(1)],
    }


def report_dict(report: ShapeReport) -> dict[str, object]:
    """A JSON-ready description of a :class:`ShapeReport`."""
    return {
        "input": list(report.input_hwc),
        **geometry_dict(report.geometry),
        "output": list(report.output_hwc),
        "warnings": list(report.warnings),
    }


def chain_dict(input_hwc: tuple[int, int, int], rows: list[LayerRow]) -> dict[str, object]:
    """A JSON-ready description of a layer chain."""
    return {
        "input": list(input_hwc),
        "layers": [
            {
                "layer": row.spec.text,
                **geometry_dict(row.geometry),
                "receptive_field": list(row.receptive_field),
                "jump": list(row.jump),
                "start": list(row.start),
                "dropped": {"rows": row.dropped[0], "cols": row.dropped[1]},
                "warnings": list(shape_warnings(row.geometry)),
            }
            for row in rows
        ],
    }
