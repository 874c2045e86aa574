"""The pipeline: spec → kernel → image → engine → feature map → values → writer → summary.

- :mod:`~convcli.pipeline.plan`: :class:`FilterPlan`, engine options, combining responses;
- :mod:`~convcli.pipeline.filtering`: arrays through a plan (channels, alpha, chains);
- :mod:`~convcli.pipeline.run`: one file through a plan into its output files;
- :mod:`~convcli.pipeline.summary`: results, ``--json`` records, the summary rows.
"""

from __future__ import annotations

from convcli.pipeline.filtering import (
    ALPHA_MODES,
    AlphaMode,
    Applied,
    FeatureMap,
    apply_plan,
    correlate,
)
from convcli.pipeline.plan import ConvOptions, FilterPlan, build_plan, combine_responses
from convcli.pipeline.run import ApplySettings, filter_image, output_depth
from convcli.pipeline.summary import ImageResult, MapResult

__all__ = [
    "ALPHA_MODES",
    "AlphaMode",
    "Applied",
    "ApplySettings",
    "ConvOptions",
    "FeatureMap",
    "FilterPlan",
    "ImageResult",
    "MapResult",
    "apply_plan",
    "build_plan",
    "combine_responses",
    "correlate",
    "filter_image",
    "output_depth",
]
