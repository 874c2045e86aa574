"""``.npy`` files read as arrays of numbers (never pickles), with one reason per failure.

Images (:mod:`convcli.io.arrays`) and kernel files (:mod:`convcli.kernels.files`) both read
them; each puts the reason into its own message.
"""

from __future__ import annotations

import os
from pathlib import Path
from tokenize import TokenError

import numpy as np

NO_HEADER = "it has no NumPy header; expected a file written by numpy.save"


class NpyError(Exception):
    """A ``.npy`` file that cannot be read; its text is the reason, for a message."""


def load_npy(path: str | os.PathLike[str], *, mmap: bool = False) -> np.ndarray:
    """The array of a ``.npy`` file (memory-mapped with ``mmap``), never unpickling.

    Raises
    ------
    FileNotFoundError
        No such file (callers word it their way).
    NpyError
        No NumPy header, a damaged header, Python objects, or a file that cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "a.npy"
    ...     _ = path.write_bytes(b"not numpy")
    ...     load_npy(path)
    Traceback (most recent call last):
    convcli.npyfile.NpyError: it has no NumPy header; expected a file written by numpy.save
    """
    try:
        with Path(path).open("rb") as handle:
            magic = handle.read(len(np.lib.format.MAGIC_PREFIX))
        if magic != np.lib.format.MAGIC_PREFIX:
            raise NpyError(NO_HEADER)
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, SyntaxError, TokenError) as exc:  # TokenError: the header's
        raise NpyError(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    """NumPy's reason, without its advice to unpickle (object arrays are never loaded)."""
    text = str(exc).strip()
    if "pickle" in text or "Python objects" in text:
        return "it holds Python objects (dtype object); expected an array of numbers"
    if isinstance(exc, SyntaxError | TokenError):
        return "its header is damaged"  # the parser's own text is a tuple, or code
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return text.splitlines()[0] if text else type(exc).__name__
