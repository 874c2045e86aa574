"""MagnitudePercentile gives np.percentile of |finite values| to the bit, in any pieces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcli.percentile import MagnitudePercentile
from convcli.values import response_top


def numpy_top(values: np.ndarray, q: float) -> float:
    """The reference: NumPy's own percentile of the finite magnitudes (float32)."""
    magnitude = np.abs(np.asarray(values, dtype=np.float32)).ravel()
    magnitude = magnitude[np.isfinite(magnitude)]
    return float(np.percentile(magnitude, q)) if magnitude.size else 0.0


def pieces_top(values: np.ndarray, q: float, cuts: list[int], size: int | None = None) -> float:
    """MagnitudePercentile fed ``values`` cut at ``cuts``."""
    flat = values.ravel()
    top = MagnitudePercentile(flat.size if size is None else size, q)
    for piece in np.split(flat, sorted(c % (flat.size + 1) for c in cuts)):
        top.add(piece)
    return top.value()


def same_bits(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes()


FLOATS = st.one_of(
    st.floats(width=32, allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 3.0, 1e-45, -1e-45, 3.4028235e38, 255.0]),
)
ARRAYS = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    st.integers(0, 400),
    elements=FLOATS,
)


@settings(max_examples=600, deadline=None)
@given(values=ARRAYS, q=st.sampled_from([99.5, 99.5, 50.0, 90.0, 99.9, 100.0, 0.0, 37.3]),
       cuts=st.lists(st.integers(0, 10_000), max_size=8), spare=st.integers(0, 50))  # fmt: skip
def test_equals_numpy_to_the_bit_on_any_values_in_any_pieces(
    values: np.ndarray, q: float, cuts: list[int], spare: int
) -> None:
    expected = numpy_top(values, q)
    assert same_bits(pieces_top(values, q, cuts), expected)
    # a size bound above the count (the strip pipeline's, with NaN left out) changes nothing
    assert same_bits(pieces_top(values, q, cuts, values.size + spare), expected)


@settings(max_examples=200, deadline=None)
@given(
    values=hnp.arrays(np.float32, st.integers(1, 3000),
                      elements=st.sampled_from([0.0, 1.0, -1.0, 2.5, 7.0, -7.0, 1e30])),
    cuts=st.lists(st.integers(0, 3000), max_size=20),
)  # fmt: skip
def test_ties_and_few_distinct_values(values: np.ndarray, cuts: list[int]) -> None:
    assert same_bits(pieces_top(values, 99.5, cuts), numpy_top(values, 99.5))


RNG = np.random.default_rng(10)


@pytest.mark.parametrize(
    "values",
    [
        RNG.normal(0, 30, 200_000).astype(np.float32),
        np.sort(RNG.normal(0, 30, 200_000).astype(np.float32)),  # rising: every piece passes
        np.sort(RNG.normal(0, 30, 200_000).astype(np.float32))[::-1].copy(),
        np.abs(np.sort(RNG.normal(0, 30, 200_000))).astype(np.float32),
        np.zeros(100_003, np.float32),
        np.full(77_777, -3.25, np.float32),
        RNG.integers(-1020, 1021, 300_001).astype(np.float32),  # a Sobel of 8-bit pixels
        RNG.lognormal(0, 8, 123_457),  # float64, wide range
        np.concatenate([np.zeros(199_000), RNG.normal(0, 1, 1000)]).astype(np.float32),
    ],
    ids=["normal", "rising", "falling", "rising-abs", "zeros", "constant", "integers",
         "lognormal64", "sparse"],
)  # fmt: skip
@pytest.mark.parametrize("piece", [1, 997, 65_536, 10**6])
def test_large_maps_in_strips(values: np.ndarray, piece: int) -> None:
    cuts = list(range(piece, values.size, piece))
    assert same_bits(pieces_top(values, 99.5, cuts), numpy_top(values, 99.5))


def test_holds_only_the_top_share() -> None:
    values = RNG.normal(0, 1, 1_000_000).astype(np.float32)
    top = MagnitudePercentile(values.size, 99.5)
    for piece in np.split(values, 100):
        top.add(piece)
        held = top._kept.size + top._pending_size
        assert held <= 2 * 5_001 + piece.size
    assert same_bits(top.value(), numpy_top(values, 99.5))
    assert (top.count, top.maximum) == (values.size, float(np.abs(values).max()))


def test_response_top_is_the_percentile_or_the_largest_value() -> None:
    values = RNG.normal(0, 3, (300, 200)).astype(np.float32)
    assert same_bits(response_top(values), numpy_top(values, 99.5))
    assert response_top(np.array([0.0, 0.0, 0.0, -8.0], np.float32)) == pytest.approx(7.88)
    mostly_flat = np.zeros(1000, np.float32)
    mostly_flat[3] = -2.5
    assert response_top(mostly_flat) == 2.5
    assert response_top(np.array([np.nan, np.inf])) == 0.0


def test_refuses_a_percentile_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"percentile must be between 0 and 100, got 101"):
        MagnitudePercentile(10, 101)
