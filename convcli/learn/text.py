"""The text views of the sliding window: grids, headings, sums, one position, a whole grid.

Numbers are written short and exact-looking (:func:`fmt`); ``*`` marks padding cells and
``[ ]`` the cells under the kernel's taps. Sizes are written height first: ``7×7``.
"""

from __future__ import annotations

import numpy as np

from convcli.geometry import Pair
from convcli.learn.shapes import dims, fmt_pair
from convcli.learn.window import PositionExplanation, Setup, output_grid, pad_sources

SMALL_GRID = 12
"""Inputs up to this many rows and columns are shown whole."""
MAX_SUM_TERMS = 25
"""Sums of more products than this are written as their total only."""
MAX_PAD_NOTES = 6
"""Padding cells named one by one under a window; the rest are counted."""


def fmt(value: float) -> str:
    """A short, exact-looking number: integers without a decimal point.

    Examples
    --------
    >>> fmt(3.0), fmt(-0.0), fmt(0.125), fmt(1 / 3)
    ('3', '0', '0.125', '0.3333')
    """
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"


def format_grid(
    values: np.ndarray,
    *,
    row_labels: list[int] | None = None,
    col_labels: list[int] | None = None,
    pads: np.ndarray | None = None,
    taps: np.ndarray | None = None,
    hidden: np.ndarray | None = None,
) -> str:
    """Lay out a matrix as text: ``*`` after padding cells, ``[ ]`` around taps, ``·`` hidden.

    Examples
    --------
    >>> print(format_grid(np.array([[1, -2], [3, 4]]), row_labels=[0, 1], col_labels=[5, 6]))
        5    6
    0   1   -2
    1   3    4
    """
    h, w = values.shape
    cells = [[_cell(values, pads, taps, hidden, r, c) for c in range(w)] for r in range(h)]
    width = max(len(cell) for row in cells for cell in row)
    width = max(width, *(len(str(label)) + 2 for label in col_labels or [0]))
    lines = []
    label_w = max((len(str(label)) for label in row_labels or []), default=-1)
    if col_labels is not None:
        lines.append(" " * (label_w + 1) + "".join(f"{lab:>{width - 2}}  " for lab in col_labels))
    for r, row in enumerate(cells):
        head = f"{row_labels[r]:>{label_w}} " if row_labels is not None else ""
        lines.append(head + "".join(f"{cell:>{width}}" for cell in row).rstrip())
    return "\n".join(line.rstrip() for line in lines)


def _cell(
    values: np.ndarray,
    pads: np.ndarray | None,
    taps: np.ndarray | None,
    hidden: np.ndarray | None,
    r: int,
    c: int,
) -> str:
    if hidden is not None and hidden[r, c]:
        return "·  "
    mark = "*" if pads is not None and pads[r, c] else " "
    text = fmt(float(values[r, c])) + mark
    return f"[{text}]" if taps is not None and taps[r, c] else f" {text} "


def describe_setup(setup: Setup) -> str:
    """The heading lines: operation, kernel, stride, dilation, pads, mode and shapes."""
    g = setup.geometry
    (top, bottom), (left, right) = g.pads
    word = f"{g.padding_word} -> " if g.padding_word else ""
    mode = setup.padding_mode
    if mode == "zeros":
        mode = f"zeros (cval {fmt(setup.cval)})"
    flipped = "kernel flipped 180°, --flip" if setup.flip else "kernel not flipped"
    return "\n".join(
        [
            f"{setup.operation} ({flipped}) of a {dims(g.input_hw)} input "
            f"with {setup.kernel_name} ({dims(g.kernel_hw)})",
            f"stride {fmt_pair(g.stride)}, dilation {fmt_pair(g.dilation)}, padding {word}"
            f"top {top}, bottom {bottom}, left {left}, right {right}; padding mode {mode}",
            f"output {dims(g.output_hw)}:",
            f"  {g.formula(0)}",
            f"  {g.formula(1)}",
        ]
    )


def format_padded_input(setup: Setup, at: Pair | None = None, *, limit: int = 16) -> str:
    """The padded input (``*`` = padding cell), the window of ``at`` bracketed.

    Inputs larger than ``limit`` cells a side are cropped around the window.
    """
    rows, cols = _view_ranges(setup, at, limit)
    (top, _), (left, _) = setup.geometry.pads
    region = np.ix_(rows, cols)
    taps = None
    if at is not None:
        taps = np.zeros(setup.padded.shape, dtype=bool)
        taps[np.ix_(*setup.tap_indices(at))] = True
        taps = taps[region]
    return format_grid(
        setup.padded[region],
        row_labels=[int(r) - top for r in rows],
        col_labels=[int(c) - left for c in cols],
        pads=setup.pad_mask()[region],
        taps=taps,
    )


def _view_ranges(setup: Setup, at: Pair | None, limit: int) -> tuple[np.ndarray, np.ndarray]:
    ph, pw = setup.padded.shape
    if at is None or max(ph, pw) <= limit:
        return np.arange(ph), np.arange(pw)
    (r0, c0), (eh, ew) = setup.window_origin(at), setup.geometry.effective_kernel_hw
    margin = 2
    rows = np.arange(max(r0 - margin, 0), min(r0 + eh + margin, ph))
    cols = np.arange(max(c0 - margin, 0), min(c0 + ew + margin, pw))
    return rows, cols


def format_sum(explanation: PositionExplanation, *, max_terms: int = MAX_SUM_TERMS) -> str:
    """``v×w + v×w + ... = total`` (only the total beyond ``max_terms`` taps).

    Examples
    --------
    >>> from convcli.learn.window import explain_at, prepare
    >>> s = prepare(np.arange(4.0).reshape(2, 2), np.array([[1.0, -1.0]]), padding="valid")
    >>> format_sum(explain_at(s, (1, 0)))
    '2×1 + 3×(-1) = -1'
    """
    terms = [
        f"{_paren(fmt(v))}×{_paren(fmt(w))}"
        for v, w in zip(explanation.values.ravel(), explanation.weights.ravel(), strict=True)
    ]
    if len(terms) > max_terms:
        return f"sum of {len(terms)} products = {fmt(explanation.total)}"
    return " + ".join(terms) + f" = {fmt(explanation.total)}"


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def format_position(setup: Setup, explanation: PositionExplanation) -> str:
    """The full text view of one output value: window, kernel, products, sum, check."""
    at = explanation.at
    labels = {"row_labels": explanation.rows.tolist(), "col_labels": explanation.cols.tolist()}
    parts = [
        f"input around output[{at[0]}, {at[1]}] ([ ] = window taps, * = padding, "
        f"{mode_words(setup)}):",
        format_padded_input(setup, at),
        "window (the input under each kernel tap):",
        format_grid(explanation.values, pads=explanation.padded, **labels),
        f"{kernel_title(setup)}:",
        format_grid(explanation.weights),
        "products (window × kernel):",
        format_grid(explanation.products),
        f"sum = {format_sum(explanation)}",
        f"engine output[{at[0]}, {at[1]}] = {fmt(explanation.engine_value)}  (matches the sum)",
    ]
    notes = padding_notes(setup, explanation)
    if notes:
        parts.insert(4, notes)
    return "\n".join(parts)


def kernel_title(setup: Setup) -> str:
    """``'kernel (not flipped)'`` or ``'kernel, flipped 180° for convolution'``."""
    return "kernel, flipped 180° for convolution" if setup.flip else "kernel (not flipped)"


def mode_words(setup: Setup) -> str:
    """What the pads hold, in words: ``'padding mode reflect'``, ``'... pads hold 0'``."""
    if setup.padding_mode == "zeros":
        return f"padding mode zeros: pads hold {fmt(setup.cval)}"
    return f"padding mode {setup.padding_mode}"


def padding_notes(
    setup: Setup, explanation: PositionExplanation, *, limit: int = MAX_PAD_NOTES
) -> str:
    """Where the padding cells under the window take their values from."""
    sources = pad_sources(setup)
    if sources is None or not explanation.padded.any():
        return ""
    (top, _), (left, _) = setup.geometry.pads
    notes = []
    for i, j in zip(*np.nonzero(explanation.padded), strict=True):
        r, c = int(explanation.rows[i]), int(explanation.cols[j])
        src = int(sources[0][r + top]), int(sources[1][c + left])
        notes.append(f"({r},{c}) copies ({src[0]},{src[1]})")
    more = f", … {len(notes) - limit} more" if len(notes) > limit else ""
    return f"padding cells ({setup.padding_mode}): " + ", ".join(notes[:limit]) + more


def format_step(explanation: PositionExplanation) -> str:
    """One line for ``--steps``: ``out[r, c] = v×w + ... = total``."""
    return f"out[{explanation.at[0]}, {explanation.at[1]}] = {format_sum(explanation)}"


def format_overview(setup: Setup) -> str:
    """The whole small problem: padded input, kernel and the output grid."""
    return "\n".join(
        [
            f"padded input (* = padding, {mode_words(setup)}):",
            format_padded_input(setup),
            f"{kernel_title(setup)}:",
            format_grid(setup.kernel_used),
            "output:",
            format_grid(
                output_grid(setup),
                row_labels=list(range(setup.geometry.output_hw[0])),
                col_labels=list(range(setup.geometry.output_hw[1])),
            ),
        ]
    )
