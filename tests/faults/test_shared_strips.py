"""One image's strips shared with forked helper processes: same bytes, and failures handled.

The real console script runs in a subprocess, with ``os.fork`` and the helper's strip
function wrapped (a script given to ``python -c``): each fork is reported on a pipe, and a
helper can be made to die, fail or wait at its first strip. Waits poll with a deadline.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from .conftest import DEADLINE, alive, poll, temps

WRAPPED = """
import os, signal, sys
import convcli.pipeline.shared as shared
from convcli.errors import ImageError
mode, report = sys.argv[1], int(sys.argv[2])
real_fork, real_serve = os.fork, shared._serve
def fork():
    if mode == "refuse":
        os.write(report, b"refused\\n")
        raise OSError(11, "Resource temporarily unavailable")
    pid = real_fork()
    if pid:
        os.write(report, b"helper %d\\n" % pid)
    return pid
def serve(parent, cuts, make, *rest):
    def strip(cut):  # the helper's every strip
        if mode == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "fail":
            raise ImageError(f"in.tif: cannot decode rows {cut[0]}-{cut[1]}")
        if mode == "wait":
            os.write(report, b"waiting\\n")
            signal.pause()
        return make(cut)
    real_serve(parent, cuts, strip, *rest)
os.fork, shared._serve = fork, serve
if mode == "fail-below-the-top":  # in every process
    import convcli.pipeline.stream as stream
    def failing(image, plan, options, cut, *rest):
        raise ImageError(f"in.tif: cannot decode rows {cut[0]}-{cut[1]}")
    real_runs = stream.strip_runs
    stream.strip_runs = lambda *a: (failing if a[3][0] else real_runs)(*a)
sys.argv = ["convcli", *sys.argv[3:]]
from convcli.cli import main
main()
"""


@dataclass
class Run:
    """A wrapped ``convcli`` process and the pipe its forks are reported on."""

    proc: subprocess.Popen[bytes]
    report: int
    stdout: bytes = b""

    def line(self) -> str:
        """The next reported line (blocking, bounded by the process's end)."""
        data = b""
        while not data.endswith(b"\n"):
            part = os.read(self.report, 1)
            if not part:
                break
            data += part
        return data.decode().strip()

    def reported(self) -> list[str]:
        """Every line not read yet, once the process has ended."""
        os.set_blocking(self.report, False)
        try:
            return os.read(self.report, 65536).decode().splitlines()
        except BlockingIOError:
            return []

    def helpers(self) -> list[int]:
        """The PIDs of every helper forked, once the process has ended."""
        return [int(line.split()[1]) for line in self.reported() if line.startswith("helper")]


@pytest.fixture
def wrapped() -> Iterator[list[Run]]:
    """Starts wrapped runs in their own sessions; kills what is left at the end."""
    runs: list[Run] = []
    yield runs
    for run in runs:
        try:
            os.killpg(run.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        run.proc.communicate(timeout=DEADLINE)
        os.close(run.report)


def _start(runs: list[Run], mode: str, *args: str, fsize: int | None = None) -> Run:
    read, write = os.pipe()

    def limit() -> None:  # a file-size limit: writes past it fail as a full disk does
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPED, mode, str(write), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write,),
        start_new_session=True, preexec_fn=limit,
    )  # fmt: skip
    os.close(write)
    run = Run(proc, read)
    runs.append(run)
    return run


def _finish(run: Run) -> tuple[int, list[str]]:
    stdout, stderr = run.proc.communicate(timeout=DEADLINE)
    run.stdout = stdout
    return run.proc.returncode, stderr.decode().splitlines()


RNG = np.random.default_rng(7)
HEIGHT, WIDTH = 3000, 1024
"""Five strips of an RGB image (a strip holds about 8 MiB of float32 values), two of gray."""


def _photo(channels: int = 3, dtype: type = np.uint8) -> np.ndarray:
    top = 255 if dtype == np.uint8 else 65535
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = (np.sin(y / 97.0) * np.cos(x / 53.0) + 1) / 2 * top
    noise = RNG.normal(0, top / 40, (HEIGHT, WIDTH, channels))
    pixels = np.clip(base[..., None] + noise, 0, top).astype(dtype)
    return pixels[..., 0] if channels == 1 else pixels


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The inputs: RGB, 16-bit RGB and gray TIFF, and an RGBA PNG."""
    folder = tmp_path_factory.mktemp("shared")
    paths = {name: folder / name for name in ("rgb.tif", "deep.tif", "gray.tif", "rgba.png")}
    tifffile.imwrite(paths["rgb.tif"], _photo(), photometric="rgb", metadata=None)
    tifffile.imwrite(paths["deep.tif"], _photo(dtype=np.uint16), photometric="rgb", metadata=None)
    tifffile.imwrite(paths["gray.tif"], _photo(1), photometric="minisblack", metadata=None)
    rgba = _photo(4)
    rgba[..., 3] = np.where(rgba[..., 3] > 40, 255, rgba[..., 3])  # mostly opaque, some clear
    Image.fromarray(rgba).save(paths["rgba.png"])
    return paths


CASES = [
    ("rgb.tif", "o.tif", ["-k", "gaussian:sigma=2"], 2),
    ("rgb.tif", "o.png", ["-k", "sobel"], 2),
    ("deep.tif", "o.tif", ["-k", "sharpen", "--stride", "2"], 2),
    ("rgba.png", "o.tif", ["-k", "blur"], 2),
    ("gray.tif", "o.tif", ["-k", "sobel_x", "--map", "normalize"], 2),
    ("rgb.tif", "o.jpg", ["-k", "emboss", "--dilation", "2", "--padding-mode", "circular"], 2),
    ("rgb.tif", "o.tif", ["-k", "sobel", "-k", "sobel_y", "--combine", "stack"], 3),
]


def test_a_refused_fork_filters_in_one_process(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path
) -> None:
    """No process to share with (the system refuses it): the same file, made here alone."""
    for mode, folder, jobs in (("refuse", "refused", "2"), ("none", "one", "1")):
        run = _start(wrapped, mode, "apply", str(images["rgb.tif"]), "-k", "blur", "-o",
                     f"{tmp_path}/{folder}/o.tif", "--jobs", jobs, "-q")  # fmt: skip
        assert _finish(run) == (0, [])
        assert run.reported() == (["refused"] if mode == "refuse" else [])
    refused = (tmp_path / "refused/o.tif").read_bytes()
    assert refused == (tmp_path / "one/o.tif").read_bytes()


@pytest.mark.parametrize(("name", "out", "args", "jobs"), CASES)
def test_shared_strips_give_the_bytes_of_one_process(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path, name: str, out: str,
    args: list[str], jobs: int,
) -> None:  # fmt: skip
    source = str(images[name])
    results = {}
    for label, count in (("one", 1), ("shared", jobs)):
        folder = tmp_path / label
        run = _start(wrapped, "none", "apply", source, *args, "-o", f"{folder}/{out}",
                     "--jobs", str(count), "--json", "-q")  # fmt: skip
        code, errors = _finish(run)
        assert (code, errors) == (0, [])
        assert len(run.helpers()) == count - 1
        record = json.loads(run.stdout)
        results[label] = record, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    (one, one_files), (shared, shared_files) = results["one"], results["shared"]
    assert shared_files == one_files
    assert _same_names(shared) == _same_names(one)


def _same_names(record: dict[str, object]) -> str:
    """The record without its time, its outputs named from their own folder."""
    del record["ms"]
    return json.dumps(record, sort_keys=True).replace("/shared/", "/").replace("/one/", "/")


def test_a_helper_that_dies_fails_the_image_and_keeps_the_old_file(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "o.tif"
    out.write_bytes(b"the user's file")
    run = _start(wrapped, "die", "apply", str(images["rgb.tif"]), "-k", "blur", "-o", str(out),
                 "--overwrite", "--jobs", "2", "-q")  # fmt: skip
    code, errors = _finish(run)
    assert code == 1
    assert errors == [
        f"convcli: error: {images['rgb.tif']}: a helper process filtering this image ended "
        "unexpectedly (killed by signal 9)"
    ]
    assert out.read_bytes() == b"the user's file"
    assert temps(tmp_path) == []


def test_a_helper_error_is_the_run_error(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path
) -> None:
    """Raised in the helper, printed by the main process as one line, as in one process."""
    run = _start(wrapped, "fail", "apply", str(images["rgb.tif"]), "-k", "blur", "-o",
                 f"{tmp_path}/o.png", "--jobs", "2", "-q")  # fmt: skip
    code, errors = _finish(run)
    assert code == 1
    assert len(errors) == 1
    prefix = f"convcli: error: {images['rgb.tif']}: in.tif: cannot decode rows "
    assert errors[0].startswith(prefix)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not any(alive(pid) for pid in run.helpers())


def test_the_error_of_the_first_failing_strip_is_the_run_error(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path
) -> None:
    """Every strip below the first fails, in whichever process takes it: the run reports
    the second strip's error, as one process would, however the strips were shared."""
    run = _start(wrapped, "fail-below-the-top", "apply", str(images["rgb.tif"]), "-k", "blur",
                 "-o", f"{tmp_path}/o.tif", "--jobs", "2", "-q")  # fmt: skip
    code, errors = _finish(run)
    assert (code, errors) == (1, [f"convcli: error: {images['rgb.tif']}: in.tif: cannot decode "
                                  "rows 672-1344"])  # fmt: skip
    assert len(run.helpers()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("how", "code", "last"),
    [("ctrl-c", 130, "convcli: interrupted"), ("term", 143, "convcli: terminated")],
)
def test_stopping_the_run_stops_its_helper(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path, how: str, code: int, last: str
) -> None:
    """Ctrl-C reaches the whole process group, SIGTERM the main process only."""
    run = _start(wrapped, "wait", "apply", str(images["rgb.tif"]), "-k", "blur", "-o",
                 f"{tmp_path}/o.tif", "--jobs", "2", "-q")  # fmt: skip
    helper = int(run.line().split()[1])
    assert run.line() == "waiting"
    if how == "ctrl-c":
        os.killpg(run.proc.pid, signal.SIGINT)
    else:
        run.proc.send_signal(signal.SIGTERM)
    returncode, errors = _finish(run)
    assert (returncode, errors[-1:]) == (code, [last])
    assert not alive(helper)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_helper_dies_with_a_killed_main_process(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path
) -> None:
    run = _start(wrapped, "wait", "apply", str(images["rgb.tif"]), "-k", "blur", "-o",
                 f"{tmp_path}/o.tif", "--jobs", "2", "-q")  # fmt: skip
    helper = int(run.line().split()[1])
    assert run.line() == "waiting"
    run.proc.kill()
    run.proc.communicate(timeout=DEADLINE)
    poll(lambda: not alive(helper), what="the helper to end with its parent")


@pytest.mark.parametrize("out", ["o.tif", "o.png"])
def test_a_full_disk_while_strips_are_shared_keeps_the_old_file(
    wrapped: list[Run], images: dict[str, Path], tmp_path: Path, out: str
) -> None:
    """The main process writes; its write fails half-way (the 9 MB file cannot fit 4 MB):
    one line, exit 1, the helper stopped, the user's old file kept, no temporary file."""
    target = tmp_path / out
    target.write_bytes(b"the user's file")
    run = _start(wrapped, "none", "apply", str(images["rgb.tif"]), "-k", "identity", "-o",
                 str(target), "--overwrite", "--jobs", "2", "-q", fsize=4_000_000)  # fmt: skip
    code, errors = _finish(run)
    assert (code, errors) == (
        1, [f"convcli: error: {images['rgb.tif']}: {target}: cannot write: File too large"]
    )  # fmt: skip
    helpers = run.helpers()
    assert len(helpers) == 1
    assert not alive(helpers[0])
    assert target.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out]
