"""One huge image as strip tasks: the same bits as the single-machine strip pipeline.

The per-strip work (:func:`convcli.pipeline.split.run_strip`) is run here strip by strip,
as the Dask tasks run it, and its pixels are compared with ``array_equal`` against
``convcli apply in.tif -o ref.tif`` without ``--dask`` (the streaming path). The Dask
runs themselves are in ``test_huge_cluster.py``.
"""

from __future__ import annotations

import itertools
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from convcli.batch import InputFile, Job
from convcli.batch.cluster import DaskTarget
from convcli.cli import cli
from convcli.geometry import PADDING_MODES
from convcli.kernels import parse_kernel_spec
from convcli.pipeline import ApplySettings, build_plan
from convcli.pipeline.plan import ConvOptions
from convcli.pipeline.split import open_split, run_strip
from convcli.pipeline.strip_targets import write_maps

staged_arrays = pytest.importorskip("convcli.batch.strips").staged_arrays

huge = pytest.importorskip("convcli.batch.huge")  # the dask extra
zarr = pytest.importorskip("zarr")

RNG = np.random.default_rng(13)
KERNELS = {
    "direct": "[[1,2,0,-1],[3,1,1,2],[0,0,1,0],[2,-1,1,1],[1,1,1,1]]",
    "banded": "[[1,2,1],[0,1,3],[2,1,1]]",
    "separable": "gaussian:sigma=1.5",
    "fft": "gaussian:sigma=3",
}
GEOMETRIES = [  # stride, padding, dilation
    ((1, 1), "same", (1, 1)),
    ((2, 2), "same", (1, 1)),
    ((1, 1), "full", (2, 2)),
    ((3, 1), "same", (2, 1)),
]
IMAGES = {  # name: (shape, dtype)
    "rgb8": ((560, 1400, 3), np.uint8),
    "gray16": ((600, 3000), np.uint16),
    "rgb16": ((560, 1200, 3), np.uint16),
    "gray8": ((600, 3400), np.uint8),
}
CASES = [
    (mode, method, geometry, image)
    for (mode, method), geometry, image in zip(
        itertools.product(PADDING_MODES, KERNELS),
        itertools.cycle(GEOMETRIES),
        itertools.cycle(IMAGES),
    )
]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("huge")
    paths = {}
    for name, (shape, dtype) in IMAGES.items():
        top = np.iinfo(dtype).max
        pixels = RNG.integers(0, top, shape, dtype=dtype, endpoint=True)
        paths[name] = folder / f"{name}.tif"
        tifffile.imwrite(paths[name], pixels, rowsperstrip=16,
                         photometric="rgb" if pixels.ndim == 3 else "minisblack")  # fmt: skip
    return paths


def apply(*args: str) -> Any:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def words(pair: tuple[int, int]) -> str:
    return f"{pair[0]},{pair[1]}"


def split_pixels(path: Path, settings: ApplySettings, out: Path, fmt: str = "tiff") -> np.ndarray:
    """The image's strips made one by one as tasks make them, written in order to ``out``."""
    split = open_split(str(path), [str(out)], [fmt], settings, task_bytes=1)
    with closing(split.image):
        assert len(split.cuts) > 1
        job = split.job
        strips = ((cut, run_strip(job, cut)) for cut in split.cuts)
        write_maps(strips, job.specs, split.output_shape[0], job.plan.map_names, job.gains)
    return tifffile.imread(out)


@pytest.mark.parametrize(("mode", "method", "geometry", "image"), CASES, ids=str)
def test_strip_tasks_are_bit_identical_to_the_streaming_path(
    images: dict[str, Path],
    tmp_path: Path,
    mode: str,
    method: str,
    geometry: tuple[tuple[int, int], str, tuple[int, int]],
    image: str,
) -> None:
    spec, path = KERNELS[method], images[image]
    mapping = "abs" if method == "direct" else "clip"
    stride, padding, dilation = geometry
    ref = tmp_path / "ref.tif"
    done = apply(str(path), "-k", spec, "-o", str(ref), "--padding-mode", mode, "--stride",
                 words(stride), "-p", padding, "--dilation", words(dilation), "--method", method,
                 "--map", mapping, "--cval", "9", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    options = ConvOptions(stride, padding, mode, 9.0, dilation, False, method, 1)
    settings = ApplySettings(build_plan([parse_kernel_spec(spec)]), options, mapping=mapping)
    made = split_pixels(path, settings, tmp_path / "split.tif")
    expected = tifffile.imread(ref)
    assert made.dtype == expected.dtype == IMAGES[image][1]
    assert np.array_equal(made, expected)


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "sobel", "--map", "clip"],  # a bank combined by magnitude
        ["-k", "sobel_x", "-k", "box:5", "--combine", "max", "--map", "offset"],
        ["-k", "gaussian:sigma=2", "--color", "gray"],
        ["-k", "sharpen", "--scale", "0.5", "--bias", "10", "--map", "clip"],
    ],
    ids=str,
)
def test_colour_banks_and_mappings_are_the_streaming_paths(
    images: dict[str, Path], tmp_path: Path, args: list[str]
) -> None:
    ref, split_out = tmp_path / "ref.tif", tmp_path / "split.tif"
    done = apply(str(images["rgb8"]), *args, "-o", str(ref), "-q")
    assert done.exit_code == 0, done.output
    settings = captured_settings(str(images["rgb8"]), args, split_out)
    made = split_pixels(images["rgb8"], settings, split_out)
    assert np.array_equal(made, tifffile.imread(ref))


def captured_settings(source: str, args: list[str], out: Path) -> ApplySettings:
    """The ApplySettings ``apply`` builds for ``args`` (caught where it hands them over)."""
    seen: list[ApplySettings] = []

    def catch(run: Any, settings: ApplySettings, kw: Any, report: Any) -> None:
        seen.append(settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("convcli.cli.apply._run", catch)
        done = apply(source, *args, "-o", str(out), "-q")
    assert done.exit_code == 0, done.output
    return seen[0]


@pytest.mark.parametrize("image", ["gray16", "rgb8"])
def test_zarr_strips_hold_the_streaming_paths_pixels(
    images: dict[str, Path], tmp_path: Path, image: str
) -> None:
    args = ["-k", "gaussian:sigma=1", "--padding-mode", "circular", "--stride", "2"]
    ref = tmp_path / "ref.tif"
    assert apply(str(images[image]), *args, "-o", str(ref), "-q").exit_code == 0
    target = tmp_path / "out.zarr"
    settings = captured_settings(str(images[image]), args, tmp_path / "unused.tif")
    split = open_split(str(images[image]), [str(target)], ["zarr"], settings, task_bytes=1)
    with closing(split.image), staged_arrays([target], split.output_shape,
                                             (split.cuts[0][1], *split.output_shape[1:]),
                                             split.dtype) as works:  # fmt: skip
        for cut in split.cuts:
            reports = huge.zarr_strip(split.job, cut, works)
            assert reports[0].pixels.shape[0] == 0
            assert reports[0].pixels.base is None  # not a view holding the strip
    written = zarr.open_array(str(target), mode="r")[:]
    expected = tifffile.imread(ref)
    assert written.shape == expected.shape
    assert written.dtype == expected.dtype
    assert np.array_equal(written, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr", "ref.tif"]


def test_a_failed_zarr_leaves_nothing(images: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    with pytest.raises(KeyboardInterrupt), staged_arrays([target], (4, 4), (2, 4), np.uint8):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_an_old_array(tmp_path: Path) -> None:
    target = tmp_path / "out.zarr"
    zarr.open_array(str(target), mode="w", shape=(2, 2), dtype="uint8")[:] = 7
    with staged_arrays([target], (4, 4), (2, 4), np.uint8, existing="overwrite") as (work,):
        zarr.open_array(work, mode="r+")[:] = 3
    assert zarr.open_array(str(target), mode="r")[:].tolist() == [[3] * 4] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]


def test_a_strip_whose_workers_all_die_is_one_error_line(
    images: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = pytest.importorskip("distributed").KilledWorker

    def die(split: Any, target: Any) -> None:
        task = "strip"
        raise killed(task, "tcp://127.0.0.1:1", allowed_failures=3)

    monkeypatch.setattr(huge, "_run", die)
    job = Job(InputFile(images["rgb8"]), (str(tmp_path / "o.zarr"),), ("zarr",))
    settings = ApplySettings(build_plan([parse_kernel_spec("box:3")]))
    outcome = huge.run_huge(job, settings, DaskTarget(workers=1))
    assert outcome is not None
    assert outcome.error == (
        f"{images['rgb8']}: a strip task's Dask worker died on each of 4 tries"
    )
    assert list(tmp_path.iterdir()) == []
