"""The ``--kernel`` grammar: one parser for every command (:func:`parse_kernel_spec`).

- ``NAME`` — a kernel or bank of the library (``sobel_x``, ``sobel``, ``blur``);
- ``NAME:ARGS`` — a parametric kernel, positional and/or ``key=value`` arguments
  (``gaussian:sigma=2``, ``gaussian:2,size=9``, ``box:5``, ``motion:9,45``);
- an inline matrix, rows split by ``;`` and values by spaces or commas
  (``"0 -1 0; -1 5 -1; 0 -1 0"``, ``-1,0,1``) or a JSON nested list (``[[1, 0], [0, -1]]``);
  a leading ``=`` is ignored, so ``-k=-1,0,1`` works with click's short options;
- an inline matrix followed by ``| DIVISOR``: the weights divided by it
  (``"1 2 1; 2 4 2; 1 2 1 | 16"``), as the scale of a libvips ``.mat`` file;
- a file: ``.toml`` (this library's format), ``.txt``/``.csv`` (one row a line, ``#``
  comments), ``.npy``, or a libvips ``.mat`` (header ``width height [scale [offset]]``).

Examples
--------
>>> from convcli.kernels import parse_kernel_spec
>>> k = parse_kernel_spec("sobel_x")
>>> k.weights.tolist()
[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
>>> k.sum, k.rank
(0.0, 1)
>>> parse_kernel_spec("gaussian:sigma=1").shape
(7, 7)
>>> parse_kernel_spec("=-1,0,1").weights.tolist()
[[-1.0, 0.0, 1.0]]
>>> parse_kernel_spec("1 2 1 | 4").weights.tolist()
[[0.25, 0.5, 0.25]]
"""

from __future__ import annotations

import difflib
from pathlib import Path

from convcli.errors import KernelError
from convcli.kernels import files
from convcli.kernels.kernel import Kernel, KernelBank, inline_kernel, inline_label, looks_inline
from convcli.kernels.library import (
    FILE_SUFFIXES,
    library_entries,
    library_entry,
    load_kernel_file,
)
from convcli.kernels.parametric import PARAMETRIC, parametric_kernel


def parse_kernel_spec(spec: str) -> Kernel | KernelBank:
    """Turn a ``--kernel`` spec into a kernel or a bank.

    Parameters
    ----------
    spec : str
        ``NAME``, ``NAME:ARGS``, an inline matrix (``"1 0 -1; 2 0 -2; 1 0 -1"``, ``-1,0,1``),
        a JSON nested list, or a ``.toml``/``.txt``/``.csv``/``.npy``/``.mat`` file path.
        See the module docstring for the grammar.

    Returns
    -------
    Kernel or KernelBank

    Raises
    ------
    KernelError
        With a message naming the spec, the row, line or field, the value and what was
        expected; unknown names come with the closest known ones.

    Examples
    --------
    >>> float(parse_kernel_spec("box:3").weights.sum())
    1.0
    >>> parse_kernel_spec("sobel").combine
    'magnitude'
    """
    text = spec.strip()
    if text.startswith("="):  # `-k=-1,0,1`: click keeps the `=` of a short option
        text = text[1:].strip()
    if not text:
        msg = "the kernel spec is empty; expected a name, NAME:ARGS, a matrix or a file"
        raise KernelError(msg)
    if "|" in text:
        return _divided(text)
    if text.startswith("["):
        return inline_kernel(files.parse_json_matrix(text, inline_label(text)), text)
    if _looks_like_path(text):
        return load_kernel_file(Path(text))
    if looks_inline(text):
        return inline_kernel(files.parse_matrix_text(text, inline_label(text)), text)
    return _named(text)


def _divided(text: str) -> Kernel:
    """``MATRIX | DIVISOR``: an inline matrix divided by a number."""
    matrix, _, divisor = (part.strip() for part in text.rpartition("|"))
    label = inline_label(text)
    if not matrix or not (matrix.startswith("[") or looks_inline(matrix)) or "|" in matrix:
        msg = f'{label}: `| DIVISOR` follows an inline matrix, as in "1 2 1; 2 4 2; 1 2 1 | 16"'
        raise KernelError(msg)
    value = files.parse_number(divisor, f"{label}: the divisor")
    if value == 0:
        msg = f"{label}: the divisor is 0; expected a non-zero number"
        raise KernelError(msg)
    parse = files.parse_json_matrix if matrix.startswith("[") else files.parse_matrix_text
    return inline_kernel(parse(matrix, label) / value, text)


def _looks_like_path(text: str) -> bool:
    return Path(text).suffix.lower() in FILE_SUFFIXES or "/" in text or "\\" in text


def _named(text: str) -> Kernel | KernelBank:
    """A library name, or ``NAME:ARGS`` / ``NAME`` of a parametric family."""
    name, colon, args = text.partition(":")
    name = name.strip().lower()
    entry = None if colon else library_entry(name)  # NAME:ARGS reads no kernel file
    if entry is not None:
        return entry
    if name in PARAMETRIC:
        return parametric_kernel(PARAMETRIC[name], args)
    if name in library_entries():
        msg = (
            f"kernel {name!r} takes no parameters (got {text!r}); "
            f"parametric kernels: {', '.join(sorted(PARAMETRIC))}"
        )
        raise KernelError(msg)
    raise KernelError(_unknown_name_message(name))


def _unknown_name_message(name: str) -> str:
    known = sorted({*library_entries(), *PARAMETRIC})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    exists = f"; {name!r} exists but is not a kernel file ({', '.join(FILE_SUFFIXES)})"
    suffix = exists if Path(name).exists() else ""
    return f"unknown kernel {name!r}{hint}{suffix} (`convcli kernels` lists them all)"
