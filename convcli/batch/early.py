"""A batch's first files, filtered while a local Dask cluster starts.

Importing Dask takes this process about 0.25 s of one core, and the local cluster's workers
are forked from it only after that (so that they need not import Dask again): the other
cores would idle. :class:`EarlyFiles` is a process forked before the import that filters
the batch's first files meanwhile, one at a time, as a ``--jobs`` worker does. Once the
cluster runs it takes no more files (:meth:`EarlyFiles.end`), finishes the one it is on,
and the cluster gets the rest. Its outcomes come back through a pipe; a file it took and
gave no outcome for (it died) goes to the cluster too.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence

from convcli.batch.naming import Job
from convcli.batch.run import Outcome, start_worker
from convcli.forking import Claims, can_fork, end, fork, read_message, write_message


class EarlyFiles:
    """The process filtering a batch's first files, seen from the main process."""

    def __init__(self, pid: int, claims: Claims, results: int, total: int) -> None:
        self.pid, self.claims, self.results, self.total = pid, claims, results, total
        self.done = False
        self.finished: set[int] = set()

    @classmethod
    def start(cls, jobs: Sequence[Job], worker: Callable[[Job], Outcome]) -> EarlyFiles | None:
        """Fork the process (None where forking is not safe or refused, or for one file)."""
        if len(jobs) < 2 or not can_fork():
            return None
        claims = Claims()
        results_r, results_w = os.pipe()
        parent = os.getpid()
        pid = fork(results_r, results_w)
        if pid is None:
            claims.close()
            return None
        if pid == 0:  # never returns
            os.close(results_r)
            _serve(parent, jobs, worker, claims, results_w)
        os.close(results_w)
        return cls(pid, claims, results_r, len(jobs))

    def end(self) -> int:
        """Let it take no more files; how many it took (the batch's first ones)."""
        return self.claims.end(self.total)

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[tuple[Job, Outcome]]:
        """Its outcomes as they come, until it has exited."""
        while (message := read_message(self.results)) is not None:
            index, outcome = message
            self.finished.add(index)
            yield jobs[index], outcome
        os.waitpid(self.pid, 0)
        self.done = True

    def unfinished(self, taken: int) -> list[int]:
        """The files it took and gave no outcome for (it died), once it has exited."""
        return [index for index in range(taken) if index not in self.finished]

    def stop(self) -> None:
        """Stop it if it still runs (its file in progress is left unwritten); release it."""
        if not self.done:  # SIGTERM, as for a --jobs worker: its file in progress leaves nothing
            end(self.pid, signal.SIGTERM)
            self.done = True
        os.close(self.results)
        self.claims.close()


def _serve(
    parent: int,
    jobs: Sequence[Job],
    worker: Callable[[Job], Outcome],
    claims: Claims,
    results: int,
) -> None:
    """The process's life: filter the files it takes, send each outcome; exit."""
    code = 1
    try:
        start_worker(parent)  # dies with the main process; Ctrl-C and SIGTERM stop it
        while (index := claims.take(len(jobs))) is not None:
            write_message(results, (index, worker(jobs[index])))
        code = 0
    except BaseException:  # stopped: the files it took and did not send go to the cluster
        pass
    finally:
        os._exit(code)
