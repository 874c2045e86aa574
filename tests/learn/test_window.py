"""The sliding window's arithmetic: each sum equals the engine's output there."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.engine import conv2d
from convcli.errors import GeometryError
from convcli.kernels import Kernel, parse_kernel_spec
from convcli.learn.window import apply_padding, explain_at, output_grid, pad_sources, prepare

GRID = np.array([[5, 7, 9], [3, 5, 7], [1, 3, 5], [0, 1, 3]], dtype=float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 2)),
    padding=st.sampled_from(["same", "valid", "full", 0, 2, (1, 0)]),
    mode=st.sampled_from(["zeros", "reflect", "symmetric", "replicate", "circular"]),
    flip=st.booleans(),
)
def test_sum_at_a_position_equals_conv2d_there(
    data: st.DataObject,
    h: int,
    w: int,
    kh: int,
    kw: int,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: object,
    mode: str,
    flip: bool,
) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-9, 10, size=(h, w)).astype(float)
    k = rng.integers(-3, 4, size=(kh, kw)).astype(float)
    kwargs = dict(stride=stride, padding=padding, padding_mode=mode, cval=1.5, dilation=dilation)
    try:
        setup = prepare(x, k, flip=flip, **kwargs)  # type: ignore[arg-type]
    except GeometryError:
        return
    expected = conv2d(x, k, flip=flip, **kwargs)  # type: ignore[arg-type]
    oh, ow = setup.geometry.output_hw
    at = (data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1)))
    explanation = explain_at(setup, at)
    assert explanation.total == pytest.approx(float(expected[at]), abs=1e-9)
    assert float(explanation.products.sum()) == pytest.approx(explanation.total)
    assert explanation.engine_value == pytest.approx(explanation.total, abs=1e-9)


def test_padded_cells_are_marked_with_the_padding_values() -> None:
    setup = prepare(GRID, SOBEL_X, padding="same", padding_mode="reflect")
    e = explain_at(setup, (0, 0))
    assert e.rows.tolist() == [-1, 0, 1]
    assert e.cols.tolist() == [-1, 0, 1]
    assert e.padded.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert e.values.tolist() == [[5, 3, 5], [7, 5, 7], [5, 3, 5]]  # reflect: row -1 = row 1
    assert e.total == 0.0


def test_flip_lays_the_rotated_kernel() -> None:
    setup = prepare(GRID, SOBEL_X, padding="valid", flip=True)
    e = explain_at(setup, (0, 0))
    assert e.weights.tolist() == SOBEL_X[::-1, ::-1].tolist()
    assert e.total == -explain_at(prepare(GRID, SOBEL_X, padding="valid"), (0, 0)).total


def test_position_outside_the_output_is_an_error() -> None:
    setup = prepare(GRID, SOBEL_X, padding="valid")
    with pytest.raises(GeometryError) as info:
        explain_at(setup, (2, 0))
    assert str(info.value) == (
        "position 2,0 is outside the output 2×1; expected ROW in 0..1 and COL in 0..0"
    )


def test_output_grid_is_the_engines_whole_output() -> None:
    setup = prepare(GRID, SOBEL_X, stride=2, padding_mode="circular", dilation=(1, 2))
    expected = conv2d(
        GRID, SOBEL_X, stride=2, padding="same", padding_mode="circular", dilation=(1, 2)
    )
    np.testing.assert_allclose(output_grid(setup), expected)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("reflect", [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]),
        ("symmetric", [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]),
        ("replicate", [0, 0, 0, 0, 1, 2, 3, 3, 3, 3]),
        ("circular", [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]),
    ],
)
def test_pad_sources_per_mode(mode: str, expected: list[int]) -> None:
    x = np.arange(4.0)[None, :]
    setup = prepare(x, np.ones((1, 3)), padding=((0, 0), (3, 3)), padding_mode=mode)
    sources = pad_sources(setup)
    assert sources is not None
    assert sources[1].tolist() == expected
    assert setup.padded[0].tolist() == [float(v) for v in expected]  # the engine agrees


def test_pad_sources_none_for_zeros() -> None:
    assert pad_sources(prepare(np.zeros((1, 4)), np.ones((1, 3)), padding_mode="zeros")) is None


@pytest.mark.parametrize(
    ("flip", "stride", "expected"),
    [
        (False, 1, ((0, 1), (0, 1))),  # the anchor (0, 0) sits over each output pixel
        (True, 1, ((1, 0), (1, 0))),  # flipped, the anchor moves to (1, 1)
        (True, 2, ((1, 0), (1, 0))),
    ],
)
def test_apply_padding_places_same_by_the_kernels_anchor(
    flip: bool, stride: int, expected: object
) -> None:
    roberts = parse_kernel_spec("roberts_x")
    assert apply_padding(roberts, (7, 7), stride=stride, flip=flip) == expected


def test_apply_padding_leaves_other_paddings_and_plain_sizes_alone() -> None:
    roberts = parse_kernel_spec("roberts_x")
    assert apply_padding(roberts, (6, 6), padding="valid") == "valid"
    assert apply_padding(roberts, (6, 6), padding=(1, 2)) == (1, 2)
    assert apply_padding((2, 2), (6, 6)) == "same"
    assert apply_padding(Kernel("k", np.ones((3, 3))), (6, 6)) == "same"  # no anchor
    bank = parse_kernel_spec("sobel")
    assert apply_padding(bank, (6, 6)) == "same"
