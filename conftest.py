"""Collection settings for the whole checkout (tests/ and the doctests of convcli/)."""

from __future__ import annotations

import importlib.util

# The Dask modules import the optional `dask` extra; without it their doctests cannot load.
collect_ignore = (
    []
    if importlib.util.find_spec("distributed") and importlib.util.find_spec("zarr")
    else ["convcli/batch/dask.py", "convcli/batch/strips.py"]
)
