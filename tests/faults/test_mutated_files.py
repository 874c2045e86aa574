"""Damaged files, made by mutating good ones: the real command never shows a traceback.

Each good file is cut short or has a few bytes changed, always the same ones (a fixed seed);
every run must exit 0 (the damage missed what is read) or 1 with exactly one
``convcli: error: in.EXT: ...`` line, leave no file behind when it fails, and print nothing
on stderr when it succeeds. A search of this kind over thousands of files found the
tracebacks, the out-of-memory GIF and the library chatter that ``test_bad_inputs.py`` now
pins one by one; this keeps a sample of it running.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

MUTATIONS = 12
"""Damaged copies of each file per run of the tests (each a subprocess of about 0.15 s)."""


def _pixels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)


def _tiff(**kw: object) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, _pixels(), photometric="rgb", **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def _pillow(fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gif() -> bytes:
    rng = np.random.default_rng(1)
    frames = [Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=40)
    return buf.getvalue()


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, _pixels().astype(np.float32))
    return buf.getvalue()


GOOD = {
    "striped.tif": lambda: _tiff(rowsperstrip=5),
    "tiled.tif": lambda: _tiff(tile=(16, 16)),
    "deflate-bigtiff.tif": lambda: _tiff(bigtiff=True, compression="zlib"),
    "pillow.tif": lambda: _pillow("TIFF", dpi=(300, 300)),
    "photo.png": lambda: _pillow("PNG"),
    "photo.jpg": lambda: _pillow("JPEG", quality=90),
    "frames.gif": _gif,
    "values.npy": _npy,
}


def mutated(data: bytes, seed: int) -> bytes:
    """``data`` cut short (one time in three) or with one to five bytes changed."""
    rnd = random.Random(seed)
    if seed % 3 == 0:
        return data[: rnd.randrange(8, len(data))]
    damaged = bytearray(data)
    for _ in range(rnd.randrange(1, 6)):
        # the headers and tags (start and end of the file) more often than the pixels
        region = rnd.choice([(0, 32), (max(0, len(data) - 600), len(data)), (0, len(data))])
        damaged[rnd.randrange(*region)] = rnd.randrange(256)
    return bytes(damaged)


@pytest.mark.parametrize("name", GOOD)
def test_a_damaged_file_is_one_error_line_or_filtered(runner, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    suffix = Path(name).suffix
    good = GOOD[name]()
    source = tmp_path / f"in{suffix}"
    out = "out.png" if suffix != ".tif" else "out.tif"
    outcomes = set()
    for seed in range(MUTATIONS):
        source.write_bytes(mutated(good, seed))
        done = runner.run("apply", source.name, "-k", "blur", "-o", out, "-q", cwd=tmp_path)
        stderr = done.stderr.decode(errors="replace")
        assert "Traceback" not in stderr, (seed, stderr)
        assert done.returncode in (0, 1), (seed, done.returncode, stderr)
        if done.returncode == 0:
            assert stderr == "", (seed, stderr)
            (tmp_path / out).unlink()  # each run starts from the input alone
            continue
        lines = stderr.splitlines()
        assert len(lines) == 1, (seed, stderr)
        assert lines[0].startswith(f"convcli: error: in{suffix}: "), (seed, stderr)
        assert sorted(p.name for p in tmp_path.iterdir()) == [source.name], seed
        outcomes.add(done.returncode)
    assert 1 in outcomes  # the mutations do damage what is read
