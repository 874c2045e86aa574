"""The strip pipeline writes the bytes of the whole-image path, strip after strip.

Each case runs :func:`filter_image` twice on the same file: in strips (small strips, so
an image spans several) and with the strip pipeline switched off; outputs must be equal
bit for bit, and so must the summary records.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from convcli.errors import ImageError
from convcli.io.meta import SaveOptions
from convcli.io.rows import open_rows
from convcli.kernels import Kernel, parse_kernel_spec
from convcli.pipeline import ApplySettings, ConvOptions, build_plan, filter_image, stream
from convcli.pipeline import run as run_module

RNG = np.random.default_rng(10)
PHOTO = RNG.integers(0, 256, (200, 2000, 3), dtype=np.uint8)
RANDOM15 = Kernel("random15", RNG.normal(size=(15, 15)))
RANDOM_EVEN = Kernel("even", RNG.normal(size=(4, 6)), anchor=(1, 4), offset=3.5)


def _save(tmp: Path, kind: str) -> Path:
    if kind == "rgb.png":
        Image.fromarray(PHOTO).save(tmp / kind)
    elif kind == "gray.png":
        Image.fromarray(PHOTO[..., 1]).save(tmp / kind)
    elif kind == "gray16.png":
        Image.fromarray(PHOTO[..., 0].astype(np.uint16) * 257).save(tmp / kind)
    elif kind == "rgba.png":
        Image.fromarray(np.dstack([PHOTO, PHOTO[..., :1]])).save(tmp / kind)
    elif kind == "rgb.jpg":
        Image.fromarray(PHOTO).save(tmp / kind, quality=90)
    elif kind == "rgb.tif":
        tifffile.imwrite(tmp / kind, PHOTO, photometric="rgb", rowsperstrip=7)
    elif kind == "gray16.tif":
        tifffile.imwrite(tmp / kind, PHOTO[..., 0].astype(np.uint16) * 257, rowsperstrip=9)
    elif kind == "rgb16.tif":
        deep = PHOTO.astype(np.uint16) * 251
        tifffile.imwrite(tmp / kind, deep, photometric="rgb", tile=(32, 64), compression="zlib")
    elif kind == "float.tif":
        values = PHOTO[..., 2].astype(np.float32) / 255 - 0.25
        tifffile.imwrite(tmp / kind, values, photometric="minisblack")
    return tmp / kind


def _run(tmp: Path, source: Path, out: str, settings: ApplySettings, strips: bool) -> dict:
    target = tmp / ("strips" if strips else "whole") / out
    target.parent.mkdir(exist_ok=True)
    result = filter_image(str(source), [str(target)], [_format(out)], settings)
    record = result.record()
    record.pop("ms")
    record["output"] = record["outputs"] = None
    for item in record["maps"]:
        item["output"] = None
    return {"record": record, "pixels": _decoded(target), "bytes": target.read_bytes()}


def _format(name: str) -> str:
    suffix = name.rsplit(".", 1)[1]
    return {"tif": "tiff", "jpg": "jpeg"}.get(suffix, suffix)


def _decoded(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".tif":
        return tifffile.imread(path)
    with Image.open(path) as im:
        return np.asarray(im)


@pytest.fixture
def small_strips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One tile quantum per strip; records how many strips each image took."""
    monkeypatch.setattr(stream, "STRIP_BYTES", 1)
    counts: list[int] = []

    def counting(real):  # type: ignore[no-untyped-def]
        def count(*args, **kwargs):  # type: ignore[no-untyped-def]
            n = 0
            for item in real(*args, **kwargs):
                n += 1
                yield item
            counts.append(n)

        return count

    # a pass of statistics (strips), and the pass that maps (shared_strips)
    monkeypatch.setattr(stream, "strips", counting(stream.strips))
    monkeypatch.setattr(stream, "shared_strips", counting(stream.shared_strips))
    return counts


def _compare(tmp, monkeypatch, counts, kind, specs, out="o.png", mapping="auto", **kw):  # type: ignore[no-untyped-def]
    source = _save(tmp, kind)
    combine = kw.pop("combine", None)
    color = kw.pop("color", "keep")
    alpha = kw.pop("alpha_mode", "keep")
    plan = build_plan(specs, combine=combine)
    settings = ApplySettings(plan, ConvOptions(**kw), color, alpha, mapping)
    streamed = _run(tmp, source, out, settings, strips=True)
    if _streams(kind, out, mapping, color):
        assert counts, "the image should be filtered in strips"
        assert counts[-1] > 1, "the image should be filtered in several strips"
    else:
        assert not counts, "this case goes the whole-image way"
    with monkeypatch.context() as m:
        m.setattr(run_module, "filter_in_strips", lambda *a: None)
        whole = _run(tmp, source, out, settings, strips=False)
    assert streamed["record"] == whole["record"]
    assert streamed["pixels"].dtype == whole["pixels"].dtype
    np.testing.assert_array_equal(streamed["pixels"], whole["pixels"])
    return streamed


def _streams(kind: str, out: str, mapping: str, color: str) -> bool:
    """Whether strips are taken: integer images, files of pixels (PNG/TIFF in strips;
    JPEG/WebP/BMP encoded whole at the end), no luma."""
    pixels = out in ("o.png", "o.tif", "o.jpg", "o.webp", "o.bmp") and mapping != "raw"
    return pixels and kind != "float.tif" and color != "luma"


K = parse_kernel_spec
CASES = [
    ("rgb.png", ["box:3"], {}),
    ("rgb.png", ["gaussian:sigma=2"], {"padding_mode": "symmetric"}),
    ("rgb.png", ["sobel"], {}),
    ("rgb.png", ["sobel"], {"stride": 2, "padding_mode": "circular"}),
    ("rgb.png", ["sobel_x", "sobel_y"], {"combine": "max", "dilation": 2}),
    ("rgb.png", [RANDOM15], {"padding_mode": "zeros", "cval": 30.0}),
    ("rgb.png", [RANDOM15], {"method": "fft", "padding_mode": "replicate"}),
    ("rgb.png", [RANDOM15], {"method": "separable", "flip": True}),
    ("rgb.png", [RANDOM_EVEN], {"method": "banded", "stride": (3, 1)}),
    ("rgb.png", [RANDOM_EVEN], {"method": "direct", "padding": "valid", "dilation": (2, 3)}),
    ("rgb.png", ["box:5"], {"padding": "full", "stride": (1, 2), "padding_mode": "reflect"}),
    ("rgb.png", ["emboss"], {"padding": ((4, 0), (2, 7)), "padding_mode": "circular"}),
    ("rgb.png", ["sobel"], {"color": "gray"}),
    ("gray.png", ["prewitt"], {}),
    ("gray16.png", ["gaussian:sigma=1.5"], {}),
    ("rgba.png", ["box:3"], {"alpha_mode": "drop"}),
    ("rgb.jpg", ["sharpen"], {}),
    ("rgb.tif", ["box:3"], {}),
    ("rgb.tif", ["sobel"], {"stride": 2}),
    ("rgb16.tif", ["gaussian:sigma=2"], {}),
    ("gray16.tif", ["laplacian"], {"stride": (1, 3)}),
    ("float.tif", ["sobel_x"], {}),
]


@pytest.mark.parametrize(("kind", "names", "options"), CASES)
@pytest.mark.parametrize("mapping", ["auto", "offset", "normalize"])
def test_strips_write_the_whole_image_bytes(
    tmp_path, monkeypatch, small_strips, kind, names, options, mapping
):  # type: ignore[no-untyped-def]
    specs = [K(n) if isinstance(n, str) else n for n in names]
    out = "o.tif" if kind.endswith(".tif") else "o.png"
    _compare(tmp_path, monkeypatch, small_strips, kind, specs, out, mapping, **dict(options))


@pytest.mark.parametrize("mapping", ["clip", "abs", "raw"])
@pytest.mark.parametrize("out", ["o.npy", "o.tif", "o.png"])
def test_every_mapping_and_output(tmp_path, monkeypatch, small_strips, mapping, out):  # type: ignore[no-untyped-def]
    if mapping == "raw" and out == "o.png":
        pytest.skip("raw values go to .tif or .npy only")
    specs = [K("laplacian")] if out != "o.tif" or mapping == "raw" else [K("sobel_y")]
    kind = "float.tif" if mapping == "raw" and out == "o.tif" else "rgb.png"
    _compare(tmp_path, monkeypatch, small_strips, kind, specs, out, mapping)


@pytest.mark.parametrize(
    ("kind", "spec", "out", "options"),
    [
        ("rgb.png", "sharpen", "o.jpg", {}),
        ("rgb.jpg", "gaussian:sigma=2", "o.jpg", {"stride": 2}),  # EXIF-free JPEG in and out
        ("rgb.tif", "sobel", "o.webp", {}),
        ("gray.png", "laplacian", "o.bmp", {"padding_mode": "zeros"}),
        ("rgba.png", "box:5", "o.jpg", {}),  # alpha weighted, then dropped (with the warning)
        ("rgba.png", "box:5", "o.webp", {"alpha_mode": "filter"}),  # alpha kept
        ("rgb16.tif", "box:3", "o.jpg", {}),  # 16-bit input written as 8-bit (noted)
    ],
)
def test_encoded_formats_gather_strips_into_the_whole_image_bytes(
    tmp_path, monkeypatch, small_strips, kind, spec, out, options
):  # type: ignore[no-untyped-def]
    """JPEG, WebP and BMP files are encoded whole, from pixels gathered strip by strip."""
    streamed = _compare(tmp_path, monkeypatch, small_strips, kind, [K(spec)], out, **options)
    whole = (tmp_path / "whole" / out).read_bytes()
    assert streamed["bytes"] == whole
    assert streamed["record"]["maps"][0]["alpha"] is (kind == "rgba.png" and out == "o.webp")


def test_a_bank_mixing_methods_keeps_short_strips(tmp_path: Path) -> None:
    """The direct method's numbers do not depend on the tiles (its quantum is 1), so a bank
    of a direct and a separable kernel is cut at the separable one's quantum, not at their
    least common multiple (85 and 84 rows made strips of 7,140 rows)."""
    pixels = RNG.integers(0, 256, (3000, 1024, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "wide.tif", pixels, photometric="rgb")
    image = open_rows(str(tmp_path / "wide.tif"), max_pixels=None, drop_alpha=False)
    assert image is not None
    mixed = build_plan([K("sharpen"), K("blur")])  # auto: direct, then separable
    alone = build_plan([K("blur")])
    rows = stream.strip_rows(mixed, image, ConvOptions(), 3)
    assert rows == stream.strip_rows(alone, image, ConvOptions(), 3) < 1000
    image.close()


@pytest.mark.parametrize("kind", ["rgb.png", "rgba.png"])
def test_stacked_maps_each_match(tmp_path, monkeypatch, small_strips, kind) -> None:  # type: ignore[no-untyped-def]
    source = _save(tmp_path, kind)
    plan = build_plan([K("sobel_x"), K("box:5")])
    settings = ApplySettings(plan, ConvOptions(stride=2))
    outs = {True: [], False: []}  # type: ignore[var-annotated]
    for strips in (True, False):
        folder = tmp_path / str(strips)
        names = [str(folder / f"{n}.png") for n in plan.map_names]
        with monkeypatch.context() as m:
            if not strips:
                m.setattr(run_module, "filter_in_strips", lambda *a: None)
            filter_image(str(source), names, ["png", "png"], settings)
        outs[strips] = [_decoded(Path(n)) for n in names]
    assert small_strips == [2, 2]  # the robust gain's statistics pass, then the maps: 2 strips
    for a, b in zip(outs[True], outs[False], strict=True):
        np.testing.assert_array_equal(a, b)


def test_what_goes_the_whole_image_way(tmp_path: Path) -> None:
    assert open_rows(str(_save(tmp_path, "rgba.png")), max_pixels=None, drop_alpha=False) is None
    rgba = tmp_path / "rgba.tif"  # premultiplied: Pillow divides it back, so it is not as read
    tifffile.imwrite(rgba, np.dstack([PHOTO, PHOTO[..., :1]]), photometric="rgb", extrasamples=[1])
    assert open_rows(str(rgba), max_pixels=None, drop_alpha=False, keep_alpha=True) is None
    gray16 = tmp_path / "la16.tif"  # 16-bit gray + alpha: the whole-image path is Pillow's
    tifffile.imwrite(gray16, PHOTO[..., :2].astype(np.uint16) * 257, extrasamples=[2])
    assert open_rows(str(gray16), max_pixels=None, drop_alpha=False, keep_alpha=True) is None
    image = open_rows(str(_save(tmp_path, "rgb.png")), max_pixels=None, drop_alpha=False)
    assert image is not None
    chain = build_plan([K("box:3"), K("sobel_x")], chain=True)
    assert not stream.can_stream(chain, image, ConvOptions())
    stack = build_plan([K("box:3"), K("box:5")])
    assert not stream.can_stream(stack, image, ConvOptions(padding="valid"))
    assert stream.can_stream(stack, image, ConvOptions())


def test_the_bomb_guard_counts_pixels_held(tmp_path: Path, small_strips: list[int]) -> None:
    source = _save(tmp_path, "rgb.tif")  # 200 x 2000 = 400,000 pixels
    settings = ApplySettings(build_plan([K("box:3")]), max_pixels=100_000)
    result = filter_image(str(source), [str(tmp_path / "o.tif")], ["tiff"], settings)
    assert result.maps[0].shape == (200, 2000, 3)  # strips of a few rows: under the limit
    assert small_strips == [5]
    message = (  # JPEG is encoded whole: its 400,000 pixels are held, with a strip's rows
        f"{source}: filtering it in strips holds 484000 pixels at once, over the limit of "
        "100000 pixels (a guard against decompression bombs); pass --max-pixels 484000 or "
        "more if you trust this file"
    )
    with pytest.raises(ImageError, match=re.escape(message)):
        filter_image(str(source), [str(tmp_path / "o.jpg")], ["jpeg"], settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.tif", "rgb.tif"]
    # two processes sharing the strips hold a strip's rows each: 2 x 42,000 + 400,000
    shared = replace(settings, processes=2)
    with pytest.raises(ImageError, match="holds 568000 pixels at once"):
        filter_image(str(source), [str(tmp_path / "o.jpg")], ["jpeg"], shared)


PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("source_kind", ["png", "tif", "jpg"])
@pytest.mark.parametrize("out", ["o.png", "o.tif", "o.jpg"])
@pytest.mark.parametrize("stride", [1, 2])
def test_strips_keep_icc_and_dpi(tmp_path, monkeypatch, small_strips, source_kind, out, stride):  # type: ignore[no-untyped-def]
    source = tmp_path / f"meta.{source_kind}"
    Image.fromarray(PHOTO).save(source, icc_profile=PROFILE, dpi=(300, 200))
    settings = ApplySettings(build_plan([K("sobel")]), ConvOptions(stride=stride))
    streamed = _run(tmp_path, source, out, settings, strips=True)
    assert small_strips
    assert small_strips[-1] > 1
    with monkeypatch.context() as m:
        m.setattr(run_module, "filter_in_strips", lambda *a: None)
        whole = _run(tmp_path, source, out, settings, strips=False)
    assert streamed["record"] == whole["record"]
    np.testing.assert_array_equal(streamed["pixels"], whole["pixels"])
    metas = []
    for folder in ("strips", "whole"):
        with Image.open(tmp_path / folder / out) as im:
            metas.append((im.info.get("icc_profile"), im.info.get("dpi")))
    assert metas[0] == metas[1]  # PNG holds dots per metre: a DPI of 300 reads 299.9994
    assert metas[0][0] == PROFILE
    expected = (pytest.approx(300 / stride, rel=1e-3), pytest.approx(200 / stride, rel=1e-3))
    assert metas[0][1] == expected


def test_scale_bias_and_robust_auto_match(tmp_path, monkeypatch, small_strips) -> None:  # type: ignore[no-untyped-def]
    source = _save(tmp_path, "rgb.png")
    for scale, bias, spec in (
        (1.5, 10.0, "box:5"),
        (None, 0.0, "log:sigma=2"),
        (0.3, -4.0, "laplacian"),
    ):
        plan = build_plan([K(spec)])
        settings = ApplySettings(plan, ConvOptions(), scale=scale, bias=bias)
        streamed = _run(tmp_path, source, "o.png", settings, strips=True)
        with monkeypatch.context() as m:
            m.setattr(run_module, "filter_in_strips", lambda *a: None)
            whole = _run(tmp_path, source, "o.png", settings, strips=False)
        assert streamed["record"] == whole["record"]
        np.testing.assert_array_equal(streamed["pixels"], whole["pixels"])
    assert len(small_strips) == 4  # the robust auto gain takes a statistics pass first
    assert min(small_strips) > 1


def test_what_else_goes_the_whole_image_way(tmp_path, small_strips) -> None:  # type: ignore[no-untyped-def]
    source = _save(tmp_path, "rgb.png")
    plan = build_plan([K("box:3")])
    for settings, out, fmt in (
        (ApplySettings(plan, color="luma"), "a.png", "png"),
        (ApplySettings(plan), "b.gif", "gif"),
        (ApplySettings(plan, save=SaveOptions(compression="deflate")), "c.tif", "tiff"),
        (ApplySettings(build_plan([K("box:3"), K("sobel_x")], chain=True)), "d.png", "png"),
    ):
        filter_image(str(source), [str(tmp_path / out)], [fmt], settings)
    assert small_strips == []


def _alpha_plane(kind: str) -> np.ndarray:
    """Clear, partly clear and opaque regions (so some windows see nothing)."""
    alpha = np.full(PHOTO.shape[:2], 255, np.uint8)
    if kind != "opaque":
        alpha[:, :300] = 0
        alpha[40:90, 500:1300] = RNG.integers(0, 256, (50, 800))
        alpha[120:, 1500:] = 128
    return alpha


@pytest.mark.parametrize(
    ("kind", "names", "options"),
    [
        ("rgba", ["box:3"], {}),
        ("rgba", ["gaussian:sigma=2"], {"alpha_mode": "filter", "padding_mode": "symmetric"}),
        ("rgba", ["sobel"], {"stride": 2, "padding_mode": "circular"}),
        ("rgba", ["sobel_x", "sobel_y"], {"combine": "max", "dilation": 2}),
        ("rgba", [RANDOM15], {"padding": 9, "padding_mode": "reflect"}),
        ("rgba", [RANDOM_EVEN], {"stride": (3, 2), "padding": "valid"}),  # offset: not weighted
        ("rgba", [RANDOM_EVEN], {"alpha_mode": "filter", "padding": ((6, 1), (0, 5))}),
        ("opaque", ["box:5"], {}),
        ("opaque", ["laplacian"], {"alpha_mode": "filter", "stride": (1, 3)}),
        ("la", ["prewitt"], {"padding_mode": "zeros", "cval": 40.0}),
        ("la", ["box:3"], {"alpha_mode": "filter"}),
    ],
)
@pytest.mark.parametrize("out", ["o.png", "o.tif"])
@pytest.mark.parametrize("stored", ["png", "tif", "tif16"])
def test_alpha_images_stream_the_whole_image_bytes(
    tmp_path, monkeypatch, small_strips, kind, names, options, out, stored
):  # type: ignore[no-untyped-def]
    if stored == "tif16" and kind == "la":
        pytest.skip("16-bit gray + alpha TIFF goes the whole-image way (Pillow reads it)")
    colour = PHOTO[..., 1] if kind == "la" else PHOTO
    pixels = np.dstack([colour, _alpha_plane(kind)])
    source = tmp_path / f"{kind}.{stored[:3]}"
    if stored == "png":
        Image.fromarray(pixels, "LA" if kind == "la" else "RGBA").save(source)
    else:
        if stored == "tif16":  # colour off the 8-bit grid; alpha 0 stays clear, 255 opaque
            pixels = pixels.astype(np.uint16) * 257
            pixels[..., :-1] -= (pixels[..., :-1] > 0) * np.uint16(7)
        photometric = "minisblack" if kind == "la" else "rgb"
        tifffile.imwrite(source, pixels, photometric=photometric, extrasamples=[2], rowsperstrip=5)
    specs = [K(n) if isinstance(n, str) else n for n in names]
    options = dict(options)
    combine = options.pop("combine", None)
    alpha = options.pop("alpha_mode", "keep")
    for mapping in ("auto", "normalize"):
        small_strips.clear()
        settings = ApplySettings(build_plan(specs, combine=combine), ConvOptions(**options),
                                 "keep", alpha, mapping)  # fmt: skip
        streamed = _run(tmp_path, source, out, settings, strips=True)
        assert small_strips
        assert small_strips[-1] > 1, "the image should be filtered in several strips"
        with monkeypatch.context() as m:
            m.setattr(run_module, "filter_in_strips", lambda *a: None)
            whole = _run(tmp_path, source, out, settings, strips=False)
        assert streamed["record"] == whole["record"]
        assert streamed["pixels"].shape[-1] == (2 if kind == "la" else 4)
        np.testing.assert_array_equal(streamed["pixels"], whole["pixels"])
