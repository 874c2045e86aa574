"""Broken TIFFs and a write that fails midway: one clear line, exit 1, nothing half-written.

Each runs the installed ``convcli`` as a real process on a batch of two files: the bad
one fails alone, the good one is written.
"""

from __future__ import annotations

import importlib.util
import json
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

CONVCLI = Path(sys.executable).parent / "convcli"
pytestmark = pytest.mark.skipif(
    not CONVCLI.exists() and shutil.which("convcli") is None, reason="convcli not installed"
)
RNG = np.random.default_rng(5)


def convcli(*args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    exe = str(CONVCLI) if CONVCLI.exists() else "convcli"

    def limit() -> None:  # a file-size limit: writes past it fail as a full disk does
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [exe, "apply", *args], capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=limit,
    )  # fmt: skip


def _good(folder: Path) -> Path:
    path = folder / "good.tif"
    tifffile.imwrite(path, RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8), photometric="rgb")
    return path


def _set_tag(path: Path, code: int, value: int) -> None:
    """Overwrite a short/long tag value of the first page in place (a lying header)."""
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages.first.tags[code]
        offset, dtype = tag.valueoffset, tag.dtype
    fmt = "<H" if dtype == 3 else "<I"
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(struct.pack(fmt, value))


def _check_batch(tmp_path: Path, bad: Path, message: str) -> None:
    out = tmp_path / "out"
    done = convcli(str(bad), str(_good(tmp_path)), "-k", "box:3", "-o", f"{out}/", "--json")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("convcli: error:")]
    assert errors == [f"convcli: error: {bad}: {message}"]
    assert "Traceback" not in done.stderr
    records = {r["input"]: r["status"] for r in map(json.loads, done.stdout.splitlines())}
    assert records == {str(bad): "failed", str(tmp_path / "good.tif"): "ok"}
    assert sorted(p.name for p in out.iterdir()) == ["good_box_size_3.tif"]


def test_truncated_strip(tmp_path: Path) -> None:
    bad = tmp_path / "cut.tif"
    data = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    tifffile.imwrite(bad, data, photometric="rgb", rowsperstrip=8, metadata=None)
    with tifffile.TiffFile(bad) as tif:
        last = tif.pages.first.dataoffsets[-1]
    bad.write_bytes(bad.read_bytes()[: last + 10])
    _check_batch(tmp_path, bad, "truncated TIFF: strip 7 lies past the end of the file")


def test_header_that_lies_about_its_size(tmp_path: Path) -> None:
    bad = tmp_path / "tall.tif"
    data = RNG.integers(0, 256, (16, 20), dtype=np.uint8)
    tifffile.imwrite(bad, data, rowsperstrip=16, metadata=None)
    _set_tag(bad, 257, 4000)  # ImageLength: 4000 rows, one strip of 16 rows of data
    message = "the TIFF header describes 250 strips or tiles but lists 1; the file is damaged"
    _check_batch(tmp_path, bad, message)


def test_strip_shorter_than_its_rows(tmp_path: Path) -> None:
    bad = tmp_path / "short.tif"
    tifffile.imwrite(bad, RNG.integers(0, 256, (16, 20), dtype=np.uint8), metadata=None)
    with tifffile.TiffFile(bad) as tif:
        count = tif.pages.first.tags[279]  # StripByteCounts: 320 bytes; say 100
    _set_tag(bad, 279, 100) if count.count == 1 else pytest.fail("one strip expected")
    _check_batch(tmp_path, bad, "the TIFF header says 16x20 pixels but strip 0 holds fewer "
                 "bytes; the file is damaged")  # fmt: skip


@pytest.mark.skipif(importlib.util.find_spec("imagecodecs") is not None, reason="has codecs")
def test_deep_colour_compression_without_imagecodecs(tmp_path: Path) -> None:
    bad = tmp_path / "lzw.tif"
    data = RNG.integers(0, 65536, (16, 20, 3), dtype=np.uint16)
    tifffile.imwrite(bad, data, photometric="rgb", metadata=None)
    _set_tag(bad, 259, 5)  # Compression: LZW
    _check_batch(tmp_path, bad, "LZW-compressed 16-bit colour TIFF needs the imagecodecs "
                 "package; install it with: pip install 'convcli[tiff]'")  # fmt: skip


@pytest.mark.parametrize("fmt", ["tiff", "png"])
def test_write_that_fails_midway_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    big = tmp_path / "big.tif"
    noise = RNG.integers(0, 256, (1500, 1000, 3), dtype=np.uint8)  # PNG cannot shrink noise
    tifffile.imwrite(big, noise, photometric="rgb")
    small = _good(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    args = [str(big), str(small), "-k", "identity", "-o", f"{out}/", "--json", "-f", fmt]
    done = convcli(*args, fsize=2_000_000)  # the 4.5 MB output cannot fit
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("convcli: error:")]
    assert len(errors) == 1
    suffix = ".tif" if fmt == "tiff" else ".png"
    target = f"{big}: {out / ('big_identity' + suffix)}"
    assert errors[0] == f"convcli: error: {target}: cannot write: File too large", errors
    assert sorted(p.name for p in out.iterdir()) == [f"good_identity{suffix}"]
    assert _decoded_shape(out / f"good_identity{suffix}") == (40, 50, 3)


def _decoded_shape(path: Path) -> tuple[int, ...]:
    with Image.open(path) as im:
        return np.asarray(im).shape
