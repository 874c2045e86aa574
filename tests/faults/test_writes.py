"""Writes that fail: a full device, an injected ENOSPC or short write, a racing run.

A failed write is one line on stderr and exit 1, never a traceback or a cut-short file
with exit 0; two runs into one folder never replace each other's files.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(__file__).parents[2] / "sample_images" / "coffee.png"
FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")


def _one_error_line(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


@needs_dev_full
@pytest.mark.parametrize(
    "args",
    [
        ("apply", str(SAMPLE), "-k", "sobel", "-o", "-", "-q"),
        ("apply", str(SAMPLE), "-k", "sobel", "-o", "{tmp}/a.png", "--json", "-q"),
        ("apply", str(SAMPLE), "-k", "sobel", "-o", "{tmp}/a.png", "--dry-run"),
        ("shape", "224x224x3", "-k", "7"),
        ("shape", "224x224x3", "-k", "7", "--json"),
        ("kernels",),
    ],
    ids=["image", "json", "dry-run", "shape", "shape-json", "kernels"],
)
def test_standard_output_on_a_full_device(runner, tmp_path, args) -> None:
    args = tuple(a.format(tmp=tmp_path) for a in args)
    with FULL.open("wb") as full:
        done = runner.run(*args, stdout=full, capture_output=False, stderr=subprocess.PIPE)
    assert done.returncode == 1
    assert _one_error_line(done.stderr) in (
        "convcli: error: standard output: cannot write: No space left on device",
        "convcli: error: cannot write output: No space left on device",
    )


INJECT = """
import errno, os, sys
real = os.write
calls = []
def write(fd, data):
    if fd != 1:
        return real(fd, data)
    calls.append(len(data))
    if {fail} and len(calls) > 2:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(fd, bytes(data)[:1000])  # a short write, as a nearly full disk gives
os.write = write
sys.argv = ["convcli", *sys.argv[1:]]
from convcli.cli import main
main()
"""


def _inject(fail: bool, *args: str) -> subprocess.CompletedProcess[bytes]:
    code = INJECT.format(fail=fail)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, timeout=60, check=False
    )


def test_short_writes_to_standard_output_are_completed(runner, tmp_path) -> None:
    done = _inject(False, "apply", str(SAMPLE), "-k", "sobel", "-o", "-", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    written = runner.run("apply", str(SAMPLE), "-k", "sobel", "-o", f"{tmp_path}/a.png", "-q")
    assert written.returncode == 0
    # the file is written in strips (its own PNG encoder), standard output whole (Pillow)
    with Image.open(io.BytesIO(done.stdout)) as out, Image.open(tmp_path / "a.png") as file:
        assert out.mode == file.mode
        np.testing.assert_array_equal(np.asarray(out), np.asarray(file))


def test_an_injected_enospc_is_one_line_and_exit_1() -> None:
    done = _inject(True, "apply", str(SAMPLE), "-k", "sobel", "-o", "-", "-q")
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert line == "convcli: error: standard output: cannot write: No space left on device"


FILL_FILES = """
import errno, io, os, sys
import convcli.io.atomic as atomic
class Filling(io.RawIOBase):  # a disk that fills after 4 KiB of this file
    def __init__(self, fd):
        self.fd, self.written = fd, 0
    def writable(self):
        return True
    def seekable(self):  # tifffile seeks back to patch offsets
        return True
    def seek(self, offset, whence=0):
        return os.lseek(self.fd, offset, whence)
    def tell(self):
        return os.lseek(self.fd, 0, 1)
    def write(self, data):
        self.written += len(data)
        if self.written > 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(self.fd, data)
    def close(self):
        if not self.closed:
            os.close(self.fd)
        super().close()
atomic.open = lambda fd, mode: io.BufferedWriter(Filling(fd))
sys.argv = ["convcli", *sys.argv[1:]]
from convcli.cli import main
main()
"""


@pytest.mark.parametrize("name", ["out.jpg", "out.png", "out.tif"])
def test_a_disk_that_fills_mid_file_keeps_the_old_file(tmp_path: Path, name: str) -> None:
    """JPEG (encoded whole from strips), PNG and TIFF (written strip by strip)."""
    out = tmp_path / name
    out.write_bytes(b"the user's file")
    done = subprocess.run(
        [sys.executable, "-c", FILL_FILES, "apply", str(SAMPLE), "-k", "sharpen", "-o",
         str(out), "--overwrite", "-q"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert line == f"convcli: error: {SAMPLE}: {out}: cannot write: No space left on device"
    assert out.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_a_closed_pipe_is_one_line_and_exit_1(runner) -> None:
    proc = runner.start("apply", str(SAMPLE), "-k", "sobel", "-o", "-", "-q")
    assert proc.stdout is not None
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert _one_error_line(stderr) == "convcli: error: standard output: cannot write: Broken pipe"


def _records(stdout: bytes) -> dict[str, dict[str, object]]:
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    return {str(r["input"]): r for r in records}


SLOW = ("-k", "box:31", "--method", "direct")


def test_two_concurrent_runs_never_replace_each_other(runner, photos, tmp_path) -> None:
    """Same names, different settings: each file is wholly one run's, and that run's own."""
    settings = {"clip": ("--map", "clip"), "normalize": ("--map", "normalize")}
    expected = {}
    for name, extra in settings.items():
        alone = tmp_path / f"alone-{name}"
        done = runner.run("apply", str(photos), *SLOW, *extra, "-o", f"{alone}/", "-q")
        assert done.returncode == 0, done.stderr
        expected[name] = runner.finals(alone)
    out = tmp_path / "out"
    procs = {
        name: runner.start("apply", str(photos), *SLOW, *extra, "-o", f"{out}/", "--json", "-q")
        for name, extra in settings.items()
    }
    results = {name: proc.communicate(timeout=120) for name, proc in procs.items()}
    written = runner.finals(out)
    assert sorted(written) == sorted(expected["clip"])
    for name, (stdout, stderr) in results.items():
        records = _records(stdout)
        assert "Traceback" not in stderr.decode()
        for record in records.values():
            if record["status"] == "ok":
                output = Path(str(record["output"])).name
                assert written[output] == expected[name][output], f"{name} lost {output}"
        failed = sum(r["status"] == "failed" for r in records.values())
        assert (procs[name].returncode == 1) == (failed > 0 or not records)
    assert runner.temps(out) == []


def test_skip_existing_keeps_the_written_maps_of_a_half_written_stack(runner, tmp_path) -> None:
    args = ("apply", str(SAMPLE), "-k", "sobel_x", "-k", "sobel_y", "-o", f"{tmp_path}/", "-q")
    kept = tmp_path / "coffee_sobel_x.png"
    kept.write_bytes(b"a map a killed run left")
    done = runner.run(*args, "--skip-existing")
    assert done.returncode == 0, done.stderr
    assert kept.read_bytes() == b"a map a killed run left"
    clean = tmp_path / "clean"
    assert runner.run(*args[:-2], f"{clean}/", "-q").returncode == 0
    assert (tmp_path / "coffee_sobel_y.png").read_bytes() == (
        clean / "coffee_sobel_y.png"
    ).read_bytes()
