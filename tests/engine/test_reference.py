"""Every method against a plain-loop reference that implements the formula literally.

The reference shares no code with the product: it pads with ``numpy.pad`` and computes
the pads and the output shape from the formulas of DESIGN.md, written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcli.engine import METHODS, convolve
from convcli.errors import GeometryError

MODES = ("zeros", "reflect", "symmetric", "replicate", "circular", "constant", "edge", "wrap")
NUMPY_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "circular": "wrap",
    "constant": "constant",
    "edge": "edge",
    "wrap": "wrap",
}
DTYPES = ("bool", "uint8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64")


class KernelTooLarge(Exception):
    """The formula gives fewer than one output on an axis."""


def axis_pads(padding, axis, n, k, s, d):
    """``(before, after)`` on one axis, from the padding as the user wrote it."""
    if padding == "valid":
        return 0, 0
    if padding == "full":
        return d * (k - 1), d * (k - 1)
    if padding == "same":
        out = math.ceil(n / s)
        total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
        return total // 2, total - total // 2  # the odd pixel to the bottom/right
    if isinstance(padding, int):
        return padding, padding
    if isinstance(padding[0], int):
        return padding[axis], padding[axis]
    return tuple(padding[axis])


def out_size(n, before, after, k, s, d):
    """out = floor((n + before + after - d*(k-1) - 1) / s) + 1."""
    return (n + before + after - d * (k - 1) - 1) // s + 1


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def pad(x, pads, padding_mode, cval):
    """``x`` padded by ``pads`` (rows, columns) in the mode's ``numpy.pad`` equivalent."""
    pads = [*pads, *[(0, 0)] * (x.ndim - 2)]
    mode = NUMPY_MODE[padding_mode]
    if mode == "constant":
        return np.pad(x, pads, mode="constant", constant_values=cval)
    return np.pad(x, pads, mode=mode)


def geometry(x, k, stride, padding, dilation):
    """Pads, stride, dilation and output shape, from the formulas."""
    s, d = pair(stride), pair(dilation)
    pads = [axis_pads(padding, a, x.shape[a], k.shape[a], s[a], d[a]) for a in (0, 1)]
    out = [out_size(x.shape[a], *pads[a], k.shape[a], s[a], d[a]) for a in (0, 1)]
    if min(out) < 1:
        raise KernelTooLarge
    return pads, s, d, out


def reference(
    x, k, *, stride=1, padding=0, padding_mode="zeros", cval=0.0, dilation=1, flip=False
):
    """out[i, j] = sum_m sum_n xpad[i*sy + m*dy, j*sx + n*dx] * k[m, n], in float64 loops."""
    k = np.asarray(k, dtype=np.float64)
    if flip:
        k = k[::-1, ::-1]
    pads, (sy, sx), (dy, dx), (oh, ow) = geometry(x, k, stride, padding, dilation)
    xpad = pad(np.asarray(x, dtype=np.float64), pads, padding_mode, cval)
    out = np.zeros((oh, ow, *x.shape[2:]))
    for i in range(oh):
        for j in range(ow):
            for m in range(k.shape[0]):
                for n in range(k.shape[1]):
                    out[i, j] += xpad[i * sy + m * dy, j * sx + n * dx] * k[m, n]
    return out


def reference_taps(
    x, k, *, stride=1, padding=0, padding_mode="zeros", cval=0.0, dilation=1, flip=False
):
    """The same sum with the loops over outputs done by slicing (for larger images)."""
    k = np.asarray(k, dtype=np.float64)
    if flip:
        k = k[::-1, ::-1]
    pads, (sy, sx), (dy, dx), (oh, ow) = geometry(x, k, stride, padding, dilation)
    xpad = pad(np.asarray(x, dtype=np.float64), pads, padding_mode, cval)
    out = np.zeros((oh, ow, *x.shape[2:]))
    for (m, n), weight in np.ndenumerate(k):
        y0, x0 = m * dy, n * dx
        out += weight * xpad[y0 : y0 + (oh - 1) * sy + 1 : sy, x0 : x0 + (ow - 1) * sx + 1 : sx]
    return out


def make_image(rng, shape, dtype):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "ui":
        return rng.integers(0, 200, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def make_kernel(rng, kh, kw, kind):
    if kind == "rank1":
        return np.outer(rng.normal(size=kh), rng.normal(size=kw))
    if kind == "sparse":
        return rng.normal(size=(kh, kw)) * (rng.random((kh, kw)) < 0.4)
    return rng.normal(size=(kh, kw))


def tolerance(x, k, dtype):
    scale = float(np.abs(np.asarray(x, np.float64)).max() * np.abs(k).sum()) + 1.0
    eps = 1e-12 if dtype == np.float64 else 3e-6
    return eps * scale


pairs = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
paddings = st.one_of(
    st.sampled_from(["valid", "same", "full"]),
    st.integers(0, 7),
    st.tuples(st.integers(0, 5), st.integers(0, 5)),
    st.tuples(
        st.tuples(st.integers(0, 6), st.integers(0, 6)),
        st.tuples(st.integers(0, 6), st.integers(0, 6)),
    ),
)


@st.composite
def cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    channels = draw(st.sampled_from([(), (1,), (3,)]))
    dtype = draw(st.sampled_from(DTYPES))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["dense", "rank1", "sparse"]))
    args = {
        "stride": draw(pairs),
        "dilation": draw(pairs),
        "padding": draw(paddings),
        "padding_mode": draw(st.sampled_from(MODES)),
        "cval": draw(st.sampled_from([0.0, 1.5])),
        "flip": draw(st.booleans()),
    }
    return make_image(rng, (h, w, *channels), dtype), make_kernel(rng, kh, kw, kind), args


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_method_matches_reference(method, case):
    x, k, args = case
    try:
        expected = reference(x, k, **args)
    except KernelTooLarge:
        with pytest.raises(GeometryError, match="larger than the padded input"):
            convolve(x, k, method=method, **args)
        return
    result = convolve(x, k, method=method, **args)
    out_dtype = np.float64 if x.dtype == np.float64 else np.float32
    assert result.output.dtype == out_dtype
    assert result.output.shape == expected.shape
    assert result.method == method if method != "auto" else result.method in METHODS[1:]
    np.testing.assert_allclose(result.output, expected, rtol=0, atol=tolerance(x, k, out_dtype))


@pytest.mark.parametrize("method", METHODS)
def test_float64_requested_is_exact(method):
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(11, 13, 2)).astype(np.float32), rng.normal(size=(4, 3))
    out = convolve(x, k, padding="same", padding_mode="reflect", method=method, dtype="float64")
    assert out.output.dtype == np.float64
    expected = reference(x, k, padding="same", padding_mode="reflect")
    np.testing.assert_allclose(out.output, expected, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "circular"])
@pytest.mark.parametrize(
    "geometry_args",
    [
        {"padding": "same", "stride": (2, 1), "dilation": (1, 2)},
        {"padding": "same", "dilation": (2, 1)},
        {"padding": ((9, 1), (0, 4)), "stride": (1, 3)},
    ],
)
def test_larger_image_many_tiles_agree(method, mode, geometry_args):
    """Big enough for several row tiles and threads, with every kind of row traversal."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 1100, 2)).astype(np.float32)
    k = rng.normal(size=(7, 6))
    args = {"padding_mode": mode, "cval": 0.5, **geometry_args}
    got = convolve(x, k, method=method, **args).output
    want = reference_taps(x, k, **args)
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(k).sum())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "geometry_args",
    [
        {"padding": "same", "stride": 2},
        {"padding": "same", "stride": 2, "dilation": 2},  # column phase 1 is never read
        {"padding": ((1, 2), (3, 0)), "stride": (3, 2), "dilation": (1, 3)},
        {"padding": "valid", "stride": (1, 2)},
    ],
)
def test_banded_column_phases_of_float32(mode, geometry_args):
    """A float32 image under a column stride of 2 (phases cast as pairs of values), odd
    and even widths, matches the reference."""
    rng = np.random.default_rng(4)
    for w in (257, 258):
        x = rng.normal(size=(150, w)).astype(np.float32)
        k = rng.normal(size=(3, 3))
        args = {"padding_mode": mode, "cval": 0.5, **geometry_args}
        got = convolve(x, k, method="banded", **args).output
        np.testing.assert_allclose(got, reference_taps(x, k, **args), atol=1e-5 * np.abs(k).sum())


def test_auto_reports_the_method_that_ran():
    """``auto`` gives exactly what forcing the method it reports gives."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(70, 90, 3)).astype(np.float32)
    kernels = [rng.normal(size=(3, 3)), np.outer([1, 4, 6, 4, 1], [1, 2, 1]), np.ones((1, 1))]
    kernels.append(rng.normal(size=(31, 31)))
    for k in kernels:
        auto = convolve(x, k, padding="same", padding_mode="reflect")
        forced = convolve(x, k, padding="same", padding_mode="reflect", method=auto.method)
        assert auto.method in METHODS[1:]
        np.testing.assert_array_equal(auto.output, forced.output)


def test_wide_pads_follow_numpy_pad():
    x = np.arange(6.0).reshape(2, 3)
    for mode, np_mode in [
        ("reflect", "reflect"),
        ("symmetric", "symmetric"),
        ("replicate", "edge"),
        ("circular", "wrap"),
    ]:
        out = convolve(x, np.ones((1, 1)), padding=((5, 4), (7, 6)), padding_mode=mode).output
        np.testing.assert_array_equal(out, np.pad(x, ((5, 4), (7, 6)), mode=np_mode))


def test_reference_classic_6x6():
    x = np.arange(36.0).reshape(6, 6)
    out = reference(x, np.ones((3, 3)))
    assert out.shape == (4, 4)
    assert out[0, 0] == x[:3, :3].sum()


@pytest.mark.parametrize(
    ("padding", "n", "k", "s", "d", "pads", "out"),
    [
        ("same", 5, 2, 2, 1, (0, 1), 3),  # DESIGN.md: the odd pixel to the bottom/right
        ("same", 224, 7, 2, 1, (2, 3), 112),
        ("same", 7, 3, 1, 2, (2, 2), 7),
        ("full", 4, 3, 1, 2, (4, 4), 8),
        ("valid", 6, 3, 1, 1, (0, 0), 4),
        (3, 224, 7, 2, 1, (3, 3), 112),
    ],
)
def test_reference_geometry_by_hand(padding, n, k, s, d, pads, out):
    """The reference's own pads and shapes, against values worked out by hand."""
    assert axis_pads(padding, 0, n, k, s, d) == pads
    assert out_size(n, *pads, k, s, d) == out


def test_reference_taps_is_the_loop():
    rng = np.random.default_rng(4)
    x, k = rng.normal(size=(9, 8, 2)), rng.normal(size=(3, 4))
    args = {"stride": (2, 1), "dilation": (1, 2), "padding": "same", "padding_mode": "symmetric"}
    np.testing.assert_allclose(reference_taps(x, k, **args), reference(x, k, **args), atol=1e-12)
