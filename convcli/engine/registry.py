"""The registry of engine methods, and the plan: which method runs, with what it derived.

To add a method, write a module like ``direct.py`` that ends with a ``METHOD = Method(...)``
(its name, cost, tile rows and preparation) and add it to :data:`REGISTRY` below; the
``method=`` argument, the CLI's ``--method`` choice and ``method="auto"`` all follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcli.engine import banded, direct, fft, separable
from convcli.engine.method import Method, Problem, TileWork
from convcli.errors import EngineError

# the order breaks ties between equal cost estimates
REGISTRY: tuple[Method, ...] = (direct.METHOD, banded.METHOD, separable.METHOD, fft.METHOD)
METHODS: tuple[str, ...] = ("auto", *(method.name for method in REGISTRY))
_BY_NAME = {method.name: method for method in REGISTRY}


def check_method(name: str) -> str:
    """Return ``name`` if it is one of :data:`METHODS`.

    Raises
    ------
    EngineError
        If it is not.
    """
    if name not in METHODS:
        msg = f"unknown method {name!r}; expected one of: {', '.join(METHODS)}"
        raise EngineError(msg)
    return name


@dataclass(frozen=True)
class Plan:
    """The method that will run, the problem it was planned for, and the cost estimates.

    The problem carries whatever the estimates derived (the SVD factors), so preparing
    the method does not compute it again.
    """

    method: Method
    problem: Problem
    costs: dict[str, float]

    def tile_rows(self, row_bytes: int) -> int:
        """Output rows per tile, for padded input rows of ``row_bytes`` bytes."""
        return self.method.tile_rows(self.problem.geometry, row_bytes)

    def quantum(self, row_bytes: int) -> int:
        """Output rows at whose multiples strips repeat the whole image's numbers exactly."""
        return 1 if self.method.tile_free else self.tile_rows(row_bytes)

    def work(self, channels: int) -> TileWork:
        """The function that fills one tile."""
        return self.method.prepare(self.problem, channels)


def plan(problem: Problem, name: str = "auto") -> Plan:
    """The method ``name``, or for ``auto`` the one with the least estimated cost.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.geometry import resolve_geometry
    >>> g = resolve_geometry((512, 512), (31, 31), padding="same")
    >>> rng = np.random.default_rng(0)
    >>> plan(Problem(rng.normal(size=(31, 31)), g, np.dtype("float32"))).method.name
    'fft'
    >>> plan(Problem(np.ones((31, 31)), g, np.dtype("float32"))).method.name
    'separable'
    >>> plan(Problem(rng.normal(size=(5, 5)), g, np.dtype("float32"))).method.name
    'banded'
    """
    if name != "auto":
        return Plan(_BY_NAME[check_method(name)], problem, {})
    costs = {method.name: method.cost(problem) for method in REGISTRY}
    cheapest = min(costs, key=lambda key: costs[key])
    return Plan(_BY_NAME[cheapest], problem, costs)
