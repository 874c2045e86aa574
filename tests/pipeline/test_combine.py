"""Combining a bank's maps without stacking them gives NumPy's stacked reduction, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from convcli.pipeline import combine_responses

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 8, 9])
@pytest.mark.parametrize("mode", ["magnitude", "abs-sum", "max", "min", "sum"])
def test_folds_are_the_stacked_reductions(dtype: type, count: int, mode: str) -> None:
    maps = [(RNG.normal(size=(16, 9, 3)) * 10 ** RNG.uniform(-3, 3)).astype(dtype)
            for _ in range(count)]  # fmt: skip
    maps[0][0, 0, 0], maps[-1][1, 1, 1], maps[0][2, 2, 2] = np.nan, np.inf, -0.0
    stacked = np.stack(maps, axis=-1)
    expected = {
        "magnitude": lambda: np.sqrt(np.sum(stacked * stacked, axis=-1)),
        "abs-sum": lambda: np.sum(np.abs(stacked), axis=-1),
        "max": lambda: np.max(stacked, axis=-1),
        "min": lambda: np.min(stacked, axis=-1),
        "sum": lambda: np.sum(stacked, axis=-1),
    }[mode]
    with np.errstate(invalid="ignore", over="ignore"):
        got, want = combine_responses(maps, mode), expected()  # type: ignore[arg-type]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
