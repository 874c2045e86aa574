"""Every method against a plain-loop reference that implements the formula literally."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcli.engine import convolve, pad_image, planner
from convcli.errors import GeometryError
from convcli.geometry import resolve_geometry

METHODS = ("direct", "direct-taps", "direct-banded", "separable", "fft", "auto")
MODES = ("zeros", "reflect", "symmetric", "replicate", "circular", "constant", "edge", "wrap")
DTYPES = ("bool", "uint8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64")


def reference(
    x, k, *, stride=1, padding=0, padding_mode="zeros", cval=0.0, dilation=1, flip=False
):
    """out[i, j] = sum_m sum_n xpad[i*sy + m*dy, j*sx + n*dx] * k[m, n], in float64 loops."""
    k = np.asarray(k, dtype=np.float64)
    if flip:
        k = k[::-1, ::-1]
    g = resolve_geometry(x.shape[:2], k.shape, stride=stride, padding=padding, dilation=dilation)
    xpad = pad_image(np.asarray(x, dtype=np.float64), g, padding_mode, cval)
    (oh, ow), (sy, sx), (dy, dx) = g.output_hw, g.stride, g.dilation
    out = np.zeros((oh, ow, *x.shape[2:]))
    for i in range(oh):
        for j in range(ow):
            for m in range(k.shape[0]):
                for n in range(k.shape[1]):
                    out[i, j] += xpad[i * sy + m * dy, j * sx + n * dx] * k[m, n]
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
    with pytest.MonkeyPatch.context() as mp:
        if method.startswith("direct-"):
            # the direct method runs tap by tap or as banded products; force each
            mp.setattr(planner, "use_banded", lambda *_: method == "direct-banded")
            method = "direct"
        try:
            expected = reference(x, k, **args)
        except GeometryError:
            with pytest.raises(GeometryError, match="larger than the padded input"):
                convolve(x, k, method=method, **args)
            return
        result = convolve(x, k, method=method, **args)
    out_dtype = np.float64 if x.dtype == np.float64 else np.float32
    assert result.output.dtype == out_dtype
    assert result.output.shape == expected.shape
    assert result.method in ("direct", "separable", "fft")
    np.testing.assert_allclose(result.output, expected, rtol=0, atol=tolerance(x, k, out_dtype))


@pytest.mark.parametrize("method", ["direct", "separable", "fft", "auto"])
def test_float64_requested_is_exact(method):
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(11, 13, 2)).astype(np.float32), rng.normal(size=(4, 3))
    out = convolve(x, k, padding="same", padding_mode="reflect", method=method, dtype="float64")
    assert out.output.dtype == np.float64
    expected = reference(x, k, padding="same", padding_mode="reflect")
    np.testing.assert_allclose(out.output, expected, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
def test_larger_image_many_tiles_agree(method):
    """Big enough for several row tiles and threads, with every padding mode."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 257)).astype(np.float32)
    k = rng.normal(size=(7, 6))
    for mode in ("zeros", "reflect", "circular"):
        args = {"padding": "same", "padding_mode": mode, "stride": (2, 1), "dilation": (1, 2)}
        got = convolve(x, k, method=method, **args).output
        want = convolve(x.astype(np.float64), k, method="direct", **args).output
        np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(k).sum())


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
