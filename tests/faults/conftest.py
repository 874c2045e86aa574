"""The fault-injection harness: the real ``convcli`` in subprocesses, bounded in time.

Nothing sleeps for a fixed time: every wait polls for a condition with a deadline.
Every process a test starts is killed (with its process group) when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BIN = Path(sys.executable).parent
CONVCLI = str(BIN / "convcli") if (BIN / "convcli").exists() else shutil.which("convcli")
DEADLINE = 60.0
"""Seconds any wait may take before the test fails (a loaded CI machine is slow)."""

pytestmark = pytest.mark.skipif(CONVCLI is None, reason="convcli not installed")


def poll(condition: Callable[[], object], timeout: float = DEADLINE, what: str = "") -> None:
    """Return as soon as ``condition()`` is true; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)  # a polling interval, not a wait for something to happen


def alive(pid: int) -> bool:
    """True if ``pid`` is a process that has not exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


@dataclass
class Runner:
    """Starts ``convcli`` processes in their own process groups and cleans them up."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str, **kw: object) -> subprocess.Popen[bytes]:
        """Start ``convcli ARGS`` in a new session; stdout and stderr are pipes."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen([str(CONVCLI), *args], start_new_session=True, **kw)  # type: ignore[call-overload]
        self.started.append(proc)
        return proc

    def run(self, *args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        """Run ``convcli ARGS`` to its end (bounded by :data:`DEADLINE`)."""
        kw.setdefault("capture_output", True)
        return subprocess.run([str(CONVCLI), *args], timeout=DEADLINE, check=False, **kw)  # type: ignore[call-overload]

    poll = staticmethod(poll)
    alive = staticmethod(alive)
    children = staticmethod(children)
    finals = staticmethod(lambda folder: finals(folder))
    temps = staticmethod(lambda folder: temps(folder))

    def close(self) -> None:
        """Kill every process group still running."""
        for proc in self.started:
            try:  # the group too: orphaned workers would hold the pipes open
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate(timeout=DEADLINE)


@pytest.fixture
def runner() -> Iterator[Runner]:
    """A :class:`Runner` whose processes are killed at the end of the test."""
    started = Runner()
    yield started
    started.close()


PHOTOS = 12
SLOW = ("-k", "box:31", "--method", "direct")
"""A kernel and method that take a good fraction of a second per photo."""


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 12 random 240×320 RGB PNGs."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(12)
    for index in range(PHOTOS):
        pixels = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{index:02d}.png")
    return folder


@pytest.fixture(scope="session")
def reference(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of a clean ``--jobs 1`` run over :func:`photos`: name -> bytes."""
    out = tmp_path_factory.mktemp("reference")
    cmd = [str(CONVCLI), "apply", str(photos), *SLOW, "-o", f"{out}/", "--jobs", "1", "-q"]
    done = subprocess.run(cmd, capture_output=True, timeout=DEADLINE * 2, check=False)
    assert done.returncode == 0, done.stderr
    return {path.name: path.read_bytes() for path in out.iterdir()}


def finals(folder: Path) -> dict[str, bytes]:
    """The files under final names in ``folder``: name -> bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def temps(folder: Path) -> list[str]:
    """convcli's temporary files in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
