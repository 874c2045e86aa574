"""What an output lost or what a result suggests: the warning lines of one written map.

Each warning is one line that the summary, ``--json`` (``warnings``) and stderr carry, so
nothing is dropped silently: alpha a format cannot hold, bit depth cut down, and a
kernel whose gain clips most of the image. (Frames are never dropped silently: a file of
several frames needs ``--frame N``, see :mod:`convcli.pipeline.run`.)
"""

from __future__ import annotations

from convcli.io import FORMATS
from convcli.io.meta import JPEG_EXIF_LIMIT
from convcli.values import MappingReport

CLIPPED_HINT_SHARE = 0.5
"""A ``clip`` mapping that clips more than this share of values gets the ``--normalize`` hint."""


def output_warnings(
    *,
    fmt: str,
    has_alpha: bool,
    input_depth: int,
    depth: int | None,
    partial_alpha: bool = False,
    exif_bytes: int = 0,
) -> list[str]:
    """The warnings for writing a map of an input to ``fmt`` at ``depth`` (None: float).

    ``partial_alpha``: some pixels are neither opaque nor clear (GIF keeps 1 bit of alpha).
    ``exif_bytes``: the size of the EXIF block kept (a JPEG holds 65,533 bytes of it).

    Examples
    --------
    >>> output_warnings(fmt="jpeg", has_alpha=True, input_depth=16, depth=8)
    ['JPEG holds no alpha: alpha dropped', '16-bit input written as 8-bit (JPEG)']
    """
    name = fmt.upper()
    lines = []
    if has_alpha and not FORMATS[fmt].alpha:
        lines.append(f"{name} holds no alpha: alpha dropped")
    elif partial_alpha and fmt == "gif":
        lines.append(
            "GIF holds 1-bit transparency: partly transparent pixels made opaque or clear"
        )
    if depth is not None and input_depth == 32:
        lines.append(f"float input written as {depth}-bit integers ({name}); .npy keeps floats")
    elif depth is not None and input_depth > depth:
        lines.append(f"{input_depth}-bit input written as {depth}-bit ({name})")
    if fmt == "jpeg" and exif_bytes > JPEG_EXIF_LIMIT:
        lines.append(f"EXIF of {exif_bytes:,} bytes is over the {JPEG_EXIF_LIMIT:,} a JPEG holds: "
                     "not written")  # fmt: skip
    return lines


def gain_hint(report: MappingReport, kernel_sum: float | None) -> list[str]:
    """A hint naming ``--normalize`` when a kernel's sum, far from 1, clipped most values.

    Examples
    --------
    >>> report = MappingReport("clip", 0.0, 4080.0, 990, 0.99)
    >>> gain_hint(report, 16.0)
    ['kernel sums to 16 and 99.00% of values were clipped; --normalize divides it by its sum']
    >>> gain_hint(report, 1.0)
    []
    """
    if report.mapping != "clip" or report.clipped_share <= CLIPPED_HINT_SHARE:
        return []
    if kernel_sum is None or kernel_sum == 0.0 or abs(kernel_sum - 1.0) <= 0.5:
        return []
    return [
        f"kernel sums to {kernel_sum:g} and {report.clipped_share:.2%} of values were clipped; "
        "--normalize divides it by its sum"
    ]
