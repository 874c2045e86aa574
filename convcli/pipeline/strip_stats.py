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
from convcli.values import ROBUST, ROBUST_REASON, MappingReport, robust_scale

if TYPE_CHECKING:
    from convcli.pipeline.stream import OutputSpec


@dataclass
class Statistics:
    """The whole map's statistics gathered strip by strip (the hook for image-wide mappings).

    The range (NaN if any value is NaN), and for ``auto``'s robust gain every value
    (``magnitudes``, one float map: the percentile needs them all).
    """

    low: float = math.inf
    high: float = -math.inf
    magnitudes: list[np.ndarray] | None = None

    def add(self, values: np.ndarray) -> None:
        """Fold one strip in."""
        if values.size:
            self.low = float(np.min([self.low, values.min()]))
            self.high = float(np.max([self.high, values.max()]))
        if self.magnitudes is not None:
            self.magnitudes.append(np.asarray(values, dtype=np.float32).ravel())

    def gain(self, max_value: float) -> float:
        """``auto``'s robust gain, as :func:`~convcli.values.robust_scale` of the whole map."""
        assert self.magnitudes is not None
        whole = np.concatenate(self.magnitudes) if self.magnitudes else np.zeros(0, np.float32)
        self.magnitudes = None
        return robust_scale(whole, max_value)

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

    def add(self, values: np.ndarray, clipped: int) -> None:
        self.stats.add(values)
        self.clipped += clipped
        self.size += values.size
        if values.dtype.kind == "f":
            self.bad += int(values.size - np.count_nonzero(np.isfinite(values)))

    def merge(self, other: StripReport) -> None:
        """Fold in another strip's report."""
        if other.size:
            self.stats.low = float(np.min([self.stats.low, other.stats.low]))
            self.stats.high = float(np.max([self.stats.high, other.stats.high]))
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
