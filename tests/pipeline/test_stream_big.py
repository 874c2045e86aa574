"""Images whose padded size is over the engine's limit still go through in strips.

The engine's limit (:data:`~convcli.geometry.MAX_WORKING_PIXELS`) bounds what it works on
at once: for a strip, the padded rows the strip reads, not the whole padded image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from convcli.cli import cli
from convcli.errors import GeometryError
from convcli.geometry import MAX_WORKING_PIXELS, resolve_geometry, working_geometry

BIG = resolve_geometry((20000, 20000), (19, 19), padding="same")


def test_a_strip_is_checked_by_its_padded_rows() -> None:
    assert BIG.padded_hw[0] * BIG.padded_hw[1] > MAX_WORKING_PIXELS
    with pytest.raises(GeometryError, match="the engine works on at most 268,435,456"):
        working_geometry(BIG)
    assert working_geometry(BIG, rows=(64, 128)) == BIG
    wide = resolve_geometry((4, 300_000_000), (3, 3), padding="same")
    with pytest.raises(GeometryError, match="the engine works on at most"):
        working_geometry(wide, rows=(0, 1))  # one row's padded rows are already too many


def test_a_tiff_over_the_engine_limit_streams(tmp_path: Path) -> None:
    source = tmp_path / "tall.tif"  # 280 M pixels, a sparse file of zeros but one 3x3 patch
    image = tifffile.memmap(source, shape=(14000, 20000), dtype=np.uint8,
                            photometric="minisblack", metadata=None)  # fmt: skip
    image[5000:5003, 96:99] = 90
    image.flush()
    del image
    out = tmp_path / "out.tif"
    done = CliRunner().invoke(cli, ["apply", str(source), "-k", "box:3", "--stride", "8", "-o",
                                    str(out), "--max-pixels", "300000000", "-q"])  # fmt: skip
    assert done.exit_code == 0, done.output
    written = tifffile.imread(out)
    assert written.shape == (1750, 2500)
    assert np.argwhere(written).tolist() == [[625, 12]]
    assert written[625, 12] == 90
