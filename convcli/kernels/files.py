"""The one reader of matrices: text, JSON, ``.txt``/``.csv``, ``.npy`` and libvips ``.mat`` files.

Every reader returns a validated float64 2-D array (and, for ``.mat``, the offset) or raises
:class:`~convcli.errors.KernelError` naming the source, the row or line, the value received
and what was expected. Kernels and ``convcli explain``'s inputs are both read here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from convcli.errors import KernelError
from convcli.npyfile import NpyError, load_npy

_VALUE_SPLIT = re.compile(r"[\s,]+")
_ROW_SPLIT = re.compile(r"[;\n]")
ZERO_SUM_TOLERANCE = 1e-12
"""Relative to the sum of magnitudes, below this a kernel's sum counts as zero."""


def is_zero_sum(weights: np.ndarray) -> bool:
    """True when the weights sum to zero up to rounding (such a kernel is never divided by)."""
    scale = max(1.0, float(np.abs(weights).sum()))
    return abs(float(weights.sum())) <= ZERO_SUM_TOLERANCE * scale


def parse_number(token: str, where: str) -> float:
    """One value of a matrix, finite."""
    try:
        value = float(token)
    except ValueError:
        msg = f"{where} is {token!r}; expected a number"
        raise KernelError(msg) from None
    if not math.isfinite(value):
        msg = f"{where} is {token}; expected a finite number"
        raise KernelError(msg)
    return value


def _row_values(text: str) -> list[str]:
    """The value tokens of one row of text."""
    return [token for token in _VALUE_SPLIT.split(text.strip()) if token]


def check_rows(
    rows: Sequence[Sequence[float]], source: str, row_label: str | None = None
) -> np.ndarray:
    """Validate rows of numbers (not empty, not ragged) and return a float64 2-D array.

    Messages start with ``source:``; row messages with ``row_label`` when given
    (``k.toml: `weights` row 2 ...``).
    """
    if not rows or not rows[0]:
        msg = f"{source}: the matrix is empty; expected at least one value"
        raise KernelError(msg)
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            where = row_label or f"{source}:"
            msg = f"{where} row {number} has {_values(len(row))}; expected {width}"
            raise KernelError(msg)
    return np.array(rows, dtype=np.float64)


def _values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


def parse_matrix_text(text: str, source: str) -> np.ndarray:
    """Parse ``"0 -1 0; -1 5 -1; 0 -1 0"``: rows split by ``;``, values by spaces or commas.

    A trailing ``;`` is allowed; an empty row elsewhere is an error.
    """
    parts = _ROW_SPLIT.split(text.strip())
    if len(parts) > 1 and not parts[-1].strip():
        parts = parts[:-1]
    rows: list[list[float]] = []
    for number, part in enumerate(parts, start=1):
        tokens = _row_values(part)
        if not tokens:
            msg = f"{source}: row {number} is empty; expected {_ROW_HINT}"
            raise KernelError(msg)
        rows.append(
            [parse_number(t, f"{source}: row {number}, value {i}") for i, t in _enum(tokens)]
        )
    return check_rows(rows, source)


_ROW_HINT = "numbers separated by spaces or commas, rows by ';'"


def _enum(tokens: list[str]) -> list[tuple[int, str]]:
    return list(enumerate(tokens, start=1))


def parse_json_matrix(text: str, source: str) -> np.ndarray:
    """Parse a JSON list of numbers (one row) or a list of rows."""
    import json  # here: a run without a JSON matrix does not pay its import

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = (
            f"{source}: not valid JSON ({exc.msg} at column {exc.colno}); "
            "expected [[1, 2], [3, 4]]"
        )
        raise KernelError(msg) from None
    except RecursionError:
        raise KernelError(too_deep(source)) from None
    return matrix_from_data(data, source)


def too_deep(source: str) -> str:
    """The message for a document nested too deeply to parse (a matrix is 2 deep)."""
    return f"{source}: nested too deeply; expected a matrix like [[1, 2], [3, 4]]"


def matrix_from_data(data: object, source: str, field: str = "") -> np.ndarray:
    """Validate a nested list (as from JSON or TOML) of numbers into a 2-D array."""
    label = f"{source}: {field}" if field else f"{source}:"
    if not isinstance(data, list) or not data:
        msg = f"{label} is {_show(data)}; expected a non-empty list of rows of numbers"
        raise KernelError(msg.replace(": is", " is"))
    rows = data if all(isinstance(row, list) for row in data) else [data]
    checked = [_data_row(row, label, n) for n, row in enumerate(rows, start=1)]
    return check_rows(checked, source, label)


def _data_row(row: object, label: str, number: int) -> list[float]:
    """One row of a nested list: a list of finite numbers (booleans are not numbers)."""
    if not isinstance(row, list):
        msg = f"{label} row {number} is {_show(row)}; expected a list of numbers"
        raise KernelError(msg)
    values = []
    for index, value in enumerate(row, start=1):
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{label} row {number}, value {index} is {_show(value)}; expected a number"
            raise KernelError(msg)
        if not math.isfinite(value):
            msg = f"{label} row {number}, value {index} is {value}; expected a finite number"
            raise KernelError(msg)
        values.append(float(value))
    return values


def _show(value: object) -> str:
    import json

    text = json.dumps(value) if isinstance(value, str | list | dict) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_text_file(path: Path, label: str) -> np.ndarray:
    """Read a ``.txt``/``.csv`` matrix: one row a line, ``#`` comments, blank lines skipped."""
    lines = content_lines(read_text(path, label))
    rows = [
        [parse_number(t, f"{label}: line {n}, value {i}") for i, t in _enum(tk)] for n, tk in lines
    ]
    return _check_lines(rows, label, [number for number, _ in lines])


def _check_lines(rows: list[list[float]], label: str, line_numbers: list[int]) -> np.ndarray:
    """Like :func:`check_rows`, but errors name the file's line numbers."""
    if rows and any(len(row) != len(rows[0]) for row in rows):
        index = next(i for i, row in enumerate(rows) if len(row) != len(rows[0]))
        msg = (
            f"{label}: line {line_numbers[index]} has {_values(len(rows[index]))}; "
            f"expected {len(rows[0])} (as on line {line_numbers[0]})"
        )
        raise KernelError(msg)
    return check_rows(rows, label)


def content_lines(text: str) -> list[tuple[int, list[str]]]:
    """The (line number, value tokens) of the lines that hold values (``#`` starts a comment)."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = _row_values(line.split("#", 1)[0])
        if tokens:
            lines.append((number, tokens))
    return lines


def read_text(path: Path, label: str) -> str:
    """A file's text, or a :class:`KernelError` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{label}: kernel file not found"
        raise KernelError(msg) from None
    except UnicodeDecodeError:
        msg = f"{label}: cannot read the kernel file: not UTF-8 text"
        raise KernelError(msg) from None
    except OSError as exc:
        msg = f"{label}: cannot read the kernel file: {exc.strerror or exc}"
        raise KernelError(msg) from None


def read_npy_file(path: Path, label: str) -> np.ndarray:
    """Read a 1-D or 2-D numeric ``.npy`` array (no pickles)."""
    try:
        array = load_npy(path)
    except FileNotFoundError:
        msg = f"{label}: kernel file not found"
        raise KernelError(msg) from None
    except NpyError as exc:
        msg = f"{label}: cannot read the kernel file as .npy: {exc}"
        raise KernelError(msg) from None
    return check_array(array, label)


def check_array(array: np.ndarray, label: str) -> np.ndarray:
    """Validate a NumPy array as a kernel: real numbers, 1-D or 2-D, non-empty, finite."""
    if array.dtype.kind not in "biuf":
        msg = f"{label}: array dtype is {array.dtype}; expected real numbers"
        raise KernelError(msg)
    if array.ndim not in (1, 2):
        msg = f"{label}: array has {array.ndim} dimensions {array.shape}; expected 1 or 2"
        raise KernelError(msg)
    if array.size == 0:
        msg = f"{label}: the matrix is empty (shape {array.shape}); expected at least one value"
        raise KernelError(msg)
    weights = np.atleast_2d(array.astype(np.float64))
    if not np.all(np.isfinite(weights)):
        row, col = np.argwhere(~np.isfinite(weights))[0]
        where = f"{label}: row {row + 1}, value {col + 1}"
        msg = f"{where} is {weights[row, col]}; expected a finite number"
        raise KernelError(msg)
    return weights


def read_mat_file(path: Path, label: str) -> tuple[np.ndarray, float]:
    """Read a libvips ``.mat`` matrix; return (weights / scale, offset).

    The first line is ``width height [scale [offset]]``; then ``height`` rows of ``width``
    values. libvips computes ``sum / scale + offset``, so the weights are divided by scale.
    """
    lines = content_lines(read_text(path, label))
    if not lines:
        msg = f"{label}: the file is empty; expected a header line 'width height [scale [offset]]'"
        raise KernelError(msg)
    width, height, scale, offset = _mat_header(lines[0], label)
    body = lines[1:]
    if len(body) != height:
        msg = f"{label}: the header says {height} rows but {len(body)} follow"
        raise KernelError(msg)
    rows = [
        [parse_number(t, f"{label}: line {n}, value {i}") for i, t in _enum(tk)] for n, tk in body
    ]
    for (number, _), row in zip(body, rows, strict=True):
        if len(row) != width:
            msg = (
                f"{label}: line {number} has {_values(len(row))}; "
                f"expected {width} (the header width)"
            )
            raise KernelError(msg)
    return check_rows(rows, label) / scale, offset


def _mat_header(line: tuple[int, list[str]], label: str) -> tuple[int, int, float, float]:
    """Parse and check ``width height [scale [offset]]``."""
    number, tokens = line
    if not 2 <= len(tokens) <= 4:
        msg = (
            f"{label}: line {number} is {' '.join(tokens)!r}; "
            "expected the header 'width height [scale [offset]]'"
        )
        raise KernelError(msg)
    values = [parse_number(t, f"{label}: line {number}, value {i}") for i, t in _enum(tokens)]
    width, height = values[0], values[1]
    if width != int(width) or height != int(height) or width < 1 or height < 1:
        msg = (
            f"{label}: header width and height are {tokens[0]} {tokens[1]}; "
            "expected whole numbers >= 1"
        )
        raise KernelError(msg)
    scale = values[2] if len(values) > 2 else 1.0
    if abs(scale) < ZERO_SUM_TOLERANCE:
        msg = (
            f"{label}: header scale is {tokens[2]}; "
            "expected a non-zero number (it divides the sum)"
        )
        raise KernelError(msg)
    return int(width), int(height), scale, values[3] if len(values) > 3 else 0.0
