"""``--color luma``: filter the luminance only and keep the chroma.

The colour image is split into BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (the
weights of :data:`convcli.io.LUMA_WEIGHTS`) and two colour differences, as JPEG's YCbCr
is (without its offset of 128, so the split is exact and scale-free):
``Cb = 0.5 (B - Y) / (1 - 0.114)``, ``Cr = 0.5 (R - Y) / (1 - 0.299)``. Only ``Y`` is
filtered; the chroma is sampled on the output grid as alpha is, and the two are turned
back into RGB. Sharpening a photo this way gives no colour fringes. A kernel summing to 0
(an edge detector) has no colour to keep: its map is the luma response alone, gray.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from convcli.io import LUMA_WEIGHTS
from convcli.pipeline.filtering import FeatureMap, alpha_on_grid


def _forward() -> np.ndarray:
    kr, kg, kb = LUMA_WEIGHTS
    return np.array(
        [
            [kr, kg, kb],
            [-0.5 * kr / (1 - kb), -0.5 * kg / (1 - kb), 0.5],
            [0.5, -0.5 * kg / (1 - kr), -0.5 * kb / (1 - kr)],
        ]
    )


TO_YCBCR = _forward()
"""RGB -> (Y, Cb, Cr), rows applied to a pixel's (R, G, B)."""
TO_RGB = np.linalg.inv(TO_YCBCR)
"""(Y, Cb, Cr) -> RGB."""


def split_luma(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W, 3)`` RGB -> luma ``(H, W)`` and chroma ``(H, W, 2)``, float32.

    Examples
    --------
    >>> y, chroma = split_luma(np.array([[[255.0, 255.0, 255.0]]]))
    >>> round(float(y[0, 0]), 3), np.round(chroma[0, 0], 6).tolist()
    (255.0, [0.0, 0.0])
    """
    ycc = pixels.astype(np.float64) @ TO_YCBCR.T
    return ycc[..., 0].astype(np.float32), ycc[..., 1:].astype(np.float32)


def join_luma(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """Luma ``(H, W)`` and chroma ``(H, W, 2)`` back to RGB ``(H, W, 3)``, float32."""
    ycc = np.dstack([luma.astype(np.float64), chroma.astype(np.float64)])
    return (ycc @ TO_RGB.T).astype(np.float32)


def apply_luma(
    pixels: np.ndarray, chain: bool, filter_luma: Callable[[np.ndarray], list[FeatureMap]]
) -> list[FeatureMap]:
    """Filter the luma of an RGB array with ``filter_luma``; keep its chroma.

    Parameters
    ----------
    pixels : numpy.ndarray
        ``(H, W, 3)``.
    chain : bool
        Whether the plan is a chain (every step moves the output grid).
    filter_luma : callable
        The luma ``(H, W)`` -> its feature maps (:func:`convcli.pipeline.apply_plan`).

    Returns
    -------
    list of FeatureMap
        RGB maps for kernels whose sum is not 0; gray luma maps for zero-sum kernels.
    """
    luma, chroma = split_luma(pixels)
    out = []
    for fmap in filter_luma(luma):
        if fmap.kernel_sum == 0.0:
            out.append(fmap)
            continue
        kept = np.dstack([alpha_on_grid(chroma[..., i], fmap.applied, chain) for i in (0, 1)])
        out.append(replace(fmap, values=join_luma(fmap.values, kept)))
    return out
