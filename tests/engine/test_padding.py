"""Padding equals numpy.pad in every mode, for pads of any width, on every method's path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcli.engine import METHODS, conv2d, pad_image, pad_indices
from convcli.engine.padding import PaddedSource, copy_every
from convcli.errors import GeometryError
from convcli.geometry import resolve_geometry

NUMPY = {
    "zeros": "constant",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "replicate": "edge",
    "circular": "wrap",
}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("zeros", [-1, -1, -1, 0, 1, 2, 3, -1]),
        ("reflect", [3, 2, 1, 0, 1, 2, 3, 2]),
        ("symmetric", [2, 1, 0, 0, 1, 2, 3, 3]),
        ("replicate", [0, 0, 0, 0, 1, 2, 3, 3]),
        ("circular", [1, 2, 3, 0, 1, 2, 3, 0]),
        ("wrap", [1, 2, 3, 0, 1, 2, 3, 0]),
    ],
)
def test_pad_indices_table(mode, expected):
    """The DESIGN.md pictures: ``a b c d`` padded by 3 before and 1 after."""
    assert pad_indices(4, 3, 1, mode).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 6),
    before=st.integers(0, 20),
    after=st.integers(0, 20),
    mode=st.sampled_from(list(NUMPY)),
)
def test_pad_indices_is_numpy_pad_of_arange(n, before, after, mode):
    kwargs = {"constant_values": -1} if mode == "zeros" else {}
    want = np.pad(np.arange(n), (before, after), mode=NUMPY[mode], **kwargs)
    assert pad_indices(n, before, after, mode).tolist() == want.tolist()


@pytest.mark.parametrize(("n", "before", "after"), [(0, 1, 1), (3, -1, 0), (3, 0, -2)])
def test_pad_indices_rejects_bad_sizes(n, before, after):
    with pytest.raises(GeometryError, match=r"^pad_indices needs n >= 1 and pads >= 0"):
        pad_indices(n, before, after, "reflect")


def test_pad_indices_rejects_unknown_mode():
    with pytest.raises(GeometryError, match=r"^unknown padding mode 'mirror'"):
        pad_indices(3, 1, 1, "mirror")


# a small image and its pads: (h, w, ((top, bottom), (left, right)), mode, channels)
PADDED = {
    "h": st.integers(1, 7),
    "w": st.integers(1, 7),
    "pads": st.tuples(*[st.integers(0, 9)] * 4),
    "mode": st.sampled_from(list(NUMPY)),
    "channels": st.sampled_from([(), (2,)]),
}


def _padded(h, w, pads, mode, channels):  # type: ignore[no-untyped-def]
    """``arange`` as an (h, w, *channels) uint8 image, its padding and its ``numpy.pad``."""
    x = np.arange(h * w * int(np.prod(channels, dtype=int)), dtype=np.uint8)
    x = x.reshape(h, w, *channels)
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    kwargs = {"constant_values": 7} if mode == "zeros" else {}
    want = np.pad(x, [*padding, *[(0, 0)] * len(channels)], mode=NUMPY[mode], **kwargs)
    return x, padding, want


@settings(max_examples=60, deadline=None)
@given(**PADDED)
def test_pad_image_is_numpy_pad(h, w, pads, mode, channels):
    x, padding, want = _padded(h, w, pads, mode, channels)
    g = resolve_geometry((h, w), (1, 1), padding=padding)
    got = pad_image(x, g, mode, 7.0)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    pads=st.tuples(*[st.integers(0, 9)] * 4),
    mode=st.sampled_from(list(NUMPY)),
    channels=st.sampled_from([(), (2,)]),
    tap=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_one_hot_kernel_samples_numpy_pad(method, h, w, pads, mode, channels, tap, stride):
    """A weight of 1 at ``tap`` picks ``xpad[i*sy + m, j*sx + n]``: the padded image itself."""
    x = np.arange(h * w * int(np.prod(channels, dtype=int)), dtype=np.float64)
    x = x.reshape(h, w, *channels)
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    kwargs = {"constant_values": 7.0} if mode == "zeros" else {}
    xpad = np.pad(x, [*padding, *[(0, 0)] * len(channels)], mode=NUMPY[mode], **kwargs)
    k = np.zeros((3, 3))
    k[tap] = 1.0
    (m, n), (sy, sx) = tap, stride
    oh, ow = (xpad.shape[0] - 3) // sy + 1, (xpad.shape[1] - 3) // sx + 1
    if min(oh, ow) < 1:
        return
    got = conv2d(x, k, padding=padding, padding_mode=mode, cval=7.0, stride=stride, method=method)
    want = xpad[m : m + (oh - 1) * sy + 1 : sy, n : n + (ow - 1) * sx + 1 : sx]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(**PADDED, step=st.integers(1, 3), strip=st.booleans(), data=st.data())
def test_padded_rows_and_column_phases_are_numpy_pad(
    h, w, pads, mode, channels, step, strip, data
):
    """Any row range of the padded image, whole or split by column phase, from the whole
    image or from a strip holding only the rows it needs, is that range of ``numpy.pad``."""
    x, padding, xpad = _padded(h, w, pads, mode, channels)
    p0 = data.draw(st.integers(0, xpad.shape[0] - 1))
    p1 = data.draw(st.integers(p0 + 1, xpad.shape[0]))
    g = resolve_geometry((h, w), (1, 1), padding=padding)
    held = None
    if strip:
        rows = pad_indices(h, *padding[0], mode)[p0:p1]
        held = np.unique(rows[rows >= 0])
        assume(held.size)  # the engine takes no empty strip
    source = PaddedSource.create(x if held is None else x[held], g, mode, 7.0, np.float32, held)
    np.testing.assert_array_equal(source.block(p0, p1), xpad[p0:p1])
    layout = source.phases(p0, p1, step)
    for q in range(step):
        phase = xpad[p0:p1, q::step]
        np.testing.assert_array_equal(layout[:, q, : phase.shape[1]], phase)


@settings(max_examples=80, deadline=None)
@given(**PADDED, step=st.integers(2, 3), data=st.data())
def test_float32_column_phases_keep_every_bit(h, w, pads, mode, channels, step, data):
    """Column phases of a float32 image (pairs cast as integers for ``step == 2``) hold
    the bits of ``numpy.pad``, NaN payloads, signed zeros and subnormals included; only
    the phases asked for are built."""
    bits = np.random.default_rng(h * 31 + w).integers(0, 2**32, (h, w, *channels), np.uint32)
    x = bits.view(np.float32)
    padding = ((pads[0], pads[1]), (pads[2], pads[3]))
    kwargs = {"constant_values": 7.0} if mode == "zeros" else {}
    xpad = np.pad(x, [*padding, *[(0, 0)] * len(channels)], mode=NUMPY[mode], **kwargs)
    p0 = data.draw(st.integers(0, xpad.shape[0] - 1))
    p1 = data.draw(st.integers(p0 + 1, xpad.shape[0]))
    used = data.draw(st.sets(st.integers(0, step - 1), min_size=1))
    g = resolve_geometry((h, w), (1, 1), padding=padding)
    layout = PaddedSource.create(x, g, mode, 7.0, np.float32).phases(p0, p1, step, used)
    for q in used:
        phase = xpad[p0:p1, q::step].view(np.uint32)
        np.testing.assert_array_equal(layout[:, q, : phase.shape[1]].view(np.uint32), phase)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
@pytest.mark.parametrize("width", [1, 2, 5, 8, 9])
def test_copy_every_other_value(start, width):
    """``dst[:, t] = rows[:, start + 2t]`` at even and odd starts, up to the last column."""
    rows = np.arange(3 * 12, dtype=np.float32).reshape(3, 12)
    n = min(width, len(range(start, 12, 2)))
    dst = np.full((3, n), -1.0, np.float32)
    copy_every(dst, rows, start, 2)
    np.testing.assert_array_equal(dst, rows[:, start : start + 2 * n : 2])
