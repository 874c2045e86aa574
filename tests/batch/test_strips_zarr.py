"""Strips of one image as separate tasks into Zarr: the same bits as the whole-image engine."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from convcli.engine import conv2d
from convcli.errors import OutputError
from convcli.geometry import PADDING_MODES

zarr = pytest.importorskip("zarr")
strips = pytest.importorskip("convcli.batch.strips")

RNG = np.random.default_rng(13)
IMAGE = RNG.uniform(0, 255, (360, 1500, 3)).astype(np.float32)
KERNELS = {
    "direct": RNG.normal(size=(5, 4)),
    "banded": RNG.normal(size=(3, 3)),
    "separable": np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [1.0, 0.0, -1.0]),
    "fft": RNG.normal(size=(9, 9)),
}
GEOMETRIES = [
    {"stride": 1, "padding": "same", "dilation": 1},
    {"stride": 2, "padding": "full", "dilation": 1},
    {"stride": (1, 3), "padding": "same", "dilation": 2},
    {"stride": (3, 1), "padding": (2, 1), "dilation": (2, 1)},
]


DASK_RUN = {"stride": 2, "padding": "same", "padding_mode": "reflect", "method": "banded"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "image.npy"
    np.save(path, IMAGE)
    return path


@pytest.mark.parametrize("method", list(KERNELS))
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_strips_are_bit_identical_to_the_whole_image(
    source: Path, tmp_path: Path, method: str, mode: str, geometry: dict[str, object]
) -> None:
    kernel, target = KERNELS[method], tmp_path / "out.zarr"
    options = {**geometry, "padding_mode": mode, "method": method, "cval": 7.0}
    with ThreadPoolExecutor(2) as pool:
        plan = strips.conv2d_to_zarr(source, kernel, target, pool, task_bytes=1, **options)
    assert len(plan.strips) > 1
    whole = conv2d(IMAGE, kernel, **options)
    written = zarr.open_array(str(target), mode="r")[:]
    assert written.dtype == whole.dtype == np.float32
    assert np.array_equal(written, whole)


def test_pads_wider_than_the_image(tmp_path: Path) -> None:
    image = RNG.uniform(0, 1, (5, 40000)).astype(np.float32)
    np.save(tmp_path / "thin.npy", image)
    kernel = RNG.normal(size=(3, 3))
    for mode in PADDING_MODES:
        target = tmp_path / f"{mode}.zarr"
        options = {"padding": (9, 2), "padding_mode": mode, "method": "direct"}
        with ThreadPoolExecutor(2) as pool:
            plan = strips.conv2d_to_zarr(tmp_path / "thin.npy", kernel, target, pool,
                                         task_bytes=1, **options)  # fmt: skip
        assert len(plan.strips) > 1
        whole = conv2d(image, kernel, **options)
        assert np.array_equal(zarr.open_array(str(target), mode="r")[:], whole)


def test_an_existing_target_is_refused_and_kept(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    target.mkdir()
    with ThreadPoolExecutor(1) as pool, pytest.raises(OutputError, match="already exists"):
        strips.conv2d_to_zarr(source, np.ones((3, 3)), target, pool)
    assert list(tmp_path.iterdir()) == [target]


def test_a_failing_strip_leaves_nothing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="padding mode"):
        strips.conv2d_to_zarr(source, np.ones((3, 3)), target, pool, padding_mode="nope")
    assert list(tmp_path.iterdir()) == []


def test_plan_halo_rows() -> None:
    plan = strips.plan_strips((400, 2000), np.ones((5, 5)), padding="same", dilation=2,
                              stride=2, method="direct", task_bytes=1)  # fmt: skip
    # a strip of r output rows reads (r-1)*stride + dilation*(k-1) + 1 padded input rows
    assert plan.input_rows == (plan.strip_rows - 1) * 2 + 2 * 4 + 1
    assert [b - a for a, b in plan.strips[:-1]] == [plan.strip_rows] * (len(plan.strips) - 1)


def test_strips_on_a_dask_cluster(source: Path, tmp_path: Path) -> None:
    # in a process of its own: Dask's servers are not for a test process's warning filters
    pytest.importorskip("distributed")
    target = tmp_path / "out.zarr"
    code = f"""
import numpy as np
from distributed import Client, LocalCluster
from convcli.batch.strips import conv2d_to_zarr
cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
with cluster, Client(cluster) as client:
    plan = conv2d_to_zarr({str(source)!r}, np.array({KERNELS["banded"].tolist()!r}),
                          {str(target)!r}, client.get_executor(), task_bytes=1, **{DASK_RUN!r})
print(len(plan.strips))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 1
    whole = conv2d(IMAGE, KERNELS["banded"], **DASK_RUN)
    assert np.array_equal(zarr.open_array(str(target), mode="r")[:], whole)
