"""Atomic writes: no clobbering without overwrite, no temporary file left, stale ones removed."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from convcli.errors import OutputError
from convcli.io.atomic import atomic_write, remove_stale_temps, start_writeback


def _racing(target: Path, content: bytes):
    """A writer during which another process creates ``target``."""

    def write(handle: BinaryIO) -> None:
        target.write_bytes(b"the other run's")
        handle.write(content)

    return write


def test_a_file_that_appears_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    with pytest.raises(OutputError) as caught:
        atomic_write(target, _racing(target, b"mine"), existing="refuse")
    assert str(caught.value) == (
        f"{target}: written by another process meanwhile; left as it is "
        "(pass --overwrite to replace)"
    )
    assert target.read_bytes() == b"the other run's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_skip_keeps_a_file_that_appears_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    assert atomic_write(target, _racing(target, b"mine"), existing="skip") is False
    assert target.read_bytes() == b"the other run's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize("existing", ["refuse", "skip"])
def test_a_file_that_appears_with_the_same_bytes_counts_as_written(
    tmp_path: Path, existing: str
) -> None:
    # a retried write (a Dask worker died after publishing) finds its own output: not a clash
    target = tmp_path / "a.png"
    same = _racing(target, b"the other run's")
    assert atomic_write(target, same, existing=existing) is True  # type: ignore[arg-type]
    assert target.read_bytes() == b"the other run's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    assert atomic_write(target, _racing(target, b"mine"), existing="overwrite") is True
    assert target.read_bytes() == b"mine"


def test_new_files_get_the_umask_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.bin", lambda handle: handle.write(b"x"), existing="refuse")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644


def test_ctrl_c_right_after_the_temporary_file_is_created_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def open_then_interrupt(*args: object, **kw: object) -> int:
        real_open(*args, **kw)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "a.png", lambda handle: None)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def _finished_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_only_stale_temporary_files_of_convcli_are_removed(tmp_path: Path) -> None:
    gone = _finished_pid()
    names = {
        f".a.png.{gone}.0123abcd.tmp": False,  # a dead process's: removed
        f".b.png.{os.getpid()}.0123abcd.tmp": True,  # a live process's
        f".c.png.{gone}.notahex0.tmp": True,  # not convcli's pattern
        ".notes.tmp": True,
        "a.png": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert remove_stale_temps([tmp_path, tmp_path / "missing"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, k in names.items() if k)


def test_a_killed_runs_zarr_folder_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    # a Zarr array is filled in a folder under a temporary name (--dask ... -o NAME.zarr)
    gone = _finished_pid()
    stale = tmp_path / f".huge.zarr.{gone}.0123abcd.tmp"
    live = tmp_path / f".huge.zarr.{os.getpid()}.0123abcd.tmp"
    for folder in (stale, live):
        (folder / "0").mkdir(parents=True)
        (folder / "0" / "0").write_bytes(b"chunk")
    (tmp_path / "kept").mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious").write_bytes(b"x")
    (tmp_path / f".link.zarr.{gone}.0123abcd.tmp").symlink_to(target)  # not followed
    assert remove_stale_temps([tmp_path]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["elsewhere", "kept", live.name])
    assert (target / "precious").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_zombie_writer_counts_as_gone(tmp_path: Path) -> None:
    """A worker killed with its parent stays a zombie until reaped: its file is stale."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 30
        while _state(pid) != "Z":  # polling for the exit, bounded
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.005)
        stale = tmp_path / f".a.png.{pid}.0123abcd.tmp"
        stale.write_bytes(b"half")
        assert remove_stale_temps([tmp_path]) == 1
        assert not stale.exists()
    finally:
        os.waitpid(pid, 0)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_start_writeback_never_fails_a_write(tmp_path: Path) -> None:
    """On a file it asks for writeback; on a buffer (no descriptor) or a pipe (no range to
    write back) it does nothing, and raises nothing either way."""
    with (tmp_path / "f.bin").open("wb") as handle:
        handle.write(b"x" * 100_000)
        start_writeback(handle, 100_000)
        handle.write(b"y")  # buffered, not yet in the file: not asked for, no flush
        start_writeback(handle, 100_001)
    assert (tmp_path / "f.bin").read_bytes() == b"x" * 100_000 + b"y"
    start_writeback(io.BytesIO(b"z"), 1)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write(b"p")
        start_writeback(pipe, 1)
    assert os.read(read, 1) == b"p"
    os.close(read)
