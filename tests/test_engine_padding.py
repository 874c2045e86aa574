"""Tiles of the padded image, built on demand, equal numpy.pad in every mode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.engine.padding import PaddedSource, pad_image, pad_indices
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
    assert pad_indices(4, (3, 1), mode).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    pads=st.tuples(*[st.integers(0, 9)] * 4),
    mode=st.sampled_from(list(NUMPY)),
    channels=st.sampled_from([(), (2,)]),
    rows=st.tuples(st.integers(0, 30), st.integers(1, 30)),
    step=st.integers(1, 3),
)
def test_blocks_and_phases_equal_numpy_pad(h, w, pads, mode, channels, rows, step):
    x = np.arange(h * w * int(np.prod(channels, dtype=int)), dtype=np.uint8).reshape(
        h, w, *channels
    )
    g = resolve_geometry((h, w), (1, 1), padding=((pads[0], pads[1]), (pads[2], pads[3])))
    full = np.pad(
        x.astype(np.float32),
        [g.pads[0], g.pads[1]] + [(0, 0)] * len(channels),
        mode=NUMPY[mode],
        **({"constant_values": 7.0} if mode == "zeros" else {}),
    )
    source = PaddedSource.create(x, g, mode, 7.0, np.float32)
    p0 = min(rows[0], full.shape[0] - 1)
    p1 = min(p0 + rows[1], full.shape[0])
    np.testing.assert_array_equal(source.block(p0, p1), full[p0:p1])
    for q, phase in enumerate(source.phases(p0, p1, step)):
        np.testing.assert_array_equal(phase, full[p0:p1, q::step])
    np.testing.assert_array_equal(pad_image(x, g, mode, 7.0), full.astype(np.uint8))
