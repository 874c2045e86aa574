"""One kernel's response in another library's terms, with a comment for each translation.

Each emitter turns a :class:`~convcli.emit.steps.Step` into the body of
``def correlate(x, w):``, a function of one 2-D channel (float32) and the weights that
returns convcli's raw response. Where a library cannot express the request exactly, the
body pads with NumPy first and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convcli.emit.steps import Step
from convcli.geometry import dims

NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "symmetric": "symmetric",
               "replicate": "edge", "circular": "wrap"}  # fmt: skip
SCIPY_MODES = {"zeros": "constant", "reflect": "mirror", "symmetric": "reflect",
               "replicate": "nearest", "circular": "wrap"}  # fmt: skip
OPENCV_BORDERS = {"zeros": "BORDER_CONSTANT", "reflect": "BORDER_REFLECT_101",
                  "symmetric": "BORDER_REFLECT", "replicate": "BORDER_REPLICATE"}  # fmt: skip
TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
               "circular": "circular"}  # fmt: skip
PICTURES = {"zeros": "0 0 | a b c d", "reflect": "c b | a b c d",
            "symmetric": "b a | a b c d", "replicate": "a a | a b c d",
            "circular": "c d | a b c d"}  # fmt: skip


def number(value: float) -> str:
    """A float32 value as its shortest text: ``1``, ``-0.5``, ``0.11111111``."""
    text = repr(float(value)) if value == int(value) else str(value)
    return text[:-2] if text.endswith(".0") else text


def _pads_text(step: Step) -> str:
    (t, b), (left, r) = step.geometry.pads
    return f"(({t}, {b}), ({left}, {r}))"


def numpy_pad(step: Step, why: str) -> list[str]:
    """``np.pad`` with convcli's pads and mode, after a comment saying why it is there."""
    if not step.pads_used():
        return []
    mode = NUMPY_MODES[step.mode]
    extra = f", constant_values={number(step.cval)}" if step.mode == "zeros" and step.cval else ""
    return [
        f"# {why}",
        f"# convcli {step.mode} = numpy.pad {mode!r} ({PICTURES[step.mode]})",
        f"x = np.pad(x, {_pads_text(step)}, mode={mode!r}{extra})",
    ]


def strided(step: Step, length: tuple[int, int]) -> str:
    """The slice that keeps outputs ``0, s, 2s, ...`` of a map of ``length``, or ``""``."""
    g = step.geometry
    parts, needed = [], False
    for a in (0, 1):
        end, s = (g.output_hw[a] - 1) * g.stride[a] + 1, g.stride[a]
        whole = -(-length[a] // s) == g.output_hw[a]
        part = ":" if whole else f":{end}"
        part += f":{s}" if s > 1 else ""
        needed |= part != ":"
        parts.append(part)
    return f"[{parts[0]}, {parts[1]}]" if needed else ""


def _stride_comment(step: Step, library: str) -> list[str]:
    if step.geometry.stride == (1, 1):
        return []
    sy, sx = step.geometry.stride
    return [
        f"# {library} has no stride: slicing keeps rows 0, {sy}, {2 * sy}, ... "
        f"and columns 0, {sx}, {2 * sx}, ..."
    ]


def _fit_reason(step: Step, library: str) -> str:
    if not step.pads_within_input():
        return f"a pad as wide as the image, which {library} extends its own way: NumPy pads first"
    return f"these pads do not fit {library}'s same-size output: NumPy pads first"


def numpy_body(step: Step) -> list[str]:
    """Plain NumPy: pad, a sliding-window view, one ``einsum`` (the teaching reference)."""
    g = step.geometry
    (sy, sx), (dy, dx) = g.stride, g.dilation
    lines = numpy_pad(step, "the pads, explicitly")
    window = f"sliding_window_view(x, {step.spread_hw})"
    comment = f"# every {dims(g.kernel_hw)} window"
    if (dy, dx) != (1, 1):
        apart = dy if dy == dx else f"{dy},{dx}"
        comment += f", {dims(step.spread_hw)} wide with taps {apart} apart (dilation)"
    if (sy, sx) != (1, 1):
        comment += f"; stride {sy if sy == sx else f'{sy},{sx}'} by slicing"
    taps = f", ::{dy}, ::{dx}" if (dy, dx) != (1, 1) else ""
    cut = f"[::{sy}, ::{sx}{taps}]" if (sy, sx) != (1, 1) or taps else ""
    return [
        *lines,
        comment,
        f"windows = {window}{cut}",
        "# the multiply-add of each window with the kernel: a cross-correlation",
        "return np.einsum('ijkl,kl->ij', windows, w)",
    ]


def _origin_comment(step: Step, what: str, default: str) -> list[str]:
    ty, tx = step.geometry.pads[0][0], step.geometry.pads[1][0]
    return [
        f"# {what}: tap ({ty}, {tx}) of the {dims(step.spread_hw)} kernel over each pixel",
        f"# (convcli's pads before; {default})",
    ]


def scipy_body(step: Step) -> list[str]:
    """``scipy.ndimage.correlate`` with ``origin``; NumPy pads where SciPy cannot."""
    g, w = step.geometry, "w"
    eh, ew = step.spread_hw
    if step.keeps_size_grid():
        (top, _), (left, _) = g.pads
        mode = SCIPY_MODES[step.mode]
        cval = f", cval={number(step.cval)}" if step.mode == "zeros" and step.cval else ""
        return [
            f"# convcli {step.mode} = SciPy mode {mode!r} ({PICTURES[step.mode]})",
            *_origin_comment(step, "origin", "SciPy's default is the centre, k//2"),
            f"y = ndimage.correlate(x, {w}, mode={mode!r}{cval}, "
            f"origin=({top - eh // 2}, {left - ew // 2}))",
            *_stride_comment(step, "SciPy"),
            f"return y{strided(step, g.input_hw)}",
        ]
    return [
        *numpy_pad(step, _fit_reason(step, "SciPy")),
        "# origin puts tap (0, 0) over each pixel: only whole windows are kept",
        f"y = ndimage.correlate(x, {w}, mode='constant', origin=({-(eh // 2)}, {-(ew // 2)}))",
        *_stride_comment(step, "SciPy"),
        f"return y{strided(step, g.padded_hw)}",
    ]


def opencv_body(step: Step) -> list[str]:
    """``cv2.filter2D`` (a correlation) with ``anchor``; NumPy pads where OpenCV cannot."""
    g, w = step.geometry, "w"
    native = step.keeps_size_grid() and step.mode in OPENCV_BORDERS
    native = native and not (step.mode == "zeros" and step.cval)
    if native:
        (top, _), (left, _) = g.pads
        border = OPENCV_BORDERS[step.mode]
        return [
            "# filter2D is a cross-correlation, despite its name",
            f"# convcli {step.mode} = cv2.{border} ({PICTURES[step.mode]})",
            *_origin_comment(step, f"anchor=({left}, {top}) is (x, y)", "OpenCV's default: k//2"),
            f"y = cv2.filter2D(x, -1, {w}, anchor=({left}, {top}), borderType=cv2.{border})",
            *_stride_comment(step, "OpenCV"),
            f"return y{strided(step, g.input_hw)}",
        ]
    if step.mode == "circular":
        why = "filter2D has no wrap-around border (BORDER_WRAP): NumPy pads first"
    elif step.mode == "zeros" and step.cval:
        why = "filter2D pads with 0 only, not --cval: NumPy pads first"
    else:
        why = _fit_reason(step, "OpenCV")
    return [
        *numpy_pad(step, why),
        "# filter2D is a cross-correlation; anchor (0, 0): only whole windows are kept",
        f"y = cv2.filter2D(x, -1, {w}, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)",
        *_stride_comment(step, "OpenCV"),
        f"return y{strided(step, g.padded_hw)}",
    ]


def torch_body(step: Step) -> list[str]:
    """``F.pad`` then ``F.conv2d`` (a correlation, with stride and dilation)."""
    g = step.geometry
    (t, b), (left, r) = g.pads
    lines = ["x = np.ascontiguousarray(x)"]
    padded = step.pads_used()
    if step.mode not in TORCH_MODES and padded:
        why = f"PyTorch has no {step.mode} padding ({PICTURES[step.mode]}): NumPy pads first"
        lines = numpy_pad(step, why) + lines
        padded = False
    elif not step.pads_within_input() and step.mode in ("reflect", "circular"):
        lines = numpy_pad(step, _fit_reason(step, "PyTorch")) + lines
        padded = False
    lines.append("t = torch.from_numpy(x)[None, None]  # (1, 1, H, W): one image, one channel")
    if padded:
        mode = TORCH_MODES[step.mode]
        value = f", value={number(step.cval)}" if step.mode == "zeros" and step.cval else ""
        lines += [
            f"# convcli {step.mode} = F.pad mode {mode!r} ({PICTURES[step.mode]})",
            "# F.pad takes (left, right, top, bottom)",
            f"t = F.pad(t, ({left}, {r}, {t}, {b}), mode={mode!r}{value})",
        ]
    if padded and step.word == "same":
        lines.append(
            "# not conv2d(padding='same'): it refuses stride > 1 and does not follow anchors"
        )
    lines += [
        "# conv2d is a cross-correlation, as convcli's default",
        "w = torch.from_numpy(w)[None, None]",
        f"y = F.conv2d(t, w, stride={g.stride}, dilation={g.dilation})",
        "return y[0, 0].numpy()",
    ]
    return lines


@dataclass(frozen=True)
class Library:
    """How one library is named, imported, and how it computes one kernel."""

    name: str
    title: str
    imports: tuple[str, ...]
    body: Callable[[Step], list[str]]
    spreads: bool  # no dilation of its own: taps are spread with zeros between


LIBRARIES: dict[str, Library] = {
    "numpy": Library(
        "numpy", "plain NumPy",
        ("from numpy.lib.stride_tricks import sliding_window_view",), numpy_body, False,
    ),
    "scipy": Library("scipy", "SciPy", ("from scipy import ndimage",), scipy_body, True),
    "opencv": Library("opencv", "OpenCV", ("import cv2",), opencv_body, True),
    "torch": Library(
        "torch", "PyTorch", ("import torch", "import torch.nn.functional as F"), torch_body,
        False,
    ),
}  # fmt: skip
"""``--emit`` name -> how that library's program is written."""
