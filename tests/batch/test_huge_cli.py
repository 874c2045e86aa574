"""``apply huge.tif -o huge.zarr --dask``: what is refused, with one line and an exit code.

Every case here is refused before a cluster would start. ``shape --plan`` needs no Dask.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from convcli.cli import cli


def run(*args: str, stdin: bytes | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def tif(tmp_path: Path) -> Path:
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((40, 50, 3), np.uint8), photometric="rgb")
    return path


def test_shape_plan_prints_the_strips_halo_and_memory() -> None:
    done = run("shape", "3000x2400x3", "-k", "gaussian:sigma=3", "--plan", "-p", "valid")
    assert done.exit_code == 0
    assert done.output.splitlines()[-3:] == [
        "strips   3 tasks of 1152 output rows (the last 678), cut at multiples of 36 "
        "(the engine's tile)",
        "halo     1170 input rows read for 1152 output rows (18 halo rows)",
        "memory   about 79.4 MiB a task: input rows 8.0 MiB, padded float32 rows 32.1 MiB, "
        "float32 maps 31.4 MiB, pixels 7.9 MiB",
    ]


def test_shape_plan_of_a_tiff_reads_its_depth(tmp_path: Path) -> None:
    path = tmp_path / "deep.tif"
    tifffile.imwrite(path, np.zeros((3000, 2400), np.uint16))
    done = run("shape", str(path), "-k", "gaussian:sigma=3", "--plan", "--json")
    assert done.exit_code == 0
    plan = __import__("json").loads(done.output)["plan"]
    assert plan["parts"]["input rows"] == plan["read_rows"] * 2400 * 2
    assert plan["tasks"] == 1 + (3000 - 1) // plan["rows"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-k", "3", "--plan"],
            "--plan needs -k with a kernel spec (its weights choose the engine's method)",
        ),
        (["-l", "k3s1p1", "--plan"], "--plan needs -k with a kernel spec"),
    ],
)
def test_shape_plan_usage_errors(args: list[str], message: str) -> None:
    done = run("shape", "300x200", *args)
    assert done.exit_code == 2
    assert message in done.output


def test_shape_plan_of_a_png_says_tiff_only(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.new("RGB", (5, 4)).save(path)
    done = run("shape", str(path), "-k", "box:3", "--plan")
    assert done.exit_code == 1
    assert done.output == (
        f"convcli: error: {path}: apply --dask splits TIFF images (read by tifffile) into "
        "strip tasks only\n"
    )


def test_zarr_without_dask_is_a_usage_error(tif: Path, tmp_path: Path) -> None:
    done = run("apply", str(tif), "-k", "box:3", "-o", str(tmp_path / "o.zarr"))
    assert done.exit_code == 2
    assert "a .zarr output is written by --dask only (one image as strip tasks); add --dask" in (
        done.output
    )
    assert not (tmp_path / "o.zarr").exists()


def test_zarr_from_stdin_is_a_usage_error(tif: Path, tmp_path: Path) -> None:
    done = run("apply", "-", "-k", "box:3", "-o", str(tmp_path / "o.zarr"), "--dask", "local:1",
               stdin=tif.read_bytes())  # fmt: skip
    assert done.exit_code == 2
    assert "a .zarr output needs an image file (its strips are read by the workers), not -" in (
        done.output
    )


needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="the dask extra is not installed"
)  # the refusals below come after the extra's check


@needs_dask
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-k", "box:3", "--map", "normalize"], "--map normalize needs the whole map's range, "
         "which strip tasks do not see; give --map clip, abs or offset (with --scale for a "
         "gain)"),
        (["-k", "sobel_x"], "--map auto needs the whole map for a zero-sum kernel's gain, which "
         "strip tasks do not see; give --map clip, abs or offset (with --scale for a gain)"),
        (["-k", "box:3", "-k", "box:3", "--chain"], "cannot be split into strip tasks: --chain "
         "runs each kernel on the whole previous map"),
        (["-k", "box:3", "--color", "luma"], "cannot be split into strip tasks: --color luma "
         "filters the whole luma plane"),
        (["-k", "box:3", "--record"], "cannot be split into strip tasks: --record replays a "
         "whole-image run"),
    ],
)  # fmt: skip
def test_what_strip_tasks_cannot_make_is_refused(
    tif: Path, tmp_path: Path, args: list[str], reason: str
) -> None:
    out = tmp_path / "o.zarr"
    done = run("apply", str(tif), *args, "-o", str(out), "--dask", "local:1")
    assert done.exit_code == 1
    assert done.output == f"convcli: error: {tif}: {reason}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif"]


def png(path: Path) -> None:
    Image.new("RGB", (5, 4)).save(path)


def tiff_with_alpha(path: Path) -> None:
    tifffile.imwrite(path, np.zeros((8, 8, 4), np.uint8), photometric="rgb",
                     extrasamples=["unassalpha"])  # fmt: skip


@needs_dask
@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("p.png", png, "--dask splits TIFF images into strip tasks only; convert it to .tif, "
         "or write .tif/.png to filter it whole on one worker"),
        ("a.tif", tiff_with_alpha, "cannot be split into strip tasks: it has alpha (give "
         "--alpha drop)"),
    ],
)  # fmt: skip
def test_images_that_do_not_split_into_zarr_are_refused(
    tmp_path: Path, name: str, make: Callable[[Path], None], reason: str
) -> None:
    path = tmp_path / name
    make(path)
    done = run("apply", str(path), "-k", "box:3", "-o", str(tmp_path / "o.zarr"), "--dask",
               "local:1")  # fmt: skip
    assert done.exit_code == 1
    assert done.output == f"convcli: error: {path}: {reason}\n"
    assert [p.name for p in tmp_path.iterdir()] == [name]


@needs_dask
def test_an_existing_zarr_is_kept(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.zarr"
    out.mkdir()
    (out / "keep").write_text("mine")
    done = run("apply", str(tif), "-k", "box:3", "-o", str(out), "--dask", "local:1")
    assert done.exit_code == 1
    assert done.output == (
        f"convcli: error: {out} already exists; pass --overwrite to replace or --skip-existing "
        "to keep\n"
    )
    assert (out / "keep").read_text() == "mine"


def test_zarr_dry_run_starts_no_cluster(tif: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.zarr"
    done = run("apply", str(tif), "-k", "box:3", "-o", str(out), "--dask", "local:1", "-n")
    assert done.exit_code == 0
    assert done.output == f"would write {out} <- {tif}\n"


def test_zarr_without_the_extra_names_it(
    tif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name)
    )
    done = run("apply", str(tif), "-k", "box:3", "-o", str(tmp_path / "o.zarr"), "--dask",
               "local:1")  # fmt: skip
    assert done.exit_code == 2
    assert done.output == (
        'convcli: error: --dask needs Dask, which is not installed: pip install "convcli[dask]"\n'
    )
