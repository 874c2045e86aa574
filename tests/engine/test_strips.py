"""Row strips: cut at multiples of ``tile_quantum``, they are the whole-image call's bytes.

Each strip is computed from an image whose rows the strip does not need are poisoned
(NaN, or changed values for integer images), so a strip that read more than its own
input rows could not match.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from convcli.engine import METHODS, convolve, convolve_rows, tile_quantum
from convcli.errors import GeometryError
from convcli.geometry import resolve_geometry

GEOMETRY = ("stride", "padding", "dilation")
NUMPY = {
    "zeros": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "circular": "wrap",
}


def needed_rows(h, pads, mode, stride, span, start, stop):
    """Input rows output rows ``start:stop`` read: padded rows ``start*s`` to
    ``(stop-1)*s + span - 1``, mapped back to the image through ``numpy.pad``."""
    kwargs = {"constant_values": -1} if mode == "zeros" else {}
    index = np.pad(np.arange(h), pads, mode=NUMPY[mode], **kwargs)
    rows = index[start * stride : (stop - 1) * stride + span]
    return np.unique(rows[rows >= 0])


def poisoned(x, keep):
    """``x`` with every row not in ``keep`` spoiled."""
    bad = x.copy()
    mask = np.ones(x.shape[0], bool)
    mask[keep] = False
    if x.dtype.kind == "f":
        bad[mask] = np.nan
    else:
        bad[mask] = np.iinfo(x.dtype).max - x[mask]
    return bad


def check_strips(x, k, method, cuts, **args):
    """Every strip between consecutive ``cuts`` equals the whole call's rows, bit for bit."""
    whole = convolve(x, k, method=method, **args)
    g = whole.geometry
    options = {name: value for name, value in args.items() if name not in GEOMETRY}
    mode = options.get("padding_mode", "zeros")
    span = g.dilation[0] * (g.kernel_hw[0] - 1) + 1
    for start, stop in itertools.pairwise(cuts):
        keep = needed_rows(x.shape[0], g.pads[0], mode, g.stride[0], span, start, stop)
        strip = convolve_rows(poisoned(x, keep), k, g, (start, stop), method=method, **options)
        assert strip.method == whole.method
        assert strip.geometry == g
        np.testing.assert_array_equal(strip.output, whole.output[start:stop])


def quantum_cuts(total, quantum):
    return [*range(0, total, quantum), total]


CONFIGS = [
    ("float32", (5, 5), {"padding": "same", "padding_mode": "reflect"}),
    (
        "float64",
        (3, 4),
        {"padding": "same", "stride": (2, 1), "dilation": (1, 2), "padding_mode": "circular"},
    ),
    (
        "uint8",
        (4, 3),
        {"padding": ((3, 5), (1, 0)), "dilation": (2, 1), "padding_mode": "zeros", "cval": 2.0},
    ),
    (
        "float32",
        (7, 7),
        {"padding": "full", "stride": 3, "padding_mode": "symmetric", "flip": True},
    ),
    ("float64", (1, 1), {"padding": 2, "padding_mode": "replicate"}),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("dtype", "kshape", "args"), CONFIGS)
def test_strips_at_the_quantum_are_bit_identical(method, dtype, kshape, args):
    rng = np.random.default_rng(sum(kshape))
    x = (rng.random((360, 2400, 3)) * 200).astype(dtype)
    k = rng.normal(size=kshape)
    g = resolve_geometry(x.shape[:2], kshape, **{a: args[a] for a in GEOMETRY if a in args})
    out_dtype = np.float64 if dtype == "float64" else np.float32
    flip = args.get("flip", False)
    q = tile_quantum(k, g, method=method, flip=flip, channels=3, dtype=out_dtype)
    cuts = quantum_cuts(g.output_hw[0], q)
    assert len(cuts) >= 4, "the image should span several tiles"
    check_strips(x, k, method, cuts, **args)


@st.composite
def strip_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # wide rows of several channels make tiles short enough for a few strips
    h, w = draw(st.integers(30, 160)), draw(st.integers(900, 2000))
    channels = draw(st.sampled_from([(3,), (4,)]))
    dtype = draw(st.sampled_from(["float32", "float64", "uint16"]))
    x = (rng.random((h, w, *channels)) * 1000).astype(dtype)
    kshape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    k = rng.normal(size=kshape) * (rng.random(kshape) < draw(st.sampled_from([0.5, 1.0])))
    args = {
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "dilation": (draw(st.integers(1, 3)), draw(st.integers(1, 2))),
        "padding": draw(st.sampled_from(["same", "full", "valid", 4, ((6, 0), (2, 3))])),
        "padding_mode": draw(st.sampled_from(list(NUMPY))),
        "flip": draw(st.booleans()),
        "dtype": draw(st.sampled_from([None, "float64"])),
    }
    return x, k, args, draw(st.randoms(use_true_random=False))


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=strip_cases())
def test_any_quantum_cuts_are_bit_identical(method, case):
    x, k, args, random = case
    try:
        g = resolve_geometry(x.shape[:2], k.shape, **{a: args[a] for a in GEOMETRY})
    except GeometryError:  # kernel larger than the padded input
        return
    out_dtype = np.dtype(args["dtype"] or (np.float64 if x.dtype == np.float64 else np.float32))
    channels = x.shape[2] if x.ndim == 3 else 1
    q = tile_quantum(k, g, method=method, flip=args["flip"], channels=channels, dtype=out_dtype)
    inner = range(q, g.output_hw[0], q)
    cuts = [0, *sorted(random.sample(inner, min(len(inner), 3))), g.output_hw[0]]
    event(f"{len(cuts) - 1} strips" if len(cuts) < 4 else "4 strips")
    check_strips(x, k, method, cuts, **args)


@pytest.mark.parametrize("method", METHODS)
def test_strips_cut_anywhere_agree_within_rounding(method):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(90, 700, 3)).astype(np.float32)
    k = rng.normal(size=(5, 4))
    g = resolve_geometry(x.shape[:2], k.shape, padding="same", stride=(1, 2))
    whole = convolve(x, k, padding="same", stride=(1, 2), padding_mode="circular", method=method)
    cuts = [0, 7, 8, 31, 77, g.output_hw[0]]
    for start, stop in itertools.pairwise(cuts):
        got = convolve_rows(x, k, g, (start, stop), padding_mode="circular", method=method)
        np.testing.assert_allclose(
            got.output, whole.output[start:stop], atol=1e-4 * np.abs(k).sum()
        )


def test_empty_strip_and_whole_strip():
    x = np.arange(30.0).reshape(5, 6)
    g = resolve_geometry(x.shape, (3, 3), padding="same")
    assert convolve_rows(x, np.ones((3, 3)), g, (2, 2)).output.shape == (0, 6)
    whole = convolve(x, np.ones((3, 3)), padding="same").output
    np.testing.assert_array_equal(convolve_rows(x, np.ones((3, 3)), g, (0, 5)).output, whole)


@pytest.mark.parametrize("method", METHODS)
def test_quantum_is_a_positive_int(method):
    g = resolve_geometry((64, 64), (5, 5), padding="same", stride=2, dilation=2)
    q = tile_quantum(np.ones((5, 5)), g, method=method, channels=4, dtype="float64")
    assert isinstance(q, int)
    assert q >= 1


@pytest.mark.parametrize(
    "args",
    [
        {"padding": "same"},
        {"padding": "same", "stride": 2},
        {"padding": "same", "dilation": 2},
        {"padding": "same", "dilation": (3, 2), "padding_mode": "reflect"},
        {"padding": ((2, 5), (1, 1)), "stride": (1, 2), "dilation": 2},
    ],
)
def test_banded_bits_do_not_depend_on_the_tile_height(monkeypatch, args):
    """The banded products are the same for any tile height (a multiple of the unit), so
    its tile budget (larger for the row phases of a dilation) is free to change."""
    from convcli.engine import banded

    rng = np.random.default_rng(11)
    x, k = rng.random((203, 300), dtype=np.float32), rng.normal(size=(3, 3))
    whole = convolve(x, k, method="banded", **args).output
    g = resolve_geometry(x.shape, k.shape, **{a: args[a] for a in GEOMETRY if a in args})
    for budget in (1, 5000, 40000):
        monkeypatch.setattr(banded, "TILE_BYTES", budget)
        assert tile_quantum(k, g, method="banded") < g.output_hw[0]
        got = convolve(x, k, method="banded", **args).output
        np.testing.assert_array_equal(got.view(np.uint32), whole.view(np.uint32))


@pytest.mark.parametrize("stride", [1, 2, (3, 1)])
@pytest.mark.parametrize("dilation", [1, 2, (3, 2)])
@pytest.mark.parametrize("width", [300, 2000, 16384])
def test_banded_quantum_is_a_multiple_of_the_separable_one(stride, dilation, width):
    """A bank mixing the two methods cuts strips at the larger quantum, not a product."""
    k = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0])
    g = resolve_geometry((4096, width), k.shape, padding="same", stride=stride, dilation=dilation)
    banded = tile_quantum(k, g, method="banded", channels=3)
    separable = tile_quantum(k, g, method="separable", channels=3)
    assert banded % separable == 0
    assert banded <= 2 * separable
