"""Strips from only their own input rows (streaming) are the whole-image call's bytes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convcli.engine import METHODS, convolve, convolve_strip, needed_rows, tile_quantum
from convcli.errors import EngineError
from convcli.geometry import resolve_geometry

CASES = [
    ("uint8", (5, 5), {"padding": "same"}, {"padding_mode": "reflect"}),
    ("uint16", (3, 4), {"padding": "same", "stride": (2, 1), "dilation": (1, 2)},
     {"padding_mode": "circular"}),
    ("uint8", (4, 3), {"padding": ((3, 5), (1, 0)), "dilation": (2, 1)},
     {"padding_mode": "zeros", "cval": 2.0}),
    ("float32", (7, 7), {"padding": "full", "stride": 3},
     {"padding_mode": "symmetric", "flip": True}),
    ("uint8", (1, 1), {"padding": 2}, {"padding_mode": "replicate"}),
    ("float64", (15, 15), {"padding": "same", "dilation": 2}, {"padding_mode": "reflect"}),
]  # fmt: skip


def reference_rows(h, pads, mode, stride, span, start, stop):
    """Independent of the engine: ``numpy.pad`` of the row numbers, the window's rows."""
    names = {"zeros": "constant", "replicate": "edge", "circular": "wrap"}
    kwargs = {"constant_values": -1} if mode == "zeros" else {}
    index = np.pad(np.arange(h), pads, mode=names.get(mode, mode), **kwargs)
    rows = index[start * stride : (stop - 1) * stride + span]
    return np.unique(rows[rows >= 0])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("dtype", "kshape", "geo", "opts"), CASES)
def test_strip_from_held_rows_only_is_bit_identical(method, dtype, kshape, geo, opts):
    rng = np.random.default_rng(sum(kshape))
    x = (rng.random((200, 1500, 3)) * 250).astype(dtype)
    k = rng.normal(size=kshape)
    whole = convolve(x.astype(np.float64 if dtype == "float64" else np.float32), k,
                     method=method, **geo, **opts)  # fmt: skip
    g = whole.geometry
    assert g == resolve_geometry(x.shape[:2], kshape, **geo)
    out = np.float64 if dtype == "float64" else np.float32
    q = tile_quantum(k, g, method=method, flip=opts.get("flip", False), channels=3, dtype=out)
    cuts = [*range(0, g.output_hw[0], q), g.output_hw[0]]
    assert len(cuts) >= 2
    for start, stop in itertools.pairwise(cuts):
        held = needed_rows(g, (start, stop), opts["padding_mode"])
        expect = reference_rows(200, g.pads[0], opts["padding_mode"], g.stride[0],
                                g.effective_kernel_hw[0], start, stop)  # fmt: skip
        np.testing.assert_array_equal(held, expect)
        part = convolve_strip(x[held], held, k, g, (start, stop), method=method, **opts)
        assert part.method == whole.method
        np.testing.assert_array_equal(part.output, whole.output[start:stop])


def test_a_strip_missing_a_needed_row_is_refused():
    x = np.zeros((10, 4), np.uint8)
    g = resolve_geometry(x.shape, (3, 3), padding="same")
    with pytest.raises(EngineError, match=r"lacks image rows .* e\.g\. row 0"):
        convolve_strip(x[[1, 2]], [1, 2], np.ones((3, 3)), g, (1, 3))
    with pytest.raises(EngineError, match="ascending order"):
        convolve_strip(x[[2, 1]], [2, 1], np.ones((3, 3)), g, (1, 2))
