"""The installed `convcli` entry point, run as a real process on real files."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CONVCLI = Path(sys.executable).parent / "convcli"
pytestmark = pytest.mark.skipif(
    not CONVCLI.exists() and shutil.which("convcli") is None, reason="convcli not installed"
)


def convcli(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = str(CONVCLI) if CONVCLI.exists() else "convcli"
    return subprocess.run(
        [exe, "apply", *args], input=input, capture_output=True, timeout=120, check=False
    )


def test_folder_batch_in_worker_processes(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("a.png", "sub/b.png"):
        Image.fromarray(rng.integers(0, 256, (8, 9, 4), dtype=np.uint8), "RGBA").save(
            folder / name
        )
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    done = convcli(
        str(folder), "-r", "-k", "sobel", "-o", f"{tmp_path}/out/", "--jobs", "2", "--json"
    )
    assert done.returncode == 1
    records = {r["input"]: r for r in map(json.loads, done.stdout.decode().splitlines())}
    assert records[str(folder / "broken.png")]["status"] == "failed"
    assert records[str(folder / "a.png")]["output"] == str(tmp_path / "out/a_sobel.png")
    stderr = done.stderr.decode()
    assert f"convcli: error: {folder / 'broken.png'}: " in stderr
    assert "Traceback" not in stderr
    with Image.open(tmp_path / "out/sub/b_sobel.png") as written:
        assert (written.mode, written.size) == ("RGBA", (9, 8))


def test_stdin_to_stdout_pipe() -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.array([[0, 100, 200]], dtype=np.uint8)).save(buffer, format="PNG")
    done = convcli("-", "-k", "-1", "--map", "abs", "-o", "-", "-q", input=buffer.getvalue())
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    with Image.open(io.BytesIO(done.stdout)) as written:
        assert np.asarray(written).tolist() == [[0, 100, 200]]


def test_usage_error_exits_2_without_traceback(tmp_path: Path) -> None:
    done = convcli(str(tmp_path), "-k", "no_such_kernel")
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr
