"""Kernels: values, the ``--kernel`` grammar, the library, parametric kernels, kernel files.

- :mod:`~convcli.kernels.kernel`: :class:`Kernel` and :class:`KernelBank`, the conventions;
- :mod:`~convcli.kernels.spec`: :func:`parse_kernel_spec`, the grammar every command reads;
- :mod:`~convcli.kernels.library`: the ``kernels/`` files, TOML files, any kernel file;
- :mod:`~convcli.kernels.parametric`: ``gaussian:sigma=2``, ``box:5`` and the rest;
- :mod:`~convcli.kernels.files`: the one reader of text, JSON, ``.npy`` and ``.mat`` matrices.
"""

from __future__ import annotations

from convcli.kernels.files import is_zero_sum
from convcli.kernels.kernel import KERNEL_KINDS, Kernel, KernelBank, KernelKind, infer_kind
from convcli.kernels.library import (
    FILE_SUFFIXES,
    kernel_dir,
    kernel_info,
    load_kernel_file,
    load_library,
    parametric_kernels,
)
from convcli.kernels.spec import parse_kernel_spec

__all__ = [
    "FILE_SUFFIXES",
    "KERNEL_KINDS",
    "Kernel",
    "KernelBank",
    "KernelKind",
    "infer_kind",
    "is_zero_sum",
    "kernel_dir",
    "kernel_info",
    "load_kernel_file",
    "load_library",
    "parametric_kernels",
    "parse_kernel_spec",
]
