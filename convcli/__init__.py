"""convcli: filter images with convolution kernels, on its own NumPy conv2d engine.

The public Python API, loaded on first use (``import convcli`` itself imports no NumPy)::

    import convcli
    convcli.conv2d(image, kernel, stride=2, padding="same", padding_mode="reflect")
    convcli.conv1d(signal, kernel)
    convcli.output_shape((480, 640), (3, 3), stride=2, padding=1)
    convcli.parse_kernel("gaussian:sigma=2")          # a Kernel (or a KernelBank)
    convcli.filter_array(pixels, "sobel")             # what `convcli apply` does, on arrays
"""

from __future__ import annotations

import importlib
from typing import Any

from convcli.errors import ConvcliError

_LAZY = {
    "conv1d": "convcli.api",
    "conv2d": "convcli.api",
    "output_shape": "convcli.api",
    "filter_array": "convcli.api",
    "resolve_geometry": "convcli.geometry",
    "Kernel": "convcli.kernels",
    "KernelBank": "convcli.kernels",
    "parse_kernel": "convcli.api",
}

__all__ = ["ConvcliError", "__version__", *_LAZY]


def _version() -> str:
    """The installed version (importlib.metadata costs ~40 ms, so it is read on demand)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("convcli")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use."""
    if name == "__version__":
        return _version()
    if name not in _LAZY:
        msg = f"module 'convcli' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, lazy ones included."""
    return sorted(__all__)
