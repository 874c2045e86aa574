"""Parametric kernels: ``gaussian:sigma=2``, ``box:5``, ``log:sigma=1.4`` and the rest.

Each builder takes validated keyword values and returns the float64 weights; the table
:data:`PARAMETRIC` says which parameters each takes, in positional order, with their types,
defaults and limits. :func:`parametric_kernel` turns a family and its arguments into a
:class:`~convcli.kernels.Kernel`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import cast

import numpy as np

from convcli.errors import KernelError
from convcli.kernels.kernel import Kernel, KernelKind

MAX_SIDE = 1025
"""The largest side a parametric kernel may have (a bigger one is almost surely a typo)."""

Value = int | float


@dataclass(frozen=True)
class Param:
    """One parameter of a parametric kernel."""

    name: str
    kind: type[int] | type[float]
    default: Value | None = None
    minimum: float = 0.0
    exclusive: bool = True
    choices: tuple[int, ...] = ()
    odd: bool = False
    optional: bool = False

    @property
    def required(self) -> bool:
        """True when the parameter has no default and must be given."""
        return self.default is None and not self.optional

    @property
    def expected(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        noun = "an odd whole number" if self.odd else _NOUNS[self.kind]
        if self.minimum == -math.inf:
            return noun
        return f"{noun} {'>' if self.exclusive else '>='} {self.minimum:g}"


_NOUNS = {int: "a whole number", float: "a number"}


@dataclass(frozen=True)
class Parametric:
    """A family of kernels built from parameters."""

    name: str
    params: tuple[Param, ...]
    build: Callable[..., np.ndarray]
    kind: str
    usage: str
    description: str


def gaussian_1d(sigma: float, size: int) -> np.ndarray:
    """A sampled 1-D Gaussian of odd ``size``, summing to 1."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _size_for(sigma: float, reach: float, size: int | None) -> int:
    """``size`` if given, else the odd size covering ±reach·σ."""
    side = size if size is not None else 2 * math.ceil(reach * sigma) + 1
    _check_side(side)
    return side


def _check_side(side: int) -> None:
    if side > MAX_SIDE:
        msg = (
            f"kernel side {side} is larger than the limit {MAX_SIDE}; "
            "expected a smaller size or sigma"
        )
        raise KernelError(msg)


def gaussian(sigma: float, size: int | None = None) -> np.ndarray:
    """Normalised 2-D Gaussian, the outer product of two 1-D ones; size covers ±3σ."""
    g = gaussian_1d(sigma, _size_for(sigma, 3.0, size))
    return np.outer(g, g)


def box(size: int) -> np.ndarray:
    """``size``×``size`` mean filter."""
    _check_side(size)
    return np.full((size, size), 1.0 / (size * size))


def disk(radius: float) -> np.ndarray:
    """Mean over the pixels whose centres lie within ``radius`` of the centre."""
    half = math.floor(radius)
    _check_side(2 * half + 1)
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    inside = (x**2 + y**2 <= radius**2).astype(np.float64)
    return inside / inside.sum()


def motion(length: int, angle: float = 0.0) -> np.ndarray:
    """A line of ``length`` pixels through the centre at ``angle`` degrees (counter-clockwise)."""
    side = length if length % 2 else length + 1
    _check_side(side)
    centre = (side - 1) / 2
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, 8 * length)
    theta = math.radians(angle)
    rows = np.rint(centre - t * math.sin(theta) + 0.0).astype(int)
    cols = np.rint(centre + t * math.cos(theta) + 0.0).astype(int)
    weights = np.zeros((side, side))
    weights[rows, cols] = 1.0
    return weights / weights.sum()


def log(sigma: float, size: int | None = None) -> np.ndarray:
    """Laplacian of Gaussian (negative centre), shifted to sum exactly to 0; size covers ±4σ."""
    half = (_size_for(sigma, 4.0, size) - 1) / 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    r2 = (x**2 + y**2) / (2 * sigma**2)
    weights = -(1 - r2) * np.exp(-r2) / (math.pi * sigma**4)
    return weights - weights.mean()


def dog(sigma1: float, sigma2: float, size: int | None = None) -> np.ndarray:
    """Difference of Gaussians G(σ1) − G(σ2), each normalised, so the sum is 0."""
    if sigma1 == sigma2:
        msg = f"sigma1 and sigma2 are both {sigma1:g}; expected two different values"
        raise KernelError(msg)
    side = _size_for(max(sigma1, sigma2), 3.0, size)
    return gaussian(sigma1, side) - gaussian(sigma2, side)


def unsharp(sigma: float = 1.0, amount: float = 1.0, size: int | None = None) -> np.ndarray:
    """Unsharp masking: (1 + amount)·identity − amount·Gaussian(σ); sums to 1."""
    blur = gaussian(sigma, size)
    identity = np.zeros_like(blur)
    identity[blur.shape[0] // 2, blur.shape[1] // 2] = 1.0
    return (1 + amount) * identity - amount * blur


def laplacian(neighbours: int) -> np.ndarray:
    """The discrete Laplacian over 4 or 8 neighbours (negative centre)."""
    if neighbours == 4:
        return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    return np.array([[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]])


def _binomial(n: int) -> np.ndarray:
    """Row ``n - 1`` of Pascal's triangle: ``n`` binomial weights."""
    return np.array([math.comb(n - 1, k) for k in range(n)], dtype=np.float64)


def sobel_parts(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (smoothing, derivative) 1-D parts of a Sobel kernel, as OpenCV builds them."""
    derivative = np.convolve(_binomial(size - 2), [1.0, 0.0, -1.0])[::-1]
    return _binomial(size), derivative


def sobel_x(size: int = 3) -> np.ndarray:
    """Sobel x derivative: positive where brightness increases to the right."""
    smooth, derivative = sobel_parts(size)
    return np.outer(smooth, derivative)


def sobel_y(size: int = 3) -> np.ndarray:
    """Sobel y derivative: positive where brightness increases downwards."""
    smooth, derivative = sobel_parts(size)
    return np.outer(derivative, smooth)


MIN_SIGMA = 0.01
"""Below this a Gaussian is a single 1 anyway, and σ⁴ would underflow."""

_SIGMA = Param("sigma", float, minimum=MIN_SIGMA, exclusive=False)
_SIGMA_1 = replace(_SIGMA, name="sigma1")
_SIGMA_2 = replace(_SIGMA, name="sigma2")
_SIZE = Param("size", int, minimum=1, exclusive=False, odd=True, optional=True)
_SOBEL_SIZE = Param("size", int, default=3, choices=(3, 5, 7))

PARAMETRIC: Mapping[str, Parametric] = {
    p.name: p
    for p in (
        Parametric("gaussian", (_SIGMA, _SIZE), gaussian, "smoothing",
                   "gaussian:sigma=S[,size=N]", "Gaussian blur, sums to 1; size covers ±3σ"),
        Parametric("box", (Param("size", int, minimum=1, exclusive=False),), box, "smoothing",
                   "box:N", "N×N mean (box) blur"),
        Parametric("disk", (Param("radius", float),), disk, "smoothing",
                   "disk:radius=R", "mean over a disk of radius R (defocus blur)"),
        Parametric("motion", (Param("length", int, minimum=1, exclusive=False),
                              Param("angle", float, default=0.0, minimum=-math.inf)),
                   motion, "smoothing", "motion:length=L[,angle=DEG]",
                   "motion blur along a line of L pixels at DEG° counter-clockwise"),
        Parametric("log", (_SIGMA, _SIZE), log, "edge", "log:sigma=S[,size=N]",
                   "Laplacian of Gaussian, zero sum; size covers ±4σ"),
        Parametric("dog", (_SIGMA_1, _SIGMA_2, _SIZE), dog, "edge",
                   "dog:sigma1=A,sigma2=B[,size=N]",
                   "difference of Gaussians G(A) − G(B), zero sum"),
        Parametric("unsharp", (replace(_SIGMA, default=1.0),
                               Param("amount", float, default=1.0, minimum=0.0, exclusive=False),
                               _SIZE), unsharp, "sharpen", "unsharp:sigma=S[,amount=A][,size=N]",
                   "unsharp masking (1+A)·identity − A·gaussian(S), sums to 1"),
        Parametric("laplacian", (Param("neighbours", int, choices=(4, 8)),), laplacian, "edge",
                   "laplacian:4|8", "discrete Laplacian over 4 or 8 neighbours"),
        Parametric("sobel_x", (_SOBEL_SIZE,), sobel_x, "edge", "sobel_x:size=3|5|7",
                   "Sobel x derivative of size 3, 5 or 7 (OpenCV's extended Sobel)"),
        Parametric("sobel_y", (_SOBEL_SIZE,), sobel_y, "edge", "sobel_y:size=3|5|7",
                   "Sobel y derivative of size 3, 5 or 7 (OpenCV's extended Sobel)"),
    )
}  # fmt: skip


def build(family: Parametric, args: str) -> tuple[np.ndarray, dict[str, Value | None]]:
    """Parse ``args`` (``2``, ``sigma=2,size=9``, ``9,45``); return the weights and the values."""
    values = parse_args(family, args)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            weights = family.build(**values)
    except KernelError as exc:
        msg = f"{family.name}: {exc}"
        raise KernelError(msg) from None
    except FloatingPointError:
        msg = f"{family.name}: the values {args!r} overflow; expected smaller or larger numbers"
        raise KernelError(msg) from None
    return weights, values


def parse_args(family: Parametric, args: str) -> dict[str, Value | None]:
    """Positional values (first) then ``key=value`` ones, checked; defaults filled in."""
    given: dict[str, str] = {}
    keyword_seen = False
    for position, item in enumerate(args.split(",") if args.strip() else []):
        if "=" in item:
            key, value = _keyword(family, item)
            keyword_seen = True
        else:
            key, value = _positional(family, item.strip(), position, keyword_seen)
        if key in given:
            msg = f"{family.name}: parameter {key!r} is given twice; usage: {family.usage}"
            raise KernelError(msg)
        given[key] = value
    return {p.name: _value(family, p, given.get(p.name)) for p in family.params}


def _keyword(family: Parametric, item: str) -> tuple[str, str]:
    """Split ``key=value`` and check that the key is one of the family's parameters."""
    key, _, value = (part.strip() for part in item.partition("="))
    names = [p.name for p in family.params]
    if key not in names:
        msg = (
            f"{family.name}: unknown parameter {key!r}; "
            f"valid parameters: {', '.join(names)} (usage: {family.usage})"
        )
        raise KernelError(msg)
    return key, value


def _positional(
    family: Parametric, item: str, position: int, keyword_seen: bool
) -> tuple[str, str]:
    """The parameter a positional value stands for: the one at its position."""
    if not item:
        msg = f"{family.name}: value {position + 1} is empty; usage: {family.usage}"
        raise KernelError(msg)
    if keyword_seen or position >= len(family.params):
        msg = (
            f"{family.name}: unexpected value {item!r} at position {position + 1}; "
            f"usage: {family.usage}"
        )
        raise KernelError(msg)
    return family.params[position].name, item


def _value(family: Parametric, param: Param, text: str | None) -> Value | None:
    """Convert and check one parameter's text; the default when not given."""
    if text is None:
        if param.required:
            msg = f"{family.name}: missing parameter {param.name!r}; usage: {family.usage}"
            raise KernelError(msg)
        return param.default
    value = _convert(family, param, text)
    if not _valid(param, value):
        msg = f"{family.name}: {param.name}={text} is out of range; expected {param.expected}"
        raise KernelError(msg)
    return value


def _convert(family: Parametric, param: Param, text: str) -> Value:
    """The text as the parameter's type (``5.0`` is a whole number; ``5.5`` is not)."""
    try:
        value = float(text)
    except ValueError:
        msg = f"{family.name}: {param.name}={text!r} is not a number; expected {param.expected}"
        raise KernelError(msg) from None
    if not math.isfinite(value) or (param.kind is int and value != int(value)):
        msg = f"{family.name}: {param.name}={text} is not valid; expected {param.expected}"
        raise KernelError(msg)
    return int(value) if param.kind is int else value


def _valid(param: Param, value: Value) -> bool:
    """Whether a converted value is within the parameter's choices or range."""
    if param.choices:
        return value in param.choices
    if param.odd and value % 2 == 0:
        return False
    return value > param.minimum if param.exclusive else value >= param.minimum


def parametric_kernel(family: Parametric, args: str) -> Kernel:
    weights, values = build(family, args)
    return Kernel(name=f"{family.name}:{_canonical_args(values, weights)}", weights=weights,
                  description=family.description, kind=cast(KernelKind, family.kind),
                  source="parametric")  # fmt: skip


def _canonical_args(values: Mapping[str, float | None], weights: np.ndarray) -> str:
    """``sigma=2,size=13``: every parameter's value in effect, the size included."""
    shown = {**values, "size": weights.shape[0]} if "size" in values else dict(values)
    return ",".join(f"{key}={value:g}" for key, value in shown.items() if value is not None)
