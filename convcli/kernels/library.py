"""The kernel library (the ``kernels/`` files), TOML kernel files, and kernel files of any type.

The library's files are TOML, one kernel or bank each, named after the file; banks name their
members. A kernel file given by path may also be ``.txt``/``.csv`` (one row a line, ``#``
comments), ``.npy`` or a libvips ``.mat`` (header ``width height [scale [offset]]``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcli.errors import KernelError
from convcli.kernels import files
from convcli.kernels.kernel import (
    Kernel,
    KernelBank,
    infer_kind,
    inline_kernel,
    inline_label,
    looks_inline,
)
from convcli.kernels.parametric import PARAMETRIC, Parametric, parametric_kernel
from convcli.kernels.tomlfile import Resolver, TomlContext, kernel_from_toml, read_toml

FILE_SUFFIXES = (".toml", ".txt", ".csv", ".npy", ".mat")
"""The kernel file types :func:`~convcli.kernels.parse_kernel_spec` reads, by suffix."""


def kernel_dir() -> Path:
    """The folder of the built-in kernel files.

    ``convcli/kernels/data`` inside an installed wheel, else ``<repo>/kernels`` in a checkout.
    """
    packaged = Path(__file__).parent / "data"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parents[2] / "kernels"


@functools.lru_cache(maxsize=1)
def library_entries() -> dict[str, Kernel | KernelBank]:
    """Every library entry by name and alias; kernels are loaded before the banks using them."""
    read = [(path, *_library_file(path)) for path in sorted(kernel_dir().glob("*.toml"))]
    registry: dict[str, Kernel | KernelBank] = {}
    for path, data, kernel in sorted(read, key=lambda item: item[2] is None):
        if kernel is None:  # a bank: its members resolve against the kernels registered
            ctx = TomlContext(_library_label(path), path.stem, True, _member_resolver(registry))
            _register(registry, kernel_from_toml(data, ctx))
        else:
            _register(registry, kernel)
    return registry


def library_entry(name: str) -> Kernel | KernelBank | None:
    """The library entry called ``name`` (a file's name or an alias), or None.

    A kernel is read from its own file alone, so ``-k sobel_x`` parses one file at
    start-up, not the whole library; a bank (whose members are other entries) and an
    alias are looked up in :func:`library_entries`, which holds the same kernel objects.
    """
    folder = kernel_dir()
    path = folder / f"{name}.toml"
    kernel = _library_file(path)[1] if path.parent == folder and path.is_file() else None
    return library_entries().get(name) if kernel is None else kernel


@functools.cache
def _library_file(path: Path) -> tuple[dict[str, Any], Kernel | KernelBank | None]:
    """A library file's table, and its kernel (None for a bank); read once per process."""
    label = _library_label(path)
    data = read_toml(path, label)
    if "kernels" in data:
        return data, None
    return data, kernel_from_toml(data, TomlContext(label, path.stem, True, _member_resolver({})))


def _library_label(path: Path) -> str:
    return f"kernels/{path.name}"


def _register(registry: dict[str, Kernel | KernelBank], entry: Kernel | KernelBank) -> None:
    for name in (entry.name, *entry.aliases):
        if name in registry:
            msg = f"{entry.source}: the name {name!r} is already used by {registry[name].source}"
            raise KernelError(msg)
        registry[name] = entry


def _member_resolver(registry: Mapping[str, Kernel | KernelBank]) -> Resolver:
    """Resolve bank members against ``registry`` (not yet complete while loading)."""

    def resolve(spec: str) -> Kernel | KernelBank:
        text = spec.strip()
        if text in registry:
            return registry[text]
        if ":" in text:
            family = PARAMETRIC.get(text.partition(":")[0].strip().lower())
            if family is not None:
                return parametric_kernel(family, text.partition(":")[2])
        elif looks_inline(text):
            return inline_kernel(files.parse_matrix_text(text, inline_label(text)), text)
        msg = f"bank member {text!r} is not a kernel of the library"
        raise KernelError(msg)

    return resolve


def load_library() -> list[Kernel | KernelBank]:
    """Every kernel and bank of the ``kernels/`` folder, sorted by name.

    Returns
    -------
    list of Kernel or KernelBank
        One entry per file (aliases are not repeated).

    Raises
    ------
    KernelError
        If a library file is invalid (a packaging bug, named with its file and field).
    """
    unique = {id(entry): entry for entry in library_entries().values()}
    return sorted(unique.values(), key=lambda entry: entry.name)


def parametric_kernels() -> list[Parametric]:
    """The parametric kernel families (``gaussian``, ``box``, ...), sorted by name."""
    return sorted(PARAMETRIC.values(), key=lambda family: family.name)


def load_kernel_file(path: Path) -> Kernel | KernelBank:
    """Read a kernel from a ``.toml``, ``.txt``, ``.csv``, ``.npy`` or libvips ``.mat`` file.

    Parameters
    ----------
    path : pathlib.Path
        The file; its suffix says the format.

    Returns
    -------
    Kernel or KernelBank
        A bank only from a ``.toml`` file with a ``kernels`` list.

    Raises
    ------
    KernelError
        If the file is missing, unreadable, of another type or not a valid kernel.
    """
    label = str(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        msg = f"{label}: is a folder; expected a kernel file"
        raise KernelError(msg)
    if not suffix and not path.exists():
        msg = f"{label}: kernel file not found"
        raise KernelError(msg)
    if suffix not in FILE_SUFFIXES:
        msg = (
            f"{label}: unsupported kernel file type {suffix or '(none)'!r}; "
            f"expected {', '.join(FILE_SUFFIXES)}"
        )
        raise KernelError(msg)
    if suffix == ".toml":
        ctx = TomlContext(label, path.stem, False, _member_resolver(library_entries()))
        return kernel_from_toml(read_toml(path, label), ctx)
    return _matrix_file(path, label, suffix)


def _matrix_file(path: Path, label: str, suffix: str) -> Kernel:
    offset = 0.0
    if suffix == ".npy":
        weights = files.read_npy_file(path, label)
    elif suffix == ".mat":
        weights, offset = files.read_mat_file(path, label)
    else:
        weights = files.read_text_file(path, label)
    return Kernel(name=path.stem, weights=weights, description=f"from {path.name}",
                  kind=infer_kind(weights), offset=offset, source=label)  # fmt: skip


def kernel_info(entry: Kernel | KernelBank) -> dict[str, Any]:
    """A JSON-ready summary of a kernel or bank, as ``convcli kernels --json`` prints it.

    Examples
    --------
    >>> from convcli.kernels import parse_kernel_spec
    >>> info = kernel_info(parse_kernel_spec("sobel_x"))
    >>> info["name"], info["shape"], info["sum"], info["rank"], info["separable"]
    ('sobel_x', [3, 3], 0.0, 1, True)
    """
    common = {"name": entry.name, "kind": entry.kind, "shape": list(entry.shape),
              "description": entry.description, "aliases": list(entry.aliases),
              "tags": list(entry.tags), "source": entry.source}  # fmt: skip
    if isinstance(entry, KernelBank):
        members = [k.name for k in entry.kernels]
        return {**common, "sum": None, "rank": None, "separable": None,
                "combine": entry.combine, "kernels": members}  # fmt: skip
    return {**common, "sum": entry.sum, "rank": entry.rank, "separable": entry.rank == 1,
            "anchor": list(entry.center), "offset": entry.offset,
            "weights": entry.weights.tolist()}  # fmt: skip
