"""The statistics the strip pipeline gathers over strips: whole-map ranges and reports.

:class:`Statistics` is a first pass's result for mappings that need the whole map
(``normalize``'s range, ``auto``'s robust gain); :class:`StripReport` adds up what each
strip's mapping did into the :class:`~convcli.values.MappingReport` the whole-image path
gives; :func:`check_finite_maps` refuses NaN and infinities with the whole map's count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from convcli.errors import EngineError
from convcli.percentile import MagnitudePercentile
from convcli.values import ROBUST, ROBUST_REASON, MappingReport, robust_gain

if TYPE_CHECKING:
    from convcli.pipeline.stream import OutputSpec


@dataclass
class Statistics:
    """The whole map's statistics gathered strip by strip (the hook for image-wide mappings).

    The range (NaN if any value is NaN), and for ``auto``'s robust gain the top values of
    ``|map|`` its percentile can still need (``top``: 0.5 % of the map, not a copy of it).
    """

    low: float = math.inf
    high: float = -math.inf
    top: MagnitudePercentile | None = None

    def add(self, values: np.ndarray) -> None:
        """Fold one strip in."""
        if values.size:
            self.fold(values.min(), values.max())
        if self.top is not None:
            self.top.add(values)

    def fold(self, low: float, high: float) -> None:
        """Fold in one strip's range (NaN stays)."""
        self.low = float(np.min([self.low, low]))
        self.high = float(np.max([self.high, high]))

    def gain(self, max_value: float) -> float:
        """``auto``'s robust gain, as :func:`~convcli.values.robust_scale` of the whole map."""
        assert self.top is not None
        return robust_gain(self.top, max_value)

    @property
    def range(self) -> tuple[float, float]:
        """``(low, high)``; (0, 0) for an empty map."""
        return (0.0, 0.0) if self.low > self.high else (self.low, self.high)


@dataclass
class StripReport:
    """A :class:`MappingReport` added up over strips."""

    stats: Statistics = field(default_factory=Statistics)
    clipped: int = 0
    size: int = 0
    bad: int = 0  # NaN or infinite values (refused, as the whole-image path does)

    def add(self, values: np.ndarray, strip_range: tuple[float, float]) -> None:
        """One strip's values, whose range is ``strip_range`` (clipped counts come after)."""
        if values.size:
            self.stats.fold(*strip_range)
        self.size += values.size
        if values.dtype.kind == "f" and not all(map(math.isfinite, strip_range)):
            self.bad += int(values.size - np.count_nonzero(np.isfinite(values)))

    def merge(self, other: StripReport) -> None:
        """Fold in another strip's report."""
        if other.size:
            self.stats.fold(other.stats.low, other.stats.high)
        self.clipped += other.clipped
        self.size += other.size
        self.bad += other.bad

    def final(self, spec: OutputSpec, gain: float) -> MappingReport:
        low, high = self.stats.range
        share = self.clipped / self.size if self.size else 0.0
        reason = ROBUST_REASON if spec.reason == ROBUST else spec.reason
        return MappingReport(spec.mapping, low, high, self.clipped, share, gain, spec.bias, reason)


def strip_gain(spec: OutputSpec, stats: Statistics | None, max_value: float) -> float:
    """For one map: The gain before mapping: auto's robust one, ``--scale``, or 1."""
    if spec.reason == ROBUST and stats is not None:
        return stats.gain(max_value)
    return 1.0 if spec.scale is None else float(spec.scale)


def check_finite_maps(reports: Sequence[StripReport]) -> None:
    """Refuse maps with NaN or infinite values, as the whole-image path does (whole counts)."""
    top = f"{np.finfo(np.float32).max:.3g}"
    for report in reports:
        if report.bad:
            msg = (
                f"the result has {report.bad:,} NaN or infinite values; "
                f"kernel × image values overflow float32 (±{top})"
            )
            raise EngineError(msg)
