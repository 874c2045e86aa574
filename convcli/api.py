"""The public Python API: the engine on arrays or :class:`Kernel` values, and ``apply`` on arrays.

Everything here is re-exported by :mod:`convcli` (``convcli.conv2d`` and so on). A kernel
may be given as an array or as a :class:`~convcli.kernels.Kernel`; a Kernel brings its
anchor (under ``padding="same"``) and its offset, as ``convcli apply`` uses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from convcli import engine
from convcli.choices import CombineMode, ValueMapping
from convcli.geometry import PaddingMode, PaddingSpec, Pair, anchored_padding
from convcli.geometry import output_shape as _output_shape
from convcli.kernels import Kernel, KernelBank, parse_kernel_spec
from convcli.pipeline import ConvOptions, apply_plan, build_plan
from convcli.values import map_values, to_pixels

Method = Literal["auto", "direct", "banded", "separable", "fft"]
KernelLike = ArrayLike | Kernel

__all__ = ["conv1d", "conv2d", "filter_array", "output_shape", "parse_kernel"]


def parse_kernel(spec: str) -> Kernel | KernelBank:
    """A kernel or bank from a ``--kernel`` spec (name, ``NAME:ARGS``, matrix or file).

    Examples
    --------
    >>> import convcli
    >>> convcli.parse_kernel("box:3").weights.sum()
    np.float64(1.0)
    """
    return parse_kernel_spec(spec)


def _weights(kernel: KernelLike) -> ArrayLike:
    return kernel.weights if isinstance(kernel, Kernel) else kernel


def conv2d(
    image: ArrayLike,
    kernel: KernelLike,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    padding_mode: PaddingMode | str = "zeros",
    cval: float = 0.0,
    dilation: int | Pair = 1,
    flip: bool = False,
    method: Method | str = "auto",
    dtype: DTypeLike | None = None,
) -> np.ndarray:
    """2-D cross-correlation (``flip=True``: convolution) of an image with a kernel.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` or ``(H, W, C)`` of any real dtype; channels are filtered separately.
    kernel : array_like or Kernel
        ``(kh, kw)`` weights, laid on the image as written. A :class:`Kernel` with an
        anchor places it under ``padding="same"``; its offset is added to the output.
    stride, dilation : int or (int, int)
        >= 1.
    padding : int, (ph, pw), ((top, bottom), (left, right)) or {"valid", "same", "full"}
    padding_mode : {"zeros", "reflect", "symmetric", "replicate", "circular"}
    cval : float
        The constant of ``zeros`` padding.
    flip : bool
        Rotate the kernel 180° (true convolution).
    method : {"auto", "direct", "banded", "separable", "fft"}
    dtype : float dtype, optional
        Of the output: float32 by default, float64 for float64 input.

    Returns
    -------
    numpy.ndarray
        The feature map, ``(H', W')`` or ``(H', W', C)``.

    Examples
    --------
    >>> import numpy as np
    >>> import convcli
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> convcli.conv2d(image, np.ones((2, 2)), stride=2).tolist()
    [[10.0, 18.0], [42.0, 50.0]]
    >>> k = convcli.parse_kernel("sobel_x")
    >>> convcli.conv2d(image, k, padding="same", padding_mode="replicate")[1:3, 1:3].tolist()
    [[8.0, 8.0], [8.0, 8.0]]
    """
    if isinstance(kernel, Kernel):
        hw = np.shape(image)[:2]
        padding = anchored_padding(padding, (hw[0], hw[1]), kernel.shape,
                                   kernel.anchor_as_run(flip), stride=stride,
                                   dilation=dilation)  # fmt: skip
    out = engine.conv2d(image, _weights(kernel), stride=stride, padding=padding,
                        padding_mode=padding_mode, cval=cval, dilation=dilation, flip=flip,
                        method=method, dtype=dtype)  # fmt: skip
    if isinstance(kernel, Kernel) and kernel.offset:
        out += out.dtype.type(kernel.offset)
    return out


def conv1d(
    signal: ArrayLike,
    kernel: KernelLike,
    *,
    stride: int = 1,
    padding: int | tuple[int, int] | str = 0,
    padding_mode: PaddingMode | str = "zeros",
    cval: float = 0.0,
    dilation: int = 1,
    flip: bool = False,
    dtype: DTypeLike | None = None,
) -> np.ndarray:
    """1-D cross-correlation (``flip=True``: convolution); see :func:`conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> import convcli
    >>> convcli.conv1d([1.0, 2.0, 3.0], [0.0, 1.0, 0.5], padding="full", flip=True).tolist()
    [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    weights = np.ravel(_weights(kernel)) if isinstance(kernel, Kernel) else kernel
    return engine.conv1d(signal, weights, stride=stride, padding=padding,
                         padding_mode=padding_mode, cval=cval, dilation=dilation, flip=flip,
                         dtype=dtype)  # fmt: skip


def output_shape(
    input_hw: Pair,
    kernel: Pair | Kernel,
    *,
    stride: int | Pair = 1,
    padding: PaddingSpec = 0,
    dilation: int | Pair = 1,
) -> Pair:
    """The ``(H', W')`` of :func:`conv2d`; ``kernel`` is a ``(kh, kw)`` or a :class:`Kernel`.

    ``out = floor((n + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1``.

    Examples
    --------
    >>> import convcli
    >>> convcli.output_shape((224, 224), (7, 7), stride=2, padding=3)
    (112, 112)
    >>> convcli.output_shape((5, 5), convcli.parse_kernel("box:3"), padding="valid")
    (3, 3)
    """
    kernel_hw = kernel.shape if isinstance(kernel, Kernel) else kernel
    return _output_shape(input_hw, kernel_hw, stride=stride, padding=padding, dilation=dilation)


def filter_array(
    pixels: ArrayLike,
    kernel: str | Kernel | KernelBank | Sequence[str | Kernel | KernelBank],
    *,
    combine: CombineMode | None = None,
    chain: bool = False,
    stride: int | Pair = 1,
    padding: PaddingSpec = "same",
    padding_mode: PaddingMode | str = "reflect",
    cval: float = 0.0,
    dilation: int | Pair = 1,
    flip: bool = False,
    mapping: ValueMapping = "auto",
    max_value: float = 255.0,
) -> list[np.ndarray]:
    """Do on an array what ``convcli apply`` does on a file: filter, combine, map values.

    Parameters
    ----------
    pixels : array_like
        ``(H, W)`` or ``(H, W, C)`` on the scale ``0..max_value``.
    kernel : spec, Kernel, KernelBank, or a sequence of them
        As ``-k``: several make a bank (``combine``) or a chain (``chain=True``).
    combine : {"stack", "magnitude", "max", "min", "sum", "abs-sum"}, optional
    chain : bool
    stride, padding, padding_mode, cval, dilation, flip
        As :func:`conv2d`; the defaults are ``apply``'s (``same``, ``reflect``).
    mapping : {"auto", "clip", "abs", "normalize", "offset", "raw"}
        How feature maps become pixel values; ``raw`` returns the float maps.
    max_value : float
        Full intensity: 255 gives uint8 pixels, 65535 uint16.

    Returns
    -------
    list of numpy.ndarray
        One array per feature map (several for ``stack``): uint8 or uint16 pixels, or
        the float32 maps for ``mapping="raw"``.

    Examples
    --------
    >>> import numpy as np
    >>> import convcli
    >>> step = np.repeat([[0, 0, 200, 200]], 3, axis=0).astype(np.uint8)
    >>> [edges] = convcli.filter_array(step, "sobel_x")
    >>> edges[1].tolist()
    [0, 255, 255, 0]
    """
    items = [kernel] if isinstance(kernel, str | Kernel | KernelBank) else list(kernel)
    specs = [parse_kernel_spec(k) if isinstance(k, str) else k for k in items]
    plan = build_plan(specs, combine=combine, chain=chain)
    options = ConvOptions(stride, padding, padding_mode, cval, dilation, flip)
    maps = apply_plan(np.asarray(pixels), plan, options)
    depth = 8 if max_value <= 255 else 16
    results = []
    for fmap in maps:
        values, _ = map_values(fmap.values, mapping, max_value=max_value,
                               kernel_sum=fmap.kernel_sum)  # fmt: skip
        results.append(
            values if mapping == "raw" else to_pixels(values, depth, max_value=max_value)
        )
    return results
