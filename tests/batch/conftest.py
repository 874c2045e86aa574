"""Real processes for the batch tests (a Dask scheduler, workers, convcli), read line by line.

Each process runs in its own session, so a test can signal it and its children as a group;
the ``procs`` fixture kills every group it started. Waiting is on lines of output with a
deadline, never on a sleep.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest

BIN = Path(sys.executable).parent


class Proc:
    """A process whose chosen stream is read line by line on a thread, to wait on its lines."""

    def __init__(self, args: Sequence[str], *, read: str = "stderr", cwd: Path | None = None):
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        self.popen = subprocess.Popen(
            [str(a) for a in args], cwd=cwd, start_new_session=True, text=True, **pipes
        )
        self.lines: list[str] = []
        self.other: list[str] = []
        self._ended = 0
        self._changed = threading.Condition()
        watched = self.popen.stderr if read == "stderr" else self.popen.stdout
        ignored = self.popen.stdout if read == "stderr" else self.popen.stderr
        self._threads = [
            threading.Thread(target=self._drain, args=(stream, sink), daemon=True)
            for stream, sink in ((watched, self.lines), (ignored, self.other))
        ]
        for thread in self._threads:
            thread.start()

    def _drain(self, stream: IO[str] | None, sink: list[str]) -> None:
        assert stream is not None
        for line in stream:
            with self._changed:
                sink.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended += 1
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first match of ``pattern`` in the watched lines; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match := regex.search(line):
                        return match
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self._ended == 2:
                    text = "".join(self.lines + self.other)
                    msg = f"no line matched {pattern!r} in time:\n{text}"
                    raise AssertionError(msg)
                self._changed.wait(left)

    def wait(self, timeout: float = 120) -> int:
        """Exit status; the output threads have read everything."""
        code = self.popen.wait(timeout)
        with self._changed:
            if not self._changed.wait_for(lambda: self._ended == 2, timeout):
                msg = "output streams still open after exit"
                raise AssertionError(msg)
        return code

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process's whole group."""
        os.killpg(self.popen.pid, signum)

    def stop(self) -> None:
        """Kill the group (idempotent) and reap the process."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(30)
        for thread in self._threads:
            thread.join(30)
        for stream in (self.popen.stdout, self.popen.stderr):
            if stream is not None:
                stream.close()

    def running_in_group(self, timeout: float = 30) -> list[int]:
        """The processes of the group still running after waiting up to ``timeout`` s for them."""
        deadline = time.monotonic() + timeout
        for pid in self._group():
            try:
                handle = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            with os.fdopen(handle) as pidfd:  # readable once the process has ended
                select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        return self._group()

    def _group(self) -> list[int]:
        """Live (not zombie) processes whose process group is this process's."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.popen.pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found


@pytest.fixture
def procs() -> Iterator[Callable[..., Proc]]:
    """Start processes with ``procs(args, read=...)``; every one is killed at the end."""
    started: list[Proc] = []

    def start(args: Sequence[str], *, read: str = "stderr", cwd: Path | None = None) -> Proc:
        started.append(Proc(args, read=read, cwd=cwd))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()
