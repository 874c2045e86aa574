"""``apply huge.tif --dask local:2`` on a real local cluster: strips as tasks, same bits.

The outputs are compared with the single-machine strip pipeline's (``apply`` without
``--dask``): the Zarr array with ``array_equal``, the TIFF byte for byte.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from convcli.kernels import parse_kernel_spec
from convcli.pipeline import build_plan
from convcli.pipeline.plan import ConvOptions
from convcli.pipeline.split import split_plan

pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")
pytestmark = pytest.mark.slow

CONVCLI = Path(sys.executable).parent / "convcli"
SHAPE = (1100, 6000, 3)  # 3 strip tasks of about 32 MiB of float32 each


def convcli(*args: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CONVCLI, *map(str, args)], capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("huge")
    rng = np.random.default_rng(5)
    paths = {}
    for depth, dtype in ((8, np.uint8), (16, np.uint16)):
        paths[depth] = folder / f"rgb{depth}.tif"
        with tifffile.TiffWriter(paths[depth]) as tif:  # written in strips, as a huge one is
            strips = (rng.integers(0, np.iinfo(dtype).max, (100, *SHAPE[1:]), dtype=dtype)
                      for _ in range(SHAPE[0] // 100))  # fmt: skip
            tif.write(strips, shape=SHAPE, dtype=dtype, photometric="rgb", rowsperstrip=100)
    return paths


def tasks(spec: str, depth: int, **options: object) -> int:
    plan = build_plan([parse_kernel_spec(spec)])
    return split_plan(SHAPE, depth, plan, ConvOptions(**options)).tasks  # type: ignore[arg-type]


def test_a_huge_tiff_into_zarr_on_a_local_cluster(images: dict[int, Path], tmp_path: Path) -> None:
    args = ["-k", "gaussian:sigma=3", "--padding-mode", "reflect", "--stride", "1"]
    assert tasks("gaussian:sigma=3", 8) == 3
    convcli("apply", images[8], *args, "-o", tmp_path / "ref.tif", "-q")
    done = convcli("apply", images[8], *args, "-o", tmp_path / "out.zarr", "--dask", "local:2",
                   "--json")  # fmt: skip
    record = json.loads(done.stdout)
    assert record["status"] == "ok"
    assert record["maps"][0]["format"] == "zarr"
    written = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert written.chunks[0] < SHAPE[0]  # chunked by strips
    assert np.array_equal(written[:], tifffile.imread(tmp_path / "ref.tif"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr", "ref.tif"]


def test_a_huge_tiff_into_a_tiff_on_a_local_cluster(
    images: dict[int, Path], tmp_path: Path
) -> None:
    args = ["-k", "[[1,2,1],[0,-1,3],[2,1,1]]", "--padding-mode", "circular", "--dilation", "2",
            "--method", "banded", "--map", "abs"]  # fmt: skip
    assert tasks("[[1,2,1],[0,-1,3],[2,1,1]]", 16, padding_mode="circular", dilation=2,
                 method="banded") > 1  # fmt: skip
    convcli("apply", images[16], *args, "-o", tmp_path / "ref.tif", "-q")
    convcli("apply", images[16], *args, "-o", tmp_path / "out.tif", "--dask", "local:2", "-q")
    assert (tmp_path / "out.tif").read_bytes() == (tmp_path / "ref.tif").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif", "ref.tif"]


FULL_DISK = """
import errno, os, sys
import zarr.storage._local as local
real = local._put
def put(path, value, exclusive=False):
    if path.parts[-4] == "c" and path.parts[-3] != "0":  # chunk c/ROW/COL/PLANE
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # chunk rows after the first
    return real(path, value, exclusive=exclusive)
local._put = put  # the local cluster's workers are forked from here: they inherit it
sys.argv = ["convcli", *sys.argv[1:]]
from convcli.cli import main
main()
"""


def test_a_full_disk_under_a_zarr_array_is_one_line_and_leaves_nothing(
    images: dict[int, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, "apply", images[8], "-k", "gaussian:sigma=3",
         "-o", out / "huge.zarr", "--dask", "local:2", "-q"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"convcli: error: {images[8]}: {out / 'huge.zarr'}: cannot write the Zarr array: "
        "No space left on device\n"
    )
    assert list(out.iterdir()) == []  # no array, and no folder being filled
