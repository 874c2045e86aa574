"""Row tiles and the thread pool that runs them.

NumPy releases the interpreter lock inside its loops, so tiles large enough to keep each
thread busy for a while (tens of rows) run in parallel on plain threads.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

_LOCAL = threading.local()

ENGINE_THREADS = "convcli-engine"
"""The names of the engine's worker threads begin so; between tiles they only wait for work,
so a process may end without joining them (:func:`convcli.cli.main`)."""


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    # keyed by pid: a forked child (``--jobs`` workers) must not reuse the parent's pool,
    # whose threads do not exist in the child
    del pid
    from concurrent.futures import ThreadPoolExecutor  # a run on one thread never needs it

    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=ENGINE_THREADS)


def row_tiles(n_rows: int, tile_rows: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` ranges of at most ``tile_rows`` rows covering ``0:n_rows``."""
    step = max(1, tile_rows)
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)


def run_tiles(work: Callable[[int, int], None], n_rows: int, tile_rows: int, threads: int) -> None:
    """Call ``work(start, stop)`` for every tile, on up to ``threads`` threads."""
    tiles = list(row_tiles(n_rows, tile_rows))
    if threads <= 1 or len(tiles) == 1:
        for start, stop in tiles:
            work(start, stop)
        return
    pool = _pool(threads, os.getpid())
    futures = [pool.submit(work, start, stop) for start, stop in tiles]
    for future in futures:
        future.result()


def scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A per-thread reusable buffer of at least ``shape`` (reused buffers avoid page faults)."""
    size = math.prod(shape)
    key = (name, np.dtype(dtype).str)
    store: dict[tuple[str, str], np.ndarray] = _LOCAL.__dict__.setdefault("buffers", {})
    buf = store.get(key)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        store[key] = buf
    return buf[:size].reshape(shape)
