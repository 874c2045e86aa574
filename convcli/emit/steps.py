"""Each kernel of a plan as it runs on one input: its numbers, resolved, for the emitters.

A :class:`Step` holds everything another library needs to compute one kernel's response
exactly as convcli does: the weights as laid on the image (flipped for ``--flip``), the
four pads (``same`` resolved for this input size and placed by the kernel's anchor), the
stride, the dilation and what the pads hold. The plan's shape (banks, combine, chain) is
kept as a small tree of :class:`Unit` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convcli.geometry import (
    Geometry,
    PaddingMode,
    Pair,
    anchor_tap,
    anchored_padding,
    normalize_padding_mode,
    resolve_geometry,
)
from convcli.kernels import Kernel, KernelBank
from convcli.pipeline.plan import ConvOptions, FilterPlan


@dataclass(frozen=True)
class Step:
    """One kernel on one input size, every choice resolved to numbers.

    Attributes
    ----------
    index : int
        1, 2, ... in the order the program computes them (names ``W1``, ``k1``).
    kernel : Kernel
        The kernel as given (weights as written).
    weights : numpy.ndarray
        float32 weights as laid on the image: rotated 180° when ``flip``.
    flip : bool
        True convolution (``--flip``).
    geometry : Geometry
        Input and output sizes, pads, stride, dilation.
    tap : (int, int)
        Offset, in input pixels from a window's top-left, of the tap over the output pixel.
    anchored : bool
        The pads of ``same`` were placed by the kernel's own anchor.
    mode : str
        What the pads hold (a canonical convcli padding mode).
    cval : float
        The constant of ``zeros`` padding.
    word : str or None
        The padding word asked for (``same``, ``valid``, ``full``), or None for numbers.
    """

    index: int
    kernel: Kernel
    weights: np.ndarray
    flip: bool
    geometry: Geometry
    tap: Pair
    anchored: bool
    mode: PaddingMode
    cval: float
    word: str | None

    @property
    def key(self) -> tuple[object, ...]:
        """Steps with equal keys run the same code on different weights."""
        return (self.geometry, self.tap, self.anchored, self.mode, self.cval, self.word)

    @property
    def weight_name(self) -> str:
        """The program's name of the weights passed to the correlation."""
        return f"W{self.index}"

    @property
    def spread_hw(self) -> Pair:
        """Size of the kernel with its taps spread ``dilation`` apart."""
        return self.geometry.effective_kernel_hw

    def pads_used(self) -> bool:
        """True when any pad is not zero."""
        return any(sum(p) for p in self.geometry.pads)

    def pads_within_input(self) -> bool:
        """Every pad narrower than the image: every library pads such borders alike."""
        g = self.geometry
        return all(max(g.pads[a]) < g.input_hw[a] for a in (0, 1))

    def keeps_size_grid(self) -> bool:
        """Outputs lie on input pixels ``0, s, 2s, ...`` with the tap inside the kernel.

        Then a library that keeps the input's size and lays tap ``pad_before`` over each
        pixel (SciPy's origin, OpenCV's anchor) gives every needed value; slicing does the
        stride.
        """
        g = self.geometry
        return (
            all(
                g.pads[a][0] <= self.spread_hw[a] - 1
                and (g.output_hw[a] - 1) * g.stride[a] <= g.input_hw[a] - 1
                for a in (0, 1)
            )
            and self.pads_within_input()
        )


@dataclass(frozen=True)
class Unit:
    """One response: a kernel's step, or a bank's steps and their combine mode."""

    name: str
    steps: tuple[Step, ...]
    combine: str | None


@dataclass(frozen=True)
class Layout:
    """A whole plan on one input: units, how they combine, and the sizes."""

    units: tuple[Unit, ...]
    combine: str | None
    chain: bool
    input_hw: Pair
    output_hw: Pair
    map_names: tuple[str, ...]
    name: str

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, in the order the program computes them."""
        return tuple(s for u in self.units for s in u.steps)


def _step(index: int, kernel: Kernel, hw: Pair, options: ConvOptions) -> Step:
    anchor = kernel.anchor_as_run(options.flip)
    padding = anchored_padding(
        options.padding, hw, kernel.shape, anchor, stride=options.stride, dilation=options.dilation
    )
    geometry = resolve_geometry(
        hw, kernel.shape, stride=options.stride, padding=padding, dilation=options.dilation
    )
    weights = np.asarray(kernel.weights, dtype=np.float32)
    if options.flip:
        weights = weights[::-1, ::-1]
    tap = anchor_tap(kernel.shape, anchor, options.dilation)
    mode = normalize_padding_mode(options.padding_mode)
    anchored = anchor is not None and padding != options.padding
    word = options.padding.strip().lower() if isinstance(options.padding, str) else None
    return Step(index, kernel, weights, options.flip, geometry, tap, anchored, mode,
                float(options.cval), word)  # fmt: skip


def _unit(spec: Kernel | KernelBank, hw: Pair, options: ConvOptions, first: int) -> Unit:
    if isinstance(spec, Kernel):
        return Unit(spec.name, (_step(first, spec, hw, options),), None)
    steps = tuple(_step(first + i, k, hw, options) for i, k in enumerate(spec.kernels))
    return Unit(spec.name, steps, spec.combine)


def layout(plan: FilterPlan, options: ConvOptions, input_hw: Pair) -> Layout:
    """Resolve every kernel of ``plan`` for an input of ``input_hw``.

    Raises
    ------
    GeometryError
        If a kernel does not fit the (padded) input.
    """
    units: list[Unit] = []
    hw, first = input_hw, 1
    for spec in plan.units:
        unit = _unit(spec, hw, options, first)
        units.append(unit)
        first += len(unit.steps)
        if plan.chain:
            hw = unit.steps[0].geometry.output_hw
    out = hw if plan.chain else units[0].steps[0].geometry.output_hw
    return Layout(tuple(units), plan.combine, plan.chain, input_hw, out, plan.map_names,
                  plan.name)  # fmt: skip
