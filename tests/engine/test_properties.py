"""Properties every method must have: linearity, identity, shifts, shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.engine import METHODS as ALL_METHODS
from convcli.engine import conv1d, conv2d, convolve
from convcli.geometry import output_shape

METHODS = tuple(name for name in ALL_METHODS if name != "auto")
FAST = settings(max_examples=25, deadline=None)


def rng_arrays(seed, shape_x, shape_k):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape_x), rng.normal(size=shape_k)


@pytest.mark.parametrize("method", METHODS)
@FAST
@given(seed=st.integers(0, 2**31), a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_linearity(method, seed, a, b):
    x, k = rng_arrays(seed, (9, 11), (3, 4))
    y = np.random.default_rng(seed + 1).normal(size=(9, 11))
    args = {"padding": "same", "padding_mode": "reflect", "method": method}
    lhs = conv2d(a * x + b * y, k, **args)
    rhs = a * conv2d(x, k, **args) + b * conv2d(y, k, **args)
    np.testing.assert_allclose(lhs, rhs, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["zeros", "reflect", "symmetric", "replicate", "circular"])
def test_identity_kernel(method, mode):
    x = np.random.default_rng(0).normal(size=(8, 10, 3)).astype(np.float32)
    k = np.zeros((3, 3))
    k[1, 1] = 1
    np.testing.assert_allclose(
        conv2d(x, k, padding="same", padding_mode=mode, method=method), x, atol=1e-6
    )


@pytest.mark.parametrize("method", METHODS)
@FAST
@given(m=st.integers(0, 4), n=st.integers(0, 4), flip=st.booleans())
def test_one_hot_kernel_shifts(method, m, n, flip):
    x = np.random.default_rng(m * 5 + n).normal(size=(12, 13))
    k = np.zeros((5, 5))
    k[m, n] = 2.0
    out = conv2d(x, k, padding=2, padding_mode="circular", flip=flip, method=method)
    dy, dx = (4 - m, 4 - n) if flip else (m, n)
    np.testing.assert_allclose(out, 2.0 * np.roll(x, (2 - dy, 2 - dx), axis=(0, 1)), atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
@FAST
@given(seed=st.integers(0, 2**31), sy=st.integers(-6, 6), sx=st.integers(-6, 6))
def test_shift_equivariance_circular(method, seed, sy, sx):
    x, k = rng_arrays(seed, (10, 12), (3, 5))
    args = {"padding": "same", "padding_mode": "circular", "method": method}
    shifted = conv2d(np.roll(x, (sy, sx), axis=(0, 1)), k, **args)
    np.testing.assert_allclose(
        shifted, np.roll(conv2d(x, k, **args), (sy, sx), axis=(0, 1)), atol=1e-9
    )


@FAST
@given(
    h=st.integers(1, 30),
    w=st.integers(1, 30),
    kh=st.integers(1, 6),
    kw=st.integers(1, 6),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    padding=st.one_of(st.sampled_from(["same", "full", "valid"]), st.integers(0, 5)),
    channels=st.sampled_from([(), (2,)]),
)
def test_shape_is_output_shape(h, w, kh, kw, s, d, padding, channels):
    try:
        expected = output_shape((h, w), (kh, kw), stride=s, padding=padding, dilation=d)
    except ValueError:
        return
    x = np.ones((h, w, *channels), np.float32)
    for method in ALL_METHODS:
        out = conv2d(x, np.ones((kh, kw)), stride=s, padding=padding, dilation=d, method=method)
        assert out.shape == (*expected, *channels)


def test_same_padding_keeps_size_for_any_kernel():
    x = np.ones((7, 9))
    for k in [(1, 1), (2, 2), (3, 3), (4, 1), (1, 6)]:
        assert conv2d(x, np.ones(k), padding="same").shape == (7, 9)


@FAST
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40), k=st.integers(1, 9))
def test_conv1d_full_flip_is_numpy_convolve(seed, n, k):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=n), rng.normal(size=k)
    for method in ALL_METHODS:
        got = conv1d(x, w, padding="full", flip=True, method=method)
        np.testing.assert_allclose(got, np.convolve(x, w), atol=1e-9)


def test_conv1d_valid_is_numpy_correlate():
    x, w = np.arange(10.0), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(conv1d(x, w), np.correlate(x, w, mode="valid"))


def test_conv1d_stride_dilation_and_pairs():
    x = np.arange(12.0)
    out = conv1d(x, [1.0, 1.0], stride=3, dilation=2, padding=(1, 0))
    xp = np.concatenate([[0.0], x])
    assert out.tolist() == [xp[i] + xp[i + 2] for i in range(0, 11, 3)]


@pytest.mark.parametrize(
    "dtype", ["bool", "uint8", "uint16", "int8", "int32", "int64", "float16", "float32"]
)
def test_dtypes_give_float32(dtype):
    x = np.ones((5, 6, 3), dtype=dtype)
    out = conv2d(x, np.ones((3, 3)), padding="same")
    assert out.dtype == np.float32
    assert out[2, 2, 0] == 9


def test_dtype_argument():
    x = np.ones((5, 5), np.uint8)
    assert conv2d(x, np.ones((3, 3)), dtype=np.float64).dtype == np.float64
    assert conv2d(x, np.ones((3, 3)), dtype="float16").dtype == np.float16
    assert conv2d(x.astype(np.float64), np.ones((3, 3))).dtype == np.float64


def test_uint8_values_are_not_wrapped():
    x = np.full((4, 4), 250, np.uint8)
    assert conv2d(x, np.full((2, 2), 2.0)).max() == 2000


def test_convolve_reports_method_geometry_and_flip():
    x = np.ones((64, 64), np.float32)
    gauss = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256
    result = convolve(x, gauss, padding="same", padding_mode="replicate", flip=True)
    assert result.method in METHODS
    assert result.flip is True
    assert result.geometry.pads == ((2, 2), (2, 2))
    for method in METHODS:
        assert convolve(x, np.ones((1, 1)), method=method).method == method


def test_methods_are_auto_then_unique_names():
    assert ALL_METHODS[0] == "auto"
    assert len(set(ALL_METHODS)) == len(ALL_METHODS)
    assert {"direct", "banded", "separable", "fft"} <= set(METHODS)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_threads_do_not_change_the_numbers(method):
    x = np.random.default_rng(5).normal(size=(300, 3000)).astype(np.float32)
    k = np.random.default_rng(6).normal(size=(5, 5))
    one = conv2d(x, k, threads=1, method=method)
    np.testing.assert_array_equal(conv2d(x, k, threads=3, method=method), one)
    np.testing.assert_array_equal(conv2d(x, k, method=method), one)


def test_input_not_modified_and_non_contiguous_input():
    x = np.random.default_rng(8).normal(size=(20, 30))
    view = x[::2, ::3]
    before = view.copy()
    out = conv2d(view, np.ones((3, 3)), padding=1)
    np.testing.assert_array_equal(view, before)
    np.testing.assert_allclose(out, conv2d(np.ascontiguousarray(view), np.ones((3, 3)), padding=1))
