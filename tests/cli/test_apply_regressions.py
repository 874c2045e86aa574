"""Regression tests for bugs found by trying `convcli apply` as a user and a script would."""

from __future__ import annotations

import concurrent.futures
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

import convcli.batch.run
from convcli.batch import InputFile, Job, process_job, run_jobs
from convcli.cli import cli
from convcli.kernels import parse_kernel_spec
from convcli.pipeline import ApplySettings, build_plan, output_depth


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["apply", *args], catch_exceptions=False)


def _png16(path: Path, planes: np.ndarray) -> None:
    """Write a 16-bit PNG (Pillow cannot write 16-bit colour)."""
    from convcli.io import encode_image

    alpha = planes[..., 3] if planes.shape[2] == 4 else None
    path.write_bytes(encode_image(planes[..., :3], alpha=alpha, format="png"))


class _LazyPool:
    """A stand-in ProcessPoolExecutor: runs the first job at once, the rest on shutdown.

    Like the real pool, ``shutdown(wait=True)`` runs every job still queued unless
    ``cancel_futures`` is set.
    """

    def __init__(self, max_workers: int, **_: Any) -> None:
        self.started = False
        self.queued: list[tuple[Future[Any], Callable[[Any], Any], Any]] = []

    def submit(self, fn: Callable[[Any], Any], job: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if self.started:
            self.queued.append((future, fn, job))
        else:
            self.started = True
            future.set_result(fn(job))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for future, fn, job in self.queued:
            if cancel_futures:
                future.cancel()
            elif wait:
                future.set_result(fn(job))


def test_run_jobs_cancels_queued_jobs_when_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C used to leave the pool running every queued image to the end
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _LazyPool)  # imported when used
    ran: list[str] = []
    jobs = [Job(InputFile(Path(f"{i}.png")), ("-",), ("png",)) for i in range(5)]

    def worker(job: Job) -> str:
        ran.append(job.source.stem)
        return job.source.stem

    outcomes = run_jobs(jobs, worker, processes=2)
    assert next(outcomes)[1] == "0"
    outcomes.close()
    assert ran == ["0"]


def test_queued_job_refused_after_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker that got Ctrl-C must not start the jobs already handed to it
    interrupted = threading.Event()
    monkeypatch.setattr(convcli.batch.run, "_interrupted", interrupted)
    interrupted.set()
    job = Job(InputFile(Path("never-read.png")), ("out.png",), ("png",))
    with pytest.raises(KeyboardInterrupt):
        process_job(job, settings=ApplySettings(build_plan([parse_kernel_spec("blur")])))


def test_ctrl_c_exits_130_without_aborted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    Image.new("L", (3, 3)).save(tmp_path / "a.png")

    def interrupted(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(convcli.batch.run, "filter_image", interrupted)
    result = run(str(tmp_path / "a.png"), "-k", "blur")
    assert result.exit_code == 130
    assert result.stderr.strip() == "convcli: interrupted"
    assert sorted(os.listdir(tmp_path)) == ["a.png"]


@pytest.mark.parametrize("bands", [3, 4])
def test_16bit_colour_to_tiff_keeps_16_bits(tmp_path: Path, bands: int) -> None:
    # used to fall back to 8 bits (Pillow cannot write 16-bit colour TIFF); tifffile can
    planes = np.random.default_rng(0).integers(0, 65536, (4, 3, bands)).astype(np.uint16)
    _png16(tmp_path / "c.png", planes)
    args = ["-k", "identity", "-p", "same", "-o", str(tmp_path / "c.tif"), "--json"]
    result = run(str(tmp_path / "c.png"), *args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["maps"][0]["depth"] == 16
    written = tifffile.imread(tmp_path / "c.tif")
    assert written.dtype == np.uint16
    np.testing.assert_array_equal(written, planes)


def test_output_depth_keeps_16bit_tiff() -> None:
    assert output_depth(None, 16, "tiff", planes=1) == 16
    assert output_depth(None, 16, "tiff", planes=4) == 16
    assert output_depth(None, 16, "png", planes=4) == 16
    assert output_depth(None, 16, "jpeg", planes=3) == 8


def _nan_tiff(path: Path) -> None:
    values = np.ones((5, 5), np.float32)
    values[2, 2] = np.nan
    Image.fromarray(values).save(path)


@pytest.mark.parametrize("output", ["n.npy", "n.png"])
def test_nan_input_is_refused_with_one_line_and_no_warnings(tmp_path: Path, output: str) -> None:
    # NaN used to be written as zeros with exit 0; the policy now: non-finite pixels are refused
    _nan_tiff(tmp_path / "n.tif")
    result = run(str(tmp_path / "n.tif"), "-k", "box:3", "-o", str(tmp_path / output), "--json")
    assert result.exit_code == 1
    record = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(name))
    assert record["status"] == "failed"
    assert result.stderr == (
        f"convcli: error: {tmp_path / 'n.tif'}: image has 1 NaN or infinite values; "
        "expected finite numbers\n"
    )
    assert not (tmp_path / output).exists()


def test_missing_input_json_error_names_the_file(tmp_path: Path) -> None:
    # the error field of a missing input lacked the file name that failures carry
    missing = str(tmp_path / "nope.png")
    result = run(missing, "-k", "blur", "--json", "-q")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record == {
        "input": missing,
        "status": "failed",
        "error": f"{missing}: no such file or folder",
    }


def test_broken_symlink_in_folder_is_reported(tmp_path: Path) -> None:
    # used to be skipped silently: neither done, failed nor counted
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("L", (3, 3)).save(folder / "a.png")
    (folder / "gone.png").symlink_to(folder / "nowhere.png")
    result = run(str(folder), "-k", "blur", "-o", str(tmp_path / "out") + "/", "-q")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"convcli: error: {folder / 'gone.png'}: broken symbolic link"
    assert os.listdir(tmp_path / "out") == ["a_gaussian_blur_3x3.png"]


def test_output_folder_that_is_a_file_fails_before_work(tmp_path: Path) -> None:
    # used to read and filter every image, then fail each write
    for name in ("a.png", "b.png"):
        Image.new("L", (3, 3)).save(tmp_path / name)
    (tmp_path / "out").write_text("a file")
    result = run(str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-k", "blur", "-o",
                 str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 2
    assert "output folder" in result.stderr
    assert "is a file" in result.stderr
    assert (tmp_path / "out").read_text() == "a file"
