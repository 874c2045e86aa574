"""The plan: which kernels run, with which engine options, and how responses combine.

A :class:`FilterPlan` (see :func:`build_plan`) is one kernel; a bank whose responses are
combined (``stack`` keeps one feature map per kernel); or a chain, each kernel filtering
the previous one's raw (float) feature map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from convcli.choices import COMBINE_MODES, CombineMode
from convcli.errors import GeometryError, KernelError
from convcli.geometry import PaddingSpec, Pair
from convcli.kernels import Kernel, KernelBank

Spec = Kernel | KernelBank


@dataclass(frozen=True)
class ConvOptions:
    """The engine options shared by every kernel of a plan (``apply``'s defaults)."""

    stride: int | Pair = 1
    padding: PaddingSpec = "same"
    padding_mode: str = "reflect"
    cval: float = 0.0
    dilation: int | Pair = 1
    flip: bool = False
    method: str = "auto"
    threads: int | None = None  # engine threads; None: one per core


@dataclass(frozen=True)
class FilterPlan:
    """Which kernels run and how their responses become feature maps.

    Attributes
    ----------
    units : tuple of Kernel or KernelBank
        Each unit gives one response (a bank unit is combined with its own mode).
    combine : str or None
        How the units' responses are combined; ``"stack"`` keeps one map per unit;
        None for a single unit or a chain.
    chain : bool
        Apply the units one after another.
    name : str
        The name used in output file names for a single feature map.
    """

    units: tuple[Spec, ...]
    combine: str | None
    chain: bool
    name: str

    @property
    def kernels(self) -> list[Kernel]:
        """Every kernel that runs, banks opened, in order."""
        return [k for u in self.units for k in (u.kernels if isinstance(u, KernelBank) else [u])]

    @property
    def map_names(self) -> tuple[str, ...]:
        """One name per feature map this plan produces."""
        if self.combine == "stack":
            return _unique(tuple(unit.name for unit in self.units))
        return (self.name,)

    @property
    def label(self) -> str:
        """A short human description: ``sobel (magnitude of sobel_x, sobel_y)``."""
        names = ", ".join(unit.name for unit in self.units)
        if self.chain:
            return " → ".join(unit.name for unit in self.units)
        if self.combine is None:
            return self.units[0].name
        return f"{self.name} ({self.combine} of {names})"


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(names)) == len(names):
        return names
    return tuple(f"{name}-{i + 1}" for i, name in enumerate(names))


def build_plan(
    specs: Sequence[Spec], *, combine: str | None = None, chain: bool = False
) -> FilterPlan:
    """Turn the ``-k`` specs and ``--combine``/``--chain`` into a :class:`FilterPlan`.

    One bank alone uses its own combine mode unless ``combine`` is given; several
    ``-k`` default to ``stack``. A bank among several ``-k`` is combined with its own
    mode first (a stacking bank contributes each of its kernels).

    Raises
    ------
    KernelError
        No kernel, ``chain`` with ``combine``, or a stacking bank in a chain.
    """
    if not specs:
        msg = "no kernel given; pass one with -k/--kernel"
        raise KernelError(msg)
    if chain:
        return _chain_plan(specs, combine)
    if len(specs) == 1 and isinstance(specs[0], Kernel):
        return FilterPlan((specs[0],), None, False, specs[0].name)
    if len(specs) == 1:
        bank = cast(KernelBank, specs[0])
        return FilterPlan(tuple(bank.kernels), combine or bank.combine, False, bank.name)
    units = tuple(_flatten_stacks(specs))
    return FilterPlan(units, combine or "stack", False, "+".join(s.name for s in specs))


def _chain_plan(specs: Sequence[Spec], combine: str | None) -> FilterPlan:
    if combine is not None:
        msg = "--chain applies kernels one after another; it cannot be used with --combine"
        raise KernelError(msg)
    for spec in specs:
        if isinstance(spec, KernelBank) and spec.combine == "stack":
            msg = f"bank {spec.name!r} stacks its maps; a --chain step must give one map"
            raise KernelError(msg)
    return FilterPlan(tuple(specs), None, True, "+".join(s.name for s in specs))


def _flatten_stacks(specs: Sequence[Spec]) -> list[Spec]:
    units: list[Spec] = []
    for spec in specs:
        if isinstance(spec, KernelBank) and spec.combine == "stack":
            units.extend(spec.kernels)
        else:
            units.append(spec)
    return units


def combine_responses(responses: Sequence[np.ndarray], combine: CombineMode) -> np.ndarray:
    """Merge the feature maps of a bank's kernels.

    Parameters
    ----------
    responses : sequence of numpy.ndarray
        One feature map per kernel, all of one shape: ``(H', W')`` or ``(H', W', C)``.
    combine : {"stack", "magnitude", "max", "min", "sum", "abs-sum"}
        ``magnitude`` is √Σr², ``abs-sum`` Σ|r|; ``stack`` puts the maps on a new last axis,
        giving ``(H', W', K)`` or ``(H', W', C, K)``.

    Returns
    -------
    numpy.ndarray
        The combined map, of the responses' dtype.

    Raises
    ------
    KernelError
        If there are no responses, their shapes differ, or the mode is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> combine_responses([np.array([[3.0]]), np.array([[-4.0]])], "magnitude")
    array([[5.]])
    """
    arrays = [np.asarray(r) for r in responses]
    _check_responses(arrays, combine)
    if combine in _FOLDS and (combine in ("max", "min") or len(arrays) < _PAIRWISE):
        return _FOLDS[combine](arrays)
    stacked = np.stack(arrays, axis=-1)
    return _REDUCERS[combine](stacked)


_PAIRWISE = 8
"""From this many terms NumPy sums pairwise; below it, in order, as the folds below do."""


def _fold(arrays: list[np.ndarray], term: Callable[[np.ndarray], np.ndarray],
          step: Callable[..., np.ndarray]) -> np.ndarray:  # fmt: skip
    """``step`` over the ``term`` of each map in order, in place: a reduction over a short
    stacked axis without stacking (the same bits as NumPy's reduction there, much faster)."""
    acc = term(arrays[0]).astype(np.result_type(*arrays), copy=True)
    for array in arrays[1:]:
        step(acc, term(array), out=acc)
    return acc


def _magnitude(arrays: list[np.ndarray]) -> np.ndarray:
    acc = _fold(arrays, lambda a: a * a, np.add)
    return np.sqrt(acc, out=acc)


_FOLDS: Mapping[str, Callable[[list[np.ndarray]], np.ndarray]] = {
    "magnitude": _magnitude,
    "abs-sum": lambda arrays: _fold(arrays, np.abs, np.add),
    "max": lambda arrays: _fold(arrays, lambda a: a, np.maximum),
    "min": lambda arrays: _fold(arrays, lambda a: a, np.minimum),
}


def _check_responses(arrays: list[np.ndarray], combine: str) -> None:
    if combine not in COMBINE_MODES:
        msg = f"combine mode {combine!r} is not one of {', '.join(COMBINE_MODES)}"
        raise KernelError(msg)
    if not arrays:
        msg = "no responses to combine; expected one per kernel of the bank"
        raise KernelError(msg)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        msg = f"responses have shapes {sorted(shapes)}; expected one shape to combine them"
        raise KernelError(msg)


_REDUCERS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = {
    "stack": lambda s: s,
    "magnitude": lambda s: np.sqrt(np.sum(s * s, axis=-1)),
    "max": lambda s: np.max(s, axis=-1),
    "min": lambda s: np.min(s, axis=-1),
    "sum": lambda s: np.sum(s, axis=-1),
    "abs-sum": lambda s: np.sum(np.abs(s), axis=-1),
}


def combined_sum(sums: Sequence[float], combine: str) -> float:
    """The kernel sum a combined map counts as: 0 when every member sums to 0."""
    if combine == "sum":
        return float(sum(sums))
    if all(s == 0.0 for s in sums):  # Kernel.sum is exactly 0 for zero-sum weights
        return 0.0
    return float(max(abs(s) for s in sums))


def combine_maps(responses: Sequence[np.ndarray], combine: str, name: str) -> np.ndarray:
    """Combine the maps of ``name``'s kernels; maps of different shapes are a GeometryError."""
    shapes = {r.shape for r in responses}
    if len(shapes) > 1:
        listed = ", ".join("×".join(map(str, s)) for s in sorted(shapes))
        msg = (
            f"{name}: the kernels give feature maps of different shapes ({listed}); "
            "use --padding same or kernels of one size"
        )
        raise GeometryError(msg)
    return combine_responses(responses, combine)  # type: ignore[arg-type]
