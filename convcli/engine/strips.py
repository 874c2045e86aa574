"""Row strips of the output, bit-identical to the whole-image call when cut at the quantum.

The engine fills the output in tiles of rows, each from the padded input rows it needs,
and the numbers of a tile depend only on those rows. :func:`tile_quantum` is the tile
height; a strip that starts on a multiple of it runs exactly the tiles the whole-image
call runs, so the pipeline can work strip by strip and write the same bytes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from convcli.engine.padding import pad_indices
from convcli.engine.run import ConvResult, Options, make_plan, run
from convcli.engine.validate import as_image, as_kernel, compute_dtype, output_dtype
from convcli.errors import EngineError
from convcli.geometry import Geometry, Pair, resolve_geometry

if TYPE_CHECKING:  # annotations only: numpy.typing costs every run's start-up
    from numpy.typing import ArrayLike, DTypeLike


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_geometry(geometry: Geometry, image_hw: Pair, kernel_hw: Pair) -> None:
    """``geometry`` must be the resolved geometry of this image and kernel size."""
    if not isinstance(geometry, Geometry):
        msg = f"geometry must be a convcli.geometry.Geometry; got {type(geometry).__name__}"
        raise EngineError(msg)
    expected = resolve_geometry(
        image_hw,
        kernel_hw,
        stride=geometry.stride,
        padding=geometry.pads,
        dilation=geometry.dilation,
    )
    if replace(expected, padding_word=geometry.padding_word) != geometry:
        (ih, iw), (kh, kw) = geometry.input_hw, geometry.kernel_hw
        msg = (
            f"geometry (input {ih}x{iw}, kernel {kh}x{kw}) was not resolved for image "
            f"{image_hw[0]}x{image_hw[1]} and kernel {kernel_hw[0]}x{kernel_hw[1]}"
        )
        raise EngineError(msg)


def _check_rows(out_rows: object, total: int) -> Pair:
    """``out_rows`` as ``(start, stop)`` with ``0 <= start <= stop <= total``."""
    if isinstance(out_rows, tuple | list) and len(out_rows) == 2:
        start, stop = out_rows
        if _is_int(start) and _is_int(stop) and 0 <= start <= stop <= total:
            return int(start), int(stop)
    msg = f"out_rows must be (start, stop) with 0 <= start <= stop <= {total}; got {out_rows!r}"
    raise EngineError(msg)


def convolve_rows(
    image: ArrayLike,
    kernel: ArrayLike,
    geometry: Geometry,
    out_rows: Pair,
    *,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    flip: bool = False,
    method: str = "auto",
    dtype: DTypeLike | None = None,
    threads: int | None = None,
) -> ConvResult:
    """Output rows ``start:stop`` of the whole-image :func:`convolve`, reading only their input.

    Output row ``i`` reads padded rows ``i*sy`` to ``i*sy + dy*(kh-1)``, that is the input
    rows :func:`pad_indices` maps them to (with ``circular`` padding, a strip at one edge
    reads rows at the other). Only those rows of ``image`` are read, so a
    :class:`numpy.memmap` streams from its file.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        The whole image.
    kernel : array_like, shape (kh, kw)
        As for :func:`conv2d`.
    geometry : Geometry
        ``resolve_geometry((H, W), (kh, kw), ...)`` for the whole image.
    out_rows : (int, int)
        ``(start, stop)``, ``0 <= start <= stop <= H'``.
    padding_mode, cval, flip, method, dtype, threads
        As for :func:`conv2d`.

    Returns
    -------
    ConvResult
        ``output`` holds rows ``start:stop`` of the whole-image feature map: the same
        bits when ``start`` and ``stop`` are multiples of :func:`tile_quantum` (or
        ``stop == H'``), the same numbers within rounding otherwise.

    Raises
    ------
    EngineError
        ``geometry`` is not this image's and kernel's, or ``out_rows`` is out of range;
        and as for :func:`conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.engine import conv2d
    >>> from convcli.geometry import resolve_geometry
    >>> x, k = np.arange(20.0).reshape(5, 4), np.ones((3, 3))
    >>> g = resolve_geometry(x.shape, k.shape, padding="same")
    >>> convolve_rows(x, k, g, (1, 3)).output.tolist()
    [[27.0, 45.0, 54.0, 39.0], [51.0, 81.0, 90.0, 63.0]]
    >>> conv2d(x, k, padding="same")[1:3].tolist()
    [[27.0, 45.0, 54.0, 39.0], [51.0, 81.0, 90.0, 63.0]]
    """
    options = Options.checked(padding_mode, cval, flip, method, dtype, threads)
    x, k = as_image(image), as_kernel(kernel)
    _check_geometry(geometry, x.shape[:2], k.shape)
    rows = _check_rows(out_rows, geometry.output_hw[0])
    return run(x, k, geometry, rows, options)


def tile_quantum(
    kernel: ArrayLike,
    geometry: Geometry,
    *,
    method: str = "auto",
    flip: bool = False,
    channels: int = 1,
    dtype: DTypeLike = np.float32,
) -> int:
    """Output rows per engine tile: strips cut at multiples of it are bit-identical.

    The engine fills the output in tiles of this many rows (the last may be shorter),
    each computed only from the padded input rows it covers. Output rows cut into strips
    at multiples of it, each strip computed with :func:`convolve_rows`, therefore give
    exactly the bytes of the whole-image call. It depends on the method (``auto``
    resolves as :func:`conv2d` would), the geometry, the channels and the dtype.

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
        The kernel, as given to :func:`conv2d`.
    geometry : Geometry
        The whole image's resolved geometry.
    method : str
        As for :func:`conv2d`.
    flip : bool
        As for :func:`conv2d`.
    channels : int
        ``C`` of an (H, W, C) image; 1 for (H, W).
    dtype : float dtype
        The output dtype of the call (``conv2d``'s default is float32, or float64 for
        float64 input).

    Returns
    -------
    int
        Output rows, ``>= 1``; possibly more than the output has.

    Raises
    ------
    EngineError
        A bad kernel, method, dtype or channel count, or a geometry for another kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.geometry import resolve_geometry
    >>> k = np.arange(9.0).reshape(3, 3)
    >>> g = resolve_geometry((4096, 4096), k.shape, padding="same")
    >>> tile_quantum(k, g, method="banded"), tile_quantum(k, g, method="fft")
    (60, 46)
    >>> tile_quantum(k, g, method="direct")  # its numbers do not depend on the tiles
    1
    >>> tile_quantum(k, g, method="banded", channels=3, dtype="float64")
    8
    """
    Options.checked("zeros", 0.0, flip, method, dtype, None)
    if not _is_int(channels) or channels < 1:
        msg = f"channels must be an int >= 1; got {channels!r}"
        raise EngineError(msg)
    k = as_kernel(kernel)
    _check_geometry(geometry, geometry.input_hw, k.shape)
    compute = compute_dtype(output_dtype(np.dtype(np.float32), dtype))
    chosen = make_plan(k, geometry, flip, method, compute)
    return chosen.quantum(geometry.padded_hw[1] * int(channels) * compute.itemsize)


def needed_rows(geometry: Geometry, out_rows: Pair, padding_mode: str = "zeros") -> np.ndarray:
    """The image rows output rows ``start:stop`` read, sorted (none for an empty range).

    Output row ``i`` reads padded rows ``i*sy`` to ``i*sy + dy*(kh-1)``, mapped to the
    image by :func:`~convcli.engine.pad_indices` (``circular`` reads the far edge).

    Parameters
    ----------
    geometry : Geometry
        The whole image's resolved geometry.
    out_rows : (int, int)
        ``(start, stop)``, ``0 <= start <= stop <= H'``.
    padding_mode : str
        As for :func:`conv2d`.

    Returns
    -------
    numpy.ndarray
        Unique image row numbers (intp), ascending.

    Examples
    --------
    >>> from convcli.geometry import resolve_geometry
    >>> g = resolve_geometry((10, 4), (3, 3), padding="same")
    >>> needed_rows(g, (0, 2), "reflect").tolist(), needed_rows(g, (9, 10), "circular").tolist()
    ([0, 1, 2], [0, 8, 9])
    """
    start, stop = _check_rows(out_rows, geometry.output_hw[0])
    if start == stop:
        return np.empty(0, np.intp)
    index = pad_indices(geometry.input_hw[0], *geometry.pads[0], padding_mode)
    sy, span = geometry.stride[0], geometry.effective_kernel_hw[0]
    rows = index[start * sy : (stop - 1) * sy + span]
    return held_rows([rows[rows >= 0]])


def held_rows(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The distinct row numbers of every part, ascending (the rows several kernels need).

    A mask over the rows, not :func:`numpy.unique`: that imports ``numpy.ma`` (10 ms of
    every run's start-up) and sorts.

    Examples
    --------
    >>> held_rows([np.array([4, 2, 2]), np.array([0, 4])]).tolist()
    [0, 2, 4]
    """
    top = max((int(p.max()) + 1 for p in parts if p.size), default=0)
    mask = np.zeros(top, bool)
    for part in parts:
        mask[part] = True
    return np.flatnonzero(mask)


def convolve_strip(
    strip: ArrayLike,
    held: ArrayLike,
    kernel: ArrayLike,
    geometry: Geometry,
    out_rows: Pair,
    *,
    padding_mode: str = "zeros",
    cval: float = 0.0,
    flip: bool = False,
    method: str = "auto",
    dtype: DTypeLike | None = None,
    threads: int | None = None,
) -> ConvResult:
    """:func:`convolve_rows` from only some rows of the image: for streaming.

    ``strip`` holds image rows ``held`` (any dtype the engine takes: uint8 and uint16 strips
    are converted as the padded rows are built, with no float copy of the strip), and must
    hold at least :func:`needed_rows` of ``out_rows``. The output is that of
    :func:`convolve_rows` on the whole image, bit for bit.

    Parameters
    ----------
    strip : array_like, shape (len(held), W) or (len(held), W, C)
        The rows held.
    held : array_like of int
        Their row numbers in the whole image, ascending, without repeats.
    kernel, geometry, out_rows, padding_mode, cval, flip, method, dtype, threads
        As for :func:`convolve_rows`; ``geometry`` is the whole image's.

    Returns
    -------
    ConvResult

    Raises
    ------
    EngineError
        Rows that ``out_rows`` needs are not held, ``held`` does not match ``strip``,
        or as for :func:`convolve_rows`.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.geometry import resolve_geometry
    >>> x, k = np.arange(40, dtype=np.uint8).reshape(10, 4), np.ones((3, 3))
    >>> g = resolve_geometry(x.shape, k.shape, padding="same")
    >>> held = needed_rows(g, (4, 6), "reflect")
    >>> part = convolve_strip(x[held], held, k, g, (4, 6), padding_mode="reflect").output
    >>> bool(np.array_equal(part, convolve_rows(x, k, g, (4, 6), padding_mode="reflect").output))
    True
    """
    options = Options.checked(padding_mode, cval, flip, method, dtype, threads)
    x, k = as_image(strip), as_kernel(kernel)
    rows_held = np.asarray(held, dtype=np.intp)
    _check_geometry(geometry, (geometry.input_hw[0], x.shape[1]), k.shape)
    rows = _check_rows(out_rows, geometry.output_hw[0])
    _check_held(rows_held, x.shape[0], needed_rows(geometry, rows, options.mode))
    return run(x, k, geometry, rows, options, rows_held)


def _check_held(held: np.ndarray, strip_rows: int, needed: np.ndarray) -> None:
    """``held`` names each row of the strip, ascending, and covers ``needed``."""
    if held.ndim != 1 or held.size != strip_rows or np.any(np.diff(held) <= 0):
        msg = f"held must list the strip's {strip_rows} image rows in ascending order"
        raise EngineError(msg)
    at = np.minimum(np.searchsorted(held, needed), max(held.size - 1, 0))
    missing = needed[held[at] != needed] if held.size else needed  # both sorted, distinct
    if missing.size:
        msg = f"the strip lacks image rows the output rows need, e.g. row {int(missing[0])}"
        raise EngineError(msg)
