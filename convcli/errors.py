"""Every user-facing failure in convcli is a :class:`ConvcliError`.

Library code raises the subclasses below with a message that names the value received
and what was expected; ``convcli.cli`` turns them into one line on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``convcli`` command, as documented in the README."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it
    TERMINATED = 143  # 128 + SIGTERM


class ConvcliError(Exception):
    """Base class of every error convcli raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURE


class GeometryError(ConvcliError, ValueError):
    """Stride, padding, dilation or shapes that cannot work together."""


class EngineError(ConvcliError, ValueError):
    """An array the engine cannot take (dimensions, dtype, empty, non-finite)."""


class KernelError(ConvcliError, ValueError):
    """A kernel spec, file or parameter that is not valid."""


class ImageError(ConvcliError):
    """An image that cannot be read or decoded."""


class OutputError(ConvcliError):
    """An output that cannot or must not be written."""


def reason(exc: BaseException) -> str:
    """One line of an exception's text (an OSError's reason without its file name)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class ClusterError(ConvcliError):
    """A ``--dask`` value that names no cluster, or a cluster that cannot run the work."""


class MissingExtraError(ConvcliError):
    """An option that needs an optional extra (``pip install "convcli[dask]"``) not installed."""

    exit_code = ExitCode.USAGE
