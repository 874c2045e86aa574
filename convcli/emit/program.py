"""The whole emitted program: header, weights, one function per kernel, the combine, a main.

:func:`emit_program` is what ``--emit`` prints: a short runnable Python program that
computes convcli's raw feature map (before value mapping) with another library.
``feature_map(x)`` takes the input as convcli reads it (float32, ``(H, W)`` or
``(H, W, C)``) and returns the map, or a tuple of maps when several are written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convcli.choices import EMIT_LIBRARIES
from convcli.emit.libraries import LIBRARIES, Library, number
from convcli.emit.steps import Layout, Step, Unit, layout
from convcli.errors import ConvcliError
from convcli.geometry import Pair, dims
from convcli.pipeline.plan import ConvOptions, FilterPlan

COMBINE_TEXT = {
    "magnitude": ("np.sqrt(np.sum(s * s, axis=-1))", "sqrt of the sum of squares"),
    "max": ("np.max(s, axis=-1)", "the largest response"),
    "min": ("np.min(s, axis=-1)", "the smallest response"),
    "sum": ("np.sum(s, axis=-1)", "the sum of the responses"),
    "abs-sum": ("np.sum(np.abs(s), axis=-1)", "the sum of absolute responses"),
}
INDENT = "    "


def _matrix(weights: np.ndarray) -> str:
    rows = ["[" + ", ".join(number(v) for v in row) + "]" for row in weights]
    flat = "[" + ", ".join(rows) + "]"
    if len(flat) <= 60:
        return flat
    return "[\n" + "".join(f"{INDENT}{row},\n" for row in rows) + "]"


def _passed(step: Step, library: Library) -> str:
    spread = library.spreads and step.geometry.dilation != (1, 1)
    return f"{step.weight_name}S" if spread else step.weight_name


def _weights(step: Step, library: Library) -> list[str]:
    k, name = step.kernel, step.weight_name
    lines = [f"# {k.name} {dims(k.shape)}, as written"]
    value = f"np.array({_matrix(np.asarray(k.weights, dtype=np.float32))}, dtype=np.float32)"
    lines.append(f"{name} = {value}")
    if step.flip:
        lines += [
            f"# --flip: true convolution; {library.title} correlates: rotate the kernel 180°",
            f"{name} = {name}[::-1, ::-1].copy()",
        ]
    dy, dx = step.geometry.dilation
    if _passed(step, library) != name:
        lines += [
            f"# {library.title} has no dilation: taps spread {dy},{dx} apart, zeros between",
            f"{name}S = np.zeros({step.spread_hw}, dtype=np.float32)",
            f"{name}S[::{dy}, ::{dx}] = {name}",
        ]
    return lines


def _pair(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


def _geometry_comment(steps: list[Step]) -> list[str]:
    step = steps[0]
    g = step.geometry
    (t, b), (left, r) = g.pads
    names = ", ".join(s.kernel.name for s in steps)
    lines = [
        f'"""{names} on one channel: {dims(g.input_hw)} -> {dims(g.output_hw)}.',
        "",
        f"pads top {t}, bottom {b}, left {left}, right {r}; stride {_pair(g.stride)};",
        f"dilation {_pair(g.dilation)}; {step.mode} borders.",
    ]
    if step.word == "same":
        lines += [
            "same: output ceil(n / stride), total pad per axis",
            f"max((out-1)*stride + dilation*(k-1) + 1 - n, 0) = {t + b}, {left + r},",
        ]
        if step.anchored:
            lines.append(f"placed by the kernel's anchor: pads before ({t}, {left}).")
        else:
            lines.append("split as TensorFlow does: the odd pixel after (bottom, right).")
        if any(k % 2 == 0 for k in g.kernel_hw) and not step.anchored:
            lines.append("An even kernel's tap (k-1)//2 lies over the output pixel.")
    return [*lines, '"""']


def _function(name: str, steps: list[Step], library: Library) -> list[str]:
    body = _geometry_comment(steps) + library.body(steps[0])
    return [f"def {name}(x, w):", *(INDENT + line if line else "" for line in body), ""]


class _Names:
    """Which function computes which step: one per distinct geometry."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.groups: dict[tuple[object, ...], list[Step]] = {}
        for step in steps:
            self.groups.setdefault(step.key, []).append(step)
        single = len(self.groups) == 1
        self.names = {
            key: "correlate" if single else f"correlate{i + 1}"
            for i, key in enumerate(self.groups)
        }

    def of(self, step: Step) -> str:
        return self.names[step.key]


def _response(step: Step, source: str, target: str, names: _Names, library: Library) -> list[str]:
    lines = [f"{target} = each_channel({names.of(step)}, {source}, {_passed(step, library)})"]
    if step.kernel.offset:
        lines += [
            f"# {step.kernel.name} adds its offset to every response",
            f"{target} = {target} + np.float32({number(step.kernel.offset)})",
        ]
    return lines


def _unit_lines(
    unit: Unit, source: str, target: str, names: _Names, library: Library
) -> list[str]:
    if unit.combine is None:
        return _response(unit.steps[0], source, target, names, library)
    lines = []
    for s in unit.steps:
        lines += _response(s, source, f"r{s.index}", names, library)
    return lines + _combine(unit.name, [f"r{s.index}" for s in unit.steps], unit.combine, target)


def _combine(name: str, names: list[str], combine: str, target: str) -> list[str]:
    expression, words = COMBINE_TEXT[combine]
    return [
        f"# {name}: {combine}, {words}",
        f"s = np.stack([{', '.join(names)}], axis=-1)",
        f"{target} = {expression}",
    ]


def _feature_map(plan: Layout, names: _Names, library: Library) -> list[str]:
    lines = ["x = np.asarray(x, dtype=np.float32)"]
    if plan.chain:
        for unit in plan.units:
            lines.append(f"# chain: {unit.name} filters the previous raw map")
            lines += _unit_lines(unit, "x", "x", names, library)
        return [*lines, "return x"]
    first = plan.units[0]
    if len(plan.units) == 1 and first.combine is None and not first.steps[0].kernel.offset:
        step = first.steps[0]
        return [*lines, f"return each_channel({names.of(step)}, x, {_passed(step, library)})"]
    targets = [f"u{i + 1}" for i in range(len(plan.units))]
    for unit, target in zip(plan.units, targets, strict=True):
        lines += _unit_lines(unit, "x", target, names, library)
    if len(targets) == 1:
        return [*lines, f"return {targets[0]}"]
    if plan.combine in (None, "stack"):
        maps = ", ".join(plan.map_names)
        return [*lines, f"# stack: one map each ({maps}), each its own file", _tuple(targets)]
    return [
        *lines,
        *_combine(plan.name, targets, str(plan.combine), "y"),
        "return y",
    ]


def _returns(plan: Layout) -> str:
    if len(plan.map_names) > 1:
        return f": one map each for {', '.join(plan.map_names)}"
    return ""


def _tuple(targets: list[str]) -> str:
    return f"return {', '.join(targets)}"


EACH_CHANNEL = [
    "def each_channel(f, x, w):",
    '    """A 2-D kernel filters every channel on its own (depthwise), as convcli does."""',
    "    if x.ndim == 2:",
    "        return f(x, w)",
    "    return np.stack([f(x[:, :, c], w) for c in range(x.shape[2])], axis=-1)",
    "",
]


def _main(source: str, color: str) -> list[str]:
    suffix = Path(source).suffix.lower()
    if suffix == ".npy":
        load = [f"x = np.load({source!r})"]
    elif suffix in (".txt", ".csv", ".tsv", ".dat"):
        load = [f"x = np.loadtxt(open({source!r}).read().replace(',', ' ').splitlines())"]
    else:
        load = [
            "from PIL import Image",
            "",
            "# as convcli reads 8-bit grey or RGB (it also applies EXIF rotation, weights",
            "# colour by alpha and keeps 16-bit samples on their own scale)",
            f"x = np.asarray(Image.open({source!r}), dtype=np.float32)",
        ]
        if color == "gray":
            load += [
                "# --color gray: BT.601 luma",
                "x = x[:, :, :3] @ np.float32([0.299, 0.587, 0.114]) if x.ndim == 3 else x",
            ]
    return [
        'if __name__ == "__main__":',
        *(INDENT + line if line else "" for line in load),
        f"{INDENT}maps = feature_map(x)",
        f"{INDENT}for y in maps if isinstance(maps, tuple) else (maps,):",
        f"{INDENT * 2}print(y.shape, y.dtype, y.min(), y.max())",
    ]


def emit_program(
    plan: FilterPlan,
    options: ConvOptions,
    input_hw: Pair,
    library: str,
    *,
    command: str,
    source: str,
    color: str = "keep",
) -> str:
    """A runnable program computing ``plan``'s raw feature map with ``library``.

    Parameters
    ----------
    plan : FilterPlan
    options : ConvOptions
        Stride, padding, mode, dilation and flip (the method and threads are not used).
    input_hw : (int, int)
        The input's height and width: the pads of ``same`` are resolved for it.
    library : {"numpy", "scipy", "opencv", "torch"}
    command : str
        The convcli command line the program stands for (shown in its docstring).
    source : str
        The input file the program's ``__main__`` reads.
    color : {"keep", "gray"}
        ``gray``: the main turns colour into luma first, as ``--color gray`` does.

    Returns
    -------
    str
        The program's text; ``feature_map(x)`` gives the map (a tuple when stacked).

    Raises
    ------
    ConvcliError
        An unknown library, or a geometry that does not fit the input.
    """
    if library not in LIBRARIES:
        msg = f"cannot emit for {library!r}; expected one of {', '.join(EMIT_LIBRARIES)}"
        raise ConvcliError(msg)
    lib = LIBRARIES[library]
    resolved = layout(plan, options, input_hw)
    lines = [
        f'"""The raw feature map of `{command}`, with {lib.title}.',
        "",
        f"convcli's float32 map before value mapping, for a {dims(input_hw)} input",
        "(the pads are resolved for that size). feature_map(x) takes the input as",
        "convcli reads it: float32, (H, W) or (H, W, C).",
        '"""',
        "",
        "import numpy as np",
        *lib.imports,
        "",
    ]
    for step in resolved.steps:
        lines += _weights(step, lib)
    lines += ["", "", *EACH_CHANNEL, ""]
    names = _Names(resolved.steps)
    for key, steps in names.groups.items():
        lines += [*_function(names.names[key], steps, lib), ""]
    lines += [
        "def feature_map(x):",
        f'{INDENT}"""convcli\'s raw map of x{_returns(resolved)}."""',
        *(INDENT + line for line in _feature_map(resolved, names, lib)),
        "",
        "",
    ]
    return "\n".join([*lines, *_main(source, color)]) + "\n"
