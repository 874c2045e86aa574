"""An upper percentile of ``|values|``, exact, over a map given whole or strip by strip.

:class:`MagnitudePercentile` gives what ``np.percentile(np.abs(finite float32 values), q)``
gives, to the bit, while holding only the values that can still be among the top
``n - floor((n - 1) q / 100)`` of the ``n`` values (0.5 % of the map for ``auto``'s 99.5th
percentile), never a copy of the whole map. The map's size bounds how many values it may
need; the values are fed in any order and in any number of pieces.

Each piece keeps the values above the lowest value kept so far (the floor): once the values
kept reach the bound, they are cut back to the top ones (``np.partition``) and the floor
rises. At the end the two order statistics the percentile interpolates between are
picked from the values kept, and NumPy itself interpolates between them
(``np.quantile`` of those two values at the fraction NumPy would use), so the result is
the same as NumPy's with its own rounding, on every NumPy version.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MagnitudePercentile"]


def _virtual_index(count: int, q: float) -> float:
    """Where NumPy's linear method looks in the sorted values: ``(n - 1) q / 100``."""
    return (count - 1) * float(np.true_divide(q, 100))


class MagnitudePercentile:
    """The ``q``-th percentile of the finite ``|values|`` of a map given in pieces.

    Parameters
    ----------
    size : int
        How many values the map holds at most (NaN and infinities, left out, included).
    q : float
        The percentile, 0 to 100 (the values held are the top ``100 - q`` percent).

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[0.0, -1.0], [2.0, 4.0]], np.float32)
    >>> top = MagnitudePercentile(values.size, 99.5)
    >>> top.add(values[:1]); top.add(values[1:])
    >>> bool(top.value() == np.percentile(np.abs(values), 99.5)), round(top.value(), 3)
    (True, 3.97)
    """

    def __init__(self, size: int, q: float) -> None:
        if not 0 <= q <= 100:
            msg = f"percentile must be between 0 and 100, got {q!r}"
            raise ValueError(msg)
        self._q = q
        # the top share of the largest map; a map with fewer finite values needs no more
        # (n - floor(index(n)) never falls as n grows), one spare against rounding
        self._keep = size - math.floor(_virtual_index(max(size, 1), q)) + 1
        self._kept = np.zeros(0, np.float32)  # the top values so far, at most _keep
        self._pending: list[np.ndarray] = []  # values above the floor, not yet cut back
        self._pending_size = 0
        self._floor = -np.inf  # values at or below it can no longer be in the top
        self._count = 0  # finite values seen
        self._max = 0.0  # the largest finite |value|

    def add(self, values: np.ndarray) -> None:
        """Fold in one piece of the map (any shape; float32, or converted to it)."""
        magnitude = np.abs(np.asarray(values, dtype=np.float32)).ravel()
        if magnitude.size == 0:
            return
        largest = magnitude.max()  # NaN if any value is NaN
        if not np.isfinite(largest):
            magnitude = magnitude[np.isfinite(magnitude)]
            largest = magnitude.max() if magnitude.size else np.float32(0)
        self._count += magnitude.size
        self._max = max(self._max, float(largest))
        above = magnitude[magnitude > self._floor] if largest > self._floor else magnitude[:0]
        if above.size:
            self._pending.append(above)
            self._pending_size += above.size
        if self._pending_size >= self._keep:
            self._cut()

    def _cut(self) -> None:
        """Keep only the top ``_keep`` of the values kept and pending; raise the floor."""
        values = np.concatenate([self._kept, *self._pending])
        self._pending, self._pending_size = [], 0
        if values.size > self._keep:
            cut = values.size - self._keep
            values.partition(cut)
            values = values[cut:].copy()
            self._floor = values[0]
        self._kept = values

    def value(self) -> float:
        """The percentile of every finite ``|value|`` added (0 if there was none)."""
        values = np.concatenate([self._kept, *self._pending])
        if self._count == 0:
            return 0.0
        index = _virtual_index(self._count, self._q)
        low = math.floor(index)
        # the values kept are the top ones: sorted, the first has rank count - values.size
        at = low - (self._count - values.size)
        assert at >= 0, "kept fewer values than the percentile needs"
        picks = [at, at + 1] if at + 1 < values.size else [at]
        values.partition(picks)
        pair = np.array([values[picks[0]], values[picks[-1]]], np.float32)
        return float(np.quantile(pair, index - low))

    @property
    def count(self) -> int:
        """Finite values seen."""
        return self._count

    @property
    def maximum(self) -> float:
        """The largest finite ``|value|`` seen (0 if none)."""
        return self._max
