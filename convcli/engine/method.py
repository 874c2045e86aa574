"""What an engine method is: a name, a cost, a tile size and a preparation.

Each method lives in its own module (``direct.py``, ``banded.py``, ...) that ends with a
``METHOD = Method(...)``; :mod:`convcli.engine.registry` lists them. A method is asked about
one :class:`Problem` (kernel, geometry, compute dtype); anything it derives from the problem
for both its cost and its preparation (the SVD factors, say) it computes once through
:meth:`Problem.once`, so the plan carries it from the cost model to the tiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np

from convcli.engine.padding import PaddedSource
from convcli.geometry import Geometry

T = TypeVar("T")

# fills one output row tile from the padded source rows p0:p1
TileWork = Callable[[PaddedSource, int, int, np.ndarray], None]

# bytes of padded input per tile: big enough for threads to pay, small enough for L2
TILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One convolution to plan: the kernel (flipped if asked), the geometry, the dtype.

    Attributes
    ----------
    kernel : numpy.ndarray
        C-contiguous float64 weights, as laid on the image (cross-correlation).
    geometry : Geometry
        The resolved geometry of the whole image.
    dtype : numpy.dtype
        The dtype the arithmetic runs in (float32 or float64).
    """

    kernel: np.ndarray
    geometry: Geometry
    dtype: np.dtype[Any]
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for; the same value afterwards."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])


@dataclass(frozen=True)
class Method:
    """One way to compute a convolution, with everything the engine needs to know about it.

    Attributes
    ----------
    name : str
        What ``method=`` and ``--method`` accept, and what a result reports.
    cost : callable
        ``cost(problem)``: estimated ns per output value per channel on 2 threads (only
        ratios matter: ``auto`` runs the cheapest); ``inf`` where the method should not
        be chosen.
    tile_rows : callable
        ``tile_rows(geometry, row_bytes)``: output rows per tile, for padded input rows of
        ``row_bytes`` bytes. The tile is the unit of work, so strips of the image cut at
        multiples of it repeat the whole-image arithmetic exactly (the tile quantum).
    prepare : callable
        ``prepare(problem, channels)``: the :data:`TileWork` that fills one tile.
    tile_free : bool
        Whether its numbers do not depend on how the rows are cut into tiles at all (every
        output value the same sum in the same order): strips may then be cut anywhere, and
        its tile quantum is 1, which keeps the common quantum of a bank small.
    """

    name: str
    cost: Callable[[Problem], float]
    tile_rows: Callable[[Geometry, int], int]
    prepare: Callable[[Problem, int], TileWork]
    tile_free: bool = False


def cache_tile_rows(
    geometry: Geometry, row_bytes: int, unit: int = 1, budget: int = TILE_BYTES
) -> int:
    """Output rows reading about ``budget`` bytes of padded input, a multiple of ``unit``."""
    input_rows = max(1, budget // max(1, row_bytes))
    rows = max(unit, input_rows // geometry.stride[0])
    return rows - rows % unit
