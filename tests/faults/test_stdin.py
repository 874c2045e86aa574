"""Standard input: the header is checked before the stream is read to its end."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image

CHUNK = 1 << 16
STREAM = 256 << 20  # far more than the 1 MiB read before the header is checked


def test_an_endless_stream_of_zeros_is_refused_after_its_head(runner) -> None:
    proc = runner.start("apply", "-", "-k", "sobel", "-o", "-", "-q", stdin=-1)
    assert proc.stdin is not None
    sent = 0

    def feed() -> None:
        nonlocal sent
        try:
            while sent < STREAM:
                proc.stdin.write(bytes(CHUNK))  # type: ignore[union-attr]
                sent += CHUNK
        except (BrokenPipeError, ValueError):
            return

    writer = threading.Thread(target=feed)
    writer.start()
    _, stderr = proc.communicate(timeout=60)
    writer.join(timeout=60)
    assert proc.returncode == 1
    assert stderr.decode() == (
        "convcli: error: <stdin>: not an image Pillow can read (unknown or corrupt format)\n"
    )
    assert sent < STREAM


def test_a_large_image_on_stdin_is_read_whole(runner, tmp_path) -> None:
    pixels = np.random.default_rng(3).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1 << 20
    (tmp_path / "in.png").write_bytes(buffer.getvalue())
    piped = runner.run("apply", "-", "-k", "box:3", "-o", "-", "-q", input=buffer.getvalue())
    assert piped.returncode == 0, piped.stderr
    named = runner.run("apply", str(tmp_path / "in.png"), "-k", "box:3", "-o", "-", "-q")
    assert piped.stdout == named.stdout
