"""SIGKILL, SIGINT and SIGTERM in the middle of a ``--jobs 2`` batch.

The promises: workers end within 2 s of losing their parent; no file under a final
name is partial; a rerun with ``--skip-existing`` completes to byte-identical outputs
and removes the temporary files the killed run left; SIGINT and SIGTERM exit 130 and
143 with no temporary file left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PHOTOS = 12
SLOW = ("-k", "box:31", "--method", "direct")


def _batch(runner, photos: Path, out: Path):
    return runner.start("apply", str(photos), *SLOW, "-o", f"{out}/", "--jobs", "2", "-q")


def _workers(runner, proc) -> list[int]:
    runner.poll(lambda: len(runner.children(proc.pid)) >= 2, what="two worker processes")
    return runner.children(proc.pid)


def _outputs_reach(runner, out: Path, count: int) -> None:
    def enough() -> bool:
        return out.is_dir() and len(runner.finals(out)) >= count

    runner.poll(enough, what=f"{count} outputs")


def _resume(runner, photos: Path, out: Path, reference: dict[str, bytes]) -> None:
    done = runner.run("apply", str(photos), *SLOW, "-o", f"{out}/", "--skip-existing", "-q")
    assert done.returncode == 0, done.stderr
    assert runner.finals(out) == reference
    assert runner.temps(out) == []


@pytest.mark.parametrize(
    ("group", "after"),
    [(False, 0), (False, 1), (False, 5), (True, 0), (True, 3)],
    ids=["main-at-start", "main-after-1", "main-after-5", "group-at-start", "group-after-3"],
)
def test_kill_9(runner, photos, reference, tmp_path, group, after) -> None:
    """Of the main process alone (what the OOM killer does) or of the whole group.

    Workers end within 2 s, every file under a final name is whole, and a rerun with
    --skip-existing completes the batch to the bytes of a clean run.
    """
    out = tmp_path / "out"
    proc = _batch(runner, photos, out)
    workers = _workers(runner, proc)
    if after:
        _outputs_reach(runner, out, after)
    (os.killpg if group else os.kill)(proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    runner.poll(lambda: not any(map(runner.alive, workers)), timeout=5, what="workers to end")
    assert time.monotonic() - killed < 2.0
    written = runner.finals(out) if out.exists() else {}
    assert all(reference[name] == data for name, data in written.items())
    _resume(runner, photos, out, reference)


def test_a_rerun_removes_temporary_files_of_dead_runs_only(
    runner, photos, reference, tmp_path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    gone = _finished_pid()
    stale = out / f".p00_box_size_31.png.{gone}.0123abcd.tmp"
    stale.write_bytes(b"half")
    live = out / f".p01_box_size_31.png.{os.getpid()}.0123abcd.tmp"
    live.write_bytes(b"someone is writing")
    other = out / ".notes.tmp"
    other.write_bytes(b"not convcli's")
    done = runner.run("apply", str(photos), *SLOW, "-o", f"{out}/", "-q")
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
    assert runner.finals(out) == reference


def _finished_pid() -> int:
    with subprocess.Popen([sys.executable, "-c", ""]) as done:
        done.wait(timeout=60)
    return done.pid


@pytest.mark.parametrize(
    ("signum", "code", "group"),
    [
        (signal.SIGINT, 130, True),
        (signal.SIGTERM, 143, True),
        (signal.SIGTERM, 143, False),
    ],
    ids=["SIGINT-group", "SIGTERM-group", "SIGTERM-main"],
)
def test_interrupt_exits_with_its_code_and_leaves_no_temp(
    runner, photos, reference, tmp_path, signum, code, group
) -> None:
    out = tmp_path / "out"
    proc = _batch(runner, photos, out)
    workers = _workers(runner, proc)
    _outputs_reach(runner, out, 1)
    (os.killpg if group else os.kill)(proc.pid, signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    last = stderr.decode().strip().splitlines()[-1]
    assert last == ("convcli: interrupted" if code == 130 else "convcli: terminated")
    assert b"Traceback" not in stderr
    runner.poll(lambda: not any(map(runner.alive, workers)), timeout=5, what="workers to end")
    assert runner.temps(out) == []
    written = runner.finals(out)
    assert len(written) < PHOTOS
    assert all(reference[name] == data for name, data in written.items())
