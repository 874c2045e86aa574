"""convcli: filter images with convolution kernels, on its own NumPy conv2d engine.

The public Python API::

    import convcli
    convcli.conv2d(image, kernel, stride=2, padding="same", padding_mode="reflect")
    convcli.conv1d(signal, kernel)
    convcli.output_shape((480, 640), (3, 3), stride=2, padding=1)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from convcli.engine import conv1d, conv2d
from convcli.errors import ConvcliError
from convcli.geometry import output_shape, resolve_geometry

try:
    __version__ = version("convcli")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ConvcliError",
    "__version__",
    "conv1d",
    "conv2d",
    "output_shape",
    "resolve_geometry",
]
