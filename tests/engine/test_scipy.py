"""SciPy's ndimage as a second, independent oracle (skipped where SciPy is missing)."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.engine import conv2d

ndimage = pytest.importorskip("scipy.ndimage")

# convcli padding mode -> scipy.ndimage mode (the table in DESIGN.md)
SCIPY_MODE = {
    "zeros": "constant",
    "reflect": "mirror",
    "symmetric": "reflect",
    "replicate": "nearest",
    "circular": "wrap",
}


def scipy_same(x, k, mode, cval):
    """ndimage's same-size correlation, aligned to convcli's ``padding="same"`` (TF pads).

    ndimage starts the window ``k // 2 + origin`` before the output; TensorFlow's rule
    puts ``(k - 1) // 2`` pads before, so even sizes need ``origin = -1``.
    """
    origin = tuple((n - 1) // 2 - n // 2 for n in k.shape)
    return ndimage.correlate(x, k, mode=SCIPY_MODE[mode], cval=cval, origin=origin)


@pytest.mark.parametrize("mode", list(SCIPY_MODE))
@pytest.mark.parametrize("method", ["direct", "separable", "fft"])
@pytest.mark.parametrize("kshape", [(3, 3), (5, 3), (1, 7), (4, 4), (2, 5)])
def test_correlate_matches_scipy(mode, method, kshape):
    rng = np.random.default_rng(hash((mode, kshape)) % 2**32)
    x = rng.normal(size=(23, 19))
    k = rng.normal(size=kshape)
    got = conv2d(x, k, padding="same", padding_mode=mode, cval=0.0, method=method)
    want = scipy_same(x, k, mode, 0.0)
    np.testing.assert_allclose(got, want, atol=1e-9)


@pytest.mark.parametrize("mode", list(SCIPY_MODE))
@pytest.mark.parametrize("kshape", [(3, 3), (5, 7), (1, 3), (4, 2)])
def test_convolve_matches_scipy(mode, kshape):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(17, 21))
    k = rng.normal(size=kshape)
    got = conv2d(x, k, padding="same", padding_mode=mode, flip=True)
    # ndimage.convolve mirrors the origin too, so origin 0 matches TF "same" for even sizes
    want = ndimage.convolve(x, k, mode=SCIPY_MODE[mode])
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_cval_matches_scipy():
    rng = np.random.default_rng(3)
    x, k = rng.normal(size=(12, 12)), rng.normal(size=(5, 5))
    got = conv2d(x, k, padding="same", padding_mode="zeros", cval=2.5)
    np.testing.assert_allclose(got, ndimage.correlate(x, k, mode="constant", cval=2.5), atol=1e-9)


def test_channels_match_scipy_per_channel():
    rng = np.random.default_rng(4)
    x = rng.integers(0, 255, size=(16, 20, 3)).astype(np.uint8)
    k = rng.normal(size=(3, 3))
    got = conv2d(x, k, padding="same", padding_mode="reflect")
    assert got.dtype == np.float32
    for c in range(3):
        want = ndimage.correlate(x[..., c].astype(np.float64), k, mode="mirror")
        np.testing.assert_allclose(got[..., c], want, rtol=1e-5, atol=1e-3)
