"""Batch inputs: files, folders (optionally recursive) and standard input."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from convcli.errors import OutputError, reason
from convcli.io.formats import READ_EXTENSIONS
from convcli.io.read import read_header

STDIO = "-"


@dataclass(frozen=True)
class InputFile:
    """One input image: a path, or standard input when ``path`` is None.

    Attributes
    ----------
    path : Path or None
        The file; None for ``-`` (standard input).
    root : Path or None
        The folder the user named, when the file was found inside it (for mirroring).
    from_folder : bool
        True when found by walking a folder (such files may be dropped if they are
        outputs of this very run).
    data : bytes or None
        The encoded image read from standard input.
    """

    path: Path | None
    root: Path | None = None
    from_folder: bool = False
    data: bytes | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The name shown in messages."""
        return STDIO if self.path is None else str(self.path)

    @property
    def stem(self) -> str:
        """The file name without its suffix (``stdin`` for ``-``)."""
        return "stdin" if self.path is None else self.path.stem


@dataclass
class Expansion:
    """The result of :func:`expand_inputs`."""

    files: list[InputFile] = field(default_factory=list)
    non_images: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)


def expand_inputs(inputs: Sequence[str], *, recursive: bool = False) -> Expansion:
    """Turn the command's INPUT arguments into a list of image files.

    Parameters
    ----------
    inputs : sequence of str
        Files, folders, or ``-`` for standard input.
    recursive : bool
        Descend into sub-folders of folders.

    Returns
    -------
    Expansion
        The files in a stable (sorted) order, the count of non-image files skipped in
        folders, and the inputs that do not exist with the reason.

    Raises
    ------
    OutputError
        If ``-`` is given more than once.
    """
    result = Expansion()
    if sum(1 for item in inputs if item == STDIO) > 1:
        msg = "standard input '-' can be given only once"
        raise OutputError(msg)
    for item in inputs:
        if item == STDIO:
            result.files.append(InputFile(None))
            continue
        path = Path(item)
        if path.is_dir():
            _expand_folder(path, recursive, READ_EXTENSIONS, result)
        elif path.exists():
            result.files.append(InputFile(path))
        else:
            result.missing.append((item, "no such file or folder"))
    return result


def _expand_folder(
    folder: Path, recursive: bool, extensions: frozenset[str], result: Expansion
) -> None:
    for path in sorted(_walk(folder, recursive, result)):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        image = path.suffix.lower() in extensions
        if image and path.is_symlink() and not path.exists():
            result.missing.append((str(path), "broken symbolic link"))
            continue
        if not path.is_file():
            continue
        if image:
            result.files.append(InputFile(path, root=folder, from_folder=True))
        else:
            result.non_images += 1


def _walk(folder: Path, recursive: bool, result: Expansion) -> list[Path]:
    """Every entry under ``folder``; a sub-folder that cannot be listed is reported."""

    def unreadable(exc: OSError) -> None:
        name = exc.filename or str(folder)
        result.missing.append((str(name), f"cannot read folder: {reason(exc)}"))

    found: list[Path] = []
    for top, dirs, names in os.walk(folder, onerror=unreadable):
        base = Path(top)
        found += [base / name for name in [*dirs, *names]]
        if not recursive:
            break
        dirs[:] = [name for name in dirs if not name.startswith(".")]
    return found


STDIN_HEAD = 1 << 20
"""Bytes of standard input read before its header is checked (1 MiB)."""


def read_stdin(stream: BinaryIO, head_bytes: int = STDIN_HEAD) -> bytes:
    """Read an encoded image from ``stream``, checking its header before buffering the rest.

    A stream longer than ``head_bytes`` whose first ``head_bytes`` are no image header
    is refused at once, instead of being read to its end (``cat /dev/zero | ...``).

    Raises
    ------
    ImageError
        If the first ``head_bytes`` bytes are not the start of an image.
    """
    head = stream.read(head_bytes)
    if len(head) < head_bytes:
        return head
    read_header(head)
    return head + stream.read()
