"""Replay a record: recompute an output from its recorded input and compare the bytes.

:func:`load_record` reads and checks a ``<output>.json`` written by ``apply --record``;
:func:`replay` rebuilds the plan and settings from its numbers, filters the input again
(into a temporary folder) and compares the SHA-256 of what comes out with the recorded
one, saying how the two differ when they do.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from convcli.errors import ConvcliError, ExitCode, ImageError
from convcli.geometry import normalize_padding_mode, normalize_pair, resolve_pads
from convcli.io import FORMATS
from convcli.io.meta import DEFAULT_QUALITY, SaveOptions
from convcli.kernels import Kernel, KernelBank
from convcli.pipeline.plan import ConvOptions, FilterPlan, Spec
from convcli.pipeline.record import RECORD_FORMAT, RECORD_VERSION, file_digest
from convcli.pipeline.run import ApplySettings, filter_image


class RecordError(ConvcliError, ValueError):
    """A file that is not a replay record convcli can read."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Replay:
    """The outcome of a replay.

    Attributes
    ----------
    identical : bool
        The recomputed output has the recorded SHA-256.
    output : str
        The output the record describes.
    input : str
        The input filtered again.
    sha256 : str
        The recomputed output's SHA-256.
    detail : str
        How the outputs differ ("" when identical).
    """

    identical: bool
    output: str
    input: str
    sha256: str
    detail: str


def load_record(path: str | Path) -> dict[str, Any]:
    """Read a replay record; a RecordError if it is not one, or from a newer convcli.

    Raises
    ------
    ImageError
        The file cannot be read.
    RecordError
        Not JSON, not a convcli record, or a record version this convcli does not know.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        raise ImageError(msg) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        msg = f"{path}: not a convcli replay record (written by apply --record)"
        raise RecordError(msg)
    version = record.get("version")
    if not isinstance(version, int) or version > RECORD_VERSION:
        msg = (
            f"{path}: record version {version!r} from convcli {record.get('convcli')}; "
            f"this convcli reads version {RECORD_VERSION}: upgrade convcli to replay it"
        )
        raise RecordError(msg)
    return record


def _bad_field(exc: Exception) -> RecordError:
    if isinstance(exc, KeyError):
        return RecordError(f"not a complete replay record: no field {exc.args[0]!r}")
    return RecordError(f"a replay record field is malformed: {exc}")


def _tuple(value: Any) -> Any:
    return tuple(_tuple(v) for v in value) if isinstance(value, list) else value


def _kernel(data: dict[str, Any]) -> Kernel:
    anchor = data.get("anchor")
    return Kernel(data["name"], np.array(data["weights"], dtype=np.float64),
                  anchor=None if anchor is None else (int(anchor[0]), int(anchor[1])),
                  offset=float(data.get("offset", 0.0)))  # fmt: skip


def _unit(data: dict[str, Any]) -> Spec:
    kernels = tuple(_kernel(k) for k in data["kernels"])
    if data.get("combine") is None:
        return kernels[0]
    return KernelBank(data["name"], kernels, data["combine"])


def settings_of(record: dict[str, Any]) -> ApplySettings:
    """The ApplySettings a record was made with (the engine method as it ran)."""
    try:
        plan = record["plan"]
        units = tuple(_unit(u) for u in plan["units"])
        filter_plan = FilterPlan(units, plan["combine"], bool(plan["chain"]), plan["name"])
        o, image, mapping = record["options"], record["image"], record["mapping"]
        methods = {k["method"] for k in record["kernels"]}
        method = methods.pop() if len(methods) == 1 else o["method"]
        options = ConvOptions(
            _tuple(o["stride"]), _tuple(o["padding"]), o["padding_mode"], float(o["cval"]),
            _tuple(o["dilation"]), bool(o["flip"]), method,
        )  # fmt: skip
        _check_options(options)
        encoding = record.get("encoding", {})
        save = SaveOptions(quality=int(encoding.get("quality", DEFAULT_QUALITY)),
                           lossless=bool(encoding.get("lossless", False)),
                           compression=encoding.get("compression", "none"))  # fmt: skip
        return ApplySettings(
            filter_plan, options, image["color"], image["alpha"], mapping["requested"],
            mapping["depth"], image["max_pixels"], scale=mapping.get("requested_scale"),
            bias=float(mapping.get("requested_bias", 0.0)), save=save,
            strip=bool(image.get("strip", False)), frame=image.get("frame"),
        )  # fmt: skip
    except (KeyError, TypeError, IndexError, ValueError, ConvcliError) as exc:
        raise _bad_field(exc) from None


def _check_options(options: ConvOptions) -> None:
    """GeometryError for a stride, dilation, padding or mode no run of apply could have had."""
    normalize_pair(options.stride, "stride")
    normalize_pair(options.dilation, "dilation")
    normalize_padding_mode(options.padding_mode)
    resolve_pads(options.padding, (1, 1), (1, 1), (1, 1), (1, 1))


def _check_input(path: str, recorded: dict[str, Any]) -> None:
    if not Path(path).is_file():
        msg = f"{path}: no such file; give the recorded input with --input"
        raise ImageError(msg)
    found = file_digest(path)
    if found["sha256"] != recorded["sha256"]:
        msg = (
            f"{path}: not the recorded input ({found['bytes']} bytes, sha256 "
            f"{found['sha256'][:12]}…; recorded {recorded['bytes']} bytes, "
            f"{recorded['sha256'][:12]}…)"
        )
        raise ImageError(msg)


def replay(record: dict[str, Any], input_path: str | None = None) -> Replay:
    """Recompute the recorded output and compare it with the record.

    Parameters
    ----------
    record : dict
        From :func:`load_record`.
    input_path : str, optional
        The input, if it moved; else the recorded path.

    Returns
    -------
    Replay

    Raises
    ------
    ImageError
        The input is missing or not the recorded one (its SHA-256 differs).
    RecordError
        A field of the record is missing or malformed.
    """
    settings = settings_of(record)
    recorded_input, output, formats = _files(record)
    source = input_path or str(recorded_input["path"])
    _check_input(source, recorded_input)
    with tempfile.TemporaryDirectory(prefix="convcli-replay-") as folder:
        names = [str(Path(folder) / f"{i}{FORMATS[f].extension}") for i, f in enumerate(formats)]
        filter_image(source, names, formats, settings)
        data = Path(names[int(output["map"])]).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    same = sha == output["sha256"]
    detail = "" if same else _difference(data, output)
    return Replay(same, str(output["path"]), source, sha, detail)


def _files(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The record's input, output and output formats, checked."""
    try:
        recorded_input, output = dict(record["input"]), dict(record["output"])
        formats = [str(o["format"]) for o in record["outputs"]]
        for field in ("path", "sha256", "bytes"):
            recorded_input[field], output[field] = record["input"][field], output[field]
        if output["format"] not in FORMATS or not all(f in FORMATS for f in formats):
            raise ValueError(output["format"])
        if not 0 <= int(output["map"]) < len(formats):
            raise IndexError(output["map"])
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise _bad_field(exc) from None
    return recorded_input, output, formats


def _decode(data: bytes, fmt: str) -> np.ndarray:
    if fmt == "npy":
        return cast(np.ndarray, np.load(io.BytesIO(data), allow_pickle=False))
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def _difference(data: bytes, output: dict[str, Any]) -> str:
    """How the recomputed bytes differ from the recorded output (read back if it is there)."""
    path = Path(str(output["path"]))
    recorded = f"sha256 {output['sha256'][:12]}…"
    if not path.is_file() or file_digest(path)["sha256"] != output["sha256"]:
        return f"the bytes differ from the recorded {recorded} (no such output file to compare)"
    old, new = _decode(path.read_bytes(), output["format"]), _decode(data, output["format"])
    if old.shape != new.shape:
        return f"shape {'×'.join(map(str, new.shape))}, recorded {'×'.join(map(str, old.shape))}"
    diff = np.abs(old.astype(np.float64) - new.astype(np.float64))
    changed = int(np.count_nonzero(diff))
    if not changed:
        return f"the same values in different bytes (encoding or metadata); recorded {recorded}"
    return (
        f"{changed} of {diff.size} samples differ (largest difference {diff.max():g}); "
        f"recorded {recorded}"
    )
