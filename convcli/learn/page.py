"""One self-contained HTML page of the sliding window, for any image and kernel.

The page (``convcli explain ... --html page.html``) shows the padded input, the kernel as
run, the output feature map and, for the output cell under the pointer, the window, the
products and the sum as ``explain --at`` prints them. Every number on it comes from
:func:`~convcli.learn.window.explain_at` (checked against the engine) and from the engine's
padding index maps (:func:`~convcli.engine.pad_indices`), written into the file as JSON
strings formatted by :func:`~convcli.learn.text.fmt`: the page's script only looks numbers
up and lays them out, it never computes one. Pictures are PNGs inside the file; there is
no server, no network and nothing external. The caller may add the ``--emit`` programs of
the same filter: the page shows them as text.

Large inputs are shown as a crop of the output (at most :data:`MAX_VIEW` positions a side,
fewer for large kernels), centred on ``--at`` or on the middle, with the padded input
under those windows; the page says which crop it is.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from convcli.engine import pad_indices
from convcli.errors import GeometryError
from convcli.geometry import Pair
from convcli.io import atomic_write
from convcli.learn.gallery import diverging
from convcli.learn.shapes import dims
from convcli.learn.text import MAX_PAD_NOTES, MAX_SUM_TERMS, fmt, kernel_title, mode_words
from convcli.learn.window import Setup, check_position, explain_at

MAX_VIEW = 64
"""Output positions shown a side."""
MAX_PRODUCTS = MAX_VIEW * MAX_VIEW * 25
"""Products written into one page (positions × kernel taps); larger kernels get a smaller crop."""
MAX_REGION = 192
"""Padded input cells shown a side."""
MAX_KERNEL_TAPS = 1024
"""Kernel taps the page lays out as a table of products."""
PAD_TINT = (60, 170, 150)
"""Padding cells are drawn tinted towards this colour."""


@dataclass(frozen=True)
class PageView:
    """Which output positions the page shows, and the padded input under their windows.

    Attributes
    ----------
    rows, cols : range
        Output rows and columns shown.
    region_rows, region_cols : range
        Rows and columns of the padded input (padded coordinates) under their windows.
    """

    rows: range
    cols: range
    region_rows: range
    region_cols: range

    @property
    def hw(self) -> Pair:
        """Output positions shown: rows, columns."""
        return len(self.rows), len(self.cols)


@dataclass(frozen=True)
class PageInfo:
    """What :func:`write_page` wrote.

    Attributes
    ----------
    path : Path
        The HTML file.
    view : PageView
        The positions it shows.
    size : int
        Its size in bytes.
    """

    path: Path
    view: PageView
    size: int


def choose_view(setup: Setup, at: Pair | None = None) -> PageView:
    """The output positions to show: all of them, or a crop centred on ``at`` (else the middle).

    Parameters
    ----------
    setup : Setup
        The problem, from :func:`~convcli.learn.window.prepare`.
    at : (int, int), optional
        An output position the crop must hold, near its middle.

    Returns
    -------
    PageView

    Raises
    ------
    GeometryError
        If the kernel has more than :data:`MAX_KERNEL_TAPS` taps, or one window spans more
        than :data:`MAX_REGION` cells a side.

    Examples
    --------
    >>> from convcli.learn.window import prepare
    >>> view = choose_view(prepare(np.zeros((100, 300)), np.ones((3, 3))), at=(0, 299))
    >>> view.rows, view.cols, view.region_rows
    (range(0, 64), range(236, 300), range(0, 66))
    """
    kh, kw = setup.geometry.kernel_hw
    if kh * kw > MAX_KERNEL_TAPS:
        msg = (
            f"--html lays out every product of the kernel; {setup.kernel_name} is "
            f"{dims((kh, kw))} = {kh * kw} taps, more than {MAX_KERNEL_TAPS}: "
            "use --at ROW,COL without --html"
        )
        raise GeometryError(msg)
    side = min(MAX_VIEW, math.isqrt(MAX_PRODUCTS // (kh * kw)))
    rows, region_rows = _axis(setup, 0, side, at)
    cols, region_cols = _axis(setup, 1, side, at)
    return PageView(rows, cols, region_rows, region_cols)


def _axis(setup: Setup, axis: int, side: int, at: Pair | None) -> tuple[range, range]:
    """Output indices along one axis, and the padded indices under their windows."""
    g = setup.geometry
    out, step, span = g.output_hw[axis], g.stride[axis], g.effective_kernel_hw[axis]
    if span > MAX_REGION:
        msg = (
            f"--html shows the padded input under each window; one window spans "
            f"{dims(g.effective_kernel_hw)} cells, more than {MAX_REGION} a side: "
            "use a smaller kernel or dilation"
        )
        raise GeometryError(msg)
    n = min(out, side, (MAX_REGION - span) // step + 1)
    centre = at[axis] if at is not None else out // 2
    start = min(max(centre - n // 2, 0), out - n)
    return range(start, start + n), range(start * step, (start + n - 1) * step + span)


class _Strings:
    """A table of distinct number strings; the page refers to them by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, value: float) -> int:
        text = fmt(float(value))
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]

    def many(self, values: np.ndarray) -> list[int]:
        return [self.add(v) for v in np.asarray(values).ravel()]


def _png(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 array as a ``data:`` URI of a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grey_picture(values: np.ndarray, pads: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Grey levels from the lowest to the highest value shown; padding tinted."""
    low, high = float(values.min()), float(values.max())
    grey = (values - low) / ((high - low) or 1.0) * 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[pads] = 0.55 * rgb[pads] + 0.45 * np.array(PAD_TINT, dtype=float)
    return np.round(rgb).astype(np.uint8), low, high


def _axis_maps(setup: Setup, axis: int, region: range) -> dict[str, list[int]]:
    """Per padded row (or column) of the region: input label, padding, where it copies from."""
    n, pads = setup.geometry.input_hw[axis], setup.geometry.pads[axis]
    index = np.arange(region.start, region.stop)
    source = pad_indices(n, pads[0], pads[1], setup.padding_mode)[index]
    label = index - pads[0]
    in_region = (source + pads[0] >= region.start) & (source + pads[0] < region.stop)
    return {
        "labels": label.tolist(),
        "pad": ((label < 0) | (label >= n)).astype(int).tolist(),
        "source": source.tolist(),
        "sourceAt": np.where(in_region & (source >= 0), source + pads[0] - region.start, -1)
        .astype(int)
        .tolist(),
    }


def _region(setup: Setup, view: PageView, strings: _Strings) -> dict[str, Any]:
    rows, cols = _axis_maps(setup, 0, view.region_rows), _axis_maps(setup, 1, view.region_cols)
    values = setup.padded[view.region_rows.start : view.region_rows.stop][
        :, view.region_cols.start : view.region_cols.stop
    ]
    pads = np.logical_or.outer(np.array(rows["pad"], bool), np.array(cols["pad"], bool))
    picture, low, high = _grey_picture(values, pads)
    return {
        "h": values.shape[0],
        "w": values.shape[1],
        "values": strings.many(values),
        "rows": rows,
        "cols": cols,
        "png": _png(picture),
        "legend": _input_legend(setup, low, high),
    }


def _input_legend(setup: Setup, low: float, high: float) -> str:
    copies = "" if setup.padding_mode == "zeros" else "; point at one to see what it copies"
    return (
        f"grey levels from {fmt(low)} (black) to {fmt(high)} (white); the line is the edge of "
        f"the input; tinted cells are padding ({mode_words(setup)}, like "
        f"{mode_picture(setup)}){copies}"
    )


def mode_picture(setup: Setup) -> str:
    """The padding mode drawn on ``a b c d`` padded by 3, from the engine's index map.

    Examples
    --------
    >>> from convcli.learn.window import prepare
    >>> mode_picture(prepare(np.ones((2, 2)), np.ones((1, 1)), padding_mode="reflect"))
    'd c b | a b c d'
    """
    cells = [
        "abcd"[i] if i >= 0 else fmt(setup.cval) for i in pad_indices(4, 3, 0, setup.padding_mode)
    ]
    return " ".join(cells[:3]) + " | " + " ".join(cells[3:])


def _taps(setup: Setup, view: PageView) -> dict[str, list[list[int]]]:
    """Region rows (columns) of the kernel's taps, per output row (column) shown."""
    rows = [(setup.tap_indices((r, 0))[0] - view.region_rows.start).tolist() for r in view.rows]
    cols = [(setup.tap_indices((0, c))[1] - view.region_cols.start).tolist() for c in view.cols]
    return {"rows": rows, "cols": cols}


def _output(setup: Setup, view: PageView, engine: list[int]) -> dict[str, Any]:
    shown = setup.output[view.rows.start : view.rows.stop, view.cols.start : view.cols.stop]
    scale = float(np.percentile(np.abs(shown), 99)) or float(np.abs(shown).max()) or 1.0
    return {
        "rows": list(view.rows),
        "cols": list(view.cols),
        "values": engine,
        "png": _png(diverging(shown, scale)),
        "legend": f"blue negative, white zero, red positive; full colour at ±{fmt(scale)} "
        "(99th percentile of |output| shown)",
    }


def page_data(
    setup: Setup,
    view: PageView,
    *,
    title: str,
    lines: list[str],
    at: Pair | None = None,
    programs: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: number strings and their indices.

    Parameters
    ----------
    setup : Setup
        The problem, from :func:`~convcli.learn.window.prepare`.
    view : PageView
        The positions to show, from :func:`choose_view`.
    title : str
        The page's title.
    lines : list of str
        The heading lines (``explain``'s heading: input, operation, pads, shape formula).
    at : (int, int), optional
        The output position selected first (one of the view's); by default its first.
    programs : sequence of (str, str), optional
        ``(label, text)`` of the ``--emit`` programs for the same filter, shown as text.

    Returns
    -------
    dict
        ``strings`` holds every number as ``explain`` writes it; the rest refers to them
        by index. ``products`` holds each position's products, row by row (taps in the
        kernel's order); ``totals`` and ``engine`` each position's sum and engine value.
    """
    strings = _Strings()
    output = setup.output
    explained = [
        explain_at(setup, (r, c), engine_value=float(output[r, c]))
        for r in view.rows
        for c in view.cols
    ]
    kernel = setup.kernel_used
    totals = [strings.add(e.total) for e in explained]
    engine = [strings.add(e.engine_value) for e in explained]
    return {
        "title": title,
        "lines": lines,
        "view": describe_view(setup, view),
        "region": _region(setup, view, strings),
        "kernel": {
            "h": kernel.shape[0],
            "w": kernel.shape[1],
            "values": strings.many(kernel),
            "title": kernel_title(setup) + ":",
        },
        "output": _output(setup, view, engine),
        "taps": _taps(setup, view),
        "products": [i for e in explained for i in strings.many(e.products)],
        "start": _start_index(view, at),
        "totals": totals,
        "engine": engine,
        "mode": setup.padding_mode,
        "modeWords": mode_words(setup),
        "cval": fmt(setup.cval),
        "maxTerms": MAX_SUM_TERMS,
        "maxPadNotes": MAX_PAD_NOTES,
        "programs": [{"label": label, "text": text} for label, text in programs],
        "strings": strings.items,
    }


def _start_index(view: PageView, at: Pair | None) -> int:
    """The index, row by row among the positions shown, of ``at`` (else 0)."""
    if at is None:
        return 0
    return (at[0] - view.rows.start) * len(view.cols) + at[1] - view.cols.start


def describe_view(setup: Setup, view: PageView) -> str:
    """What part of the problem the page shows, in words.

    Examples
    --------
    >>> from convcli.learn.window import prepare
    >>> s = prepare(np.zeros((4, 4)), np.ones((3, 3)), padding="valid")
    >>> describe_view(s, choose_view(s))
    'showing the whole 2×2 output and the 4×4 padded input under it'
    """
    g = setup.geometry
    region = f"{dims((len(view.region_rows), len(view.region_cols)))} padded input"
    if view.hw == g.output_hw:
        return f"showing the whole {dims(g.output_hw)} output and the {region} under it"
    (top, _), (left, _) = g.pads
    return (
        f"showing a crop: output rows {view.rows.start}..{view.rows.stop - 1}, cols "
        f"{view.cols.start}..{view.cols.stop - 1} ({dims(view.hw)} of the {dims(g.output_hw)} "
        f"output), and the {region} under them (input rows {view.region_rows.start - top}.."
        f"{view.region_rows.stop - 1 - top}, cols {view.region_cols.start - left}.."
        f"{view.region_cols.stop - 1 - left}); --at ROW,COL centres the crop elsewhere"
    )


def render_page(data: dict[str, Any]) -> str:
    """The HTML page: the template with its script and ``data`` written in.

    The JSON is written with ``<`` escaped, so no value can close the script element.
    """
    folder = resources.files("convcli.learn")
    template = folder.joinpath("page.html").read_text(encoding="utf-8")
    script = folder.joinpath("page.js").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return template.replace("/*SCRIPT*/", script).replace("/*DATA*/", payload)


def write_page(
    path: str | Path,
    setup: Setup,
    *,
    at: Pair | None = None,
    title: str = "convcli explain",
    lines: list[str] | None = None,
    programs: Sequence[tuple[str, str]] = (),
) -> PageInfo:
    """Write the page of ``setup`` to ``path``, atomically.

    Parameters
    ----------
    path : str or Path
        The HTML file to write.
    setup : Setup
        The problem, from :func:`~convcli.learn.window.prepare`.
    at : (int, int), optional
        The output position selected first; a crop of a large output is centred on it.
    title : str
        The page's title.
    lines : list of str, optional
        The heading lines.
    programs : sequence of (str, str), optional
        ``(label, text)`` of the ``--emit`` programs, shown in a section of their own.

    Returns
    -------
    PageInfo

    Raises
    ------
    GeometryError
        If ``at`` is outside the output, or the kernel or its windows are too large to lay
        out (:func:`choose_view`).
    OutputError
        If the file cannot be written.
    """
    if at is not None:
        check_position(setup.geometry, at)
    view = choose_view(setup, at)
    data = page_data(setup, view, title=title, lines=lines or [], at=at, programs=programs)
    content = render_page(data).encode("utf-8")

    def save(handle: BinaryIO) -> None:
        handle.write(content)

    atomic_write(path, save)
    return PageInfo(Path(path), view, len(content))
