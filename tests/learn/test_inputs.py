"""What explain and shape read: text matrices, .npy files, images, sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.errors import GeometryError, ImageError
from convcli.learn.inputs import input_shape, load_input, parse_matrix, shape_of


def test_parse_matrix_errors() -> None:
    assert parse_matrix("1,2\n3 4\n# note\n").tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ImageError, match=r"^m.txt: line 2 has 1 values; expected 2 like line 1$"):
        parse_matrix("1 2\n3", "m.txt")
    with pytest.raises(ImageError, match=r"^m.txt: line 1: 'x' is not a number$"):
        parse_matrix("1 x", "m.txt")
    with pytest.raises(ImageError, match=r"^m.txt: no numbers found"):
        parse_matrix("# nothing", "m.txt")
    with pytest.raises(ImageError, match="NaN or infinite"):
        parse_matrix("1 nan", "m.txt")


def test_load_input_kinds(tmp_path: Path) -> None:
    text = tmp_path / "m.txt"
    text.write_text("1 2\n3 4\n")
    npy = tmp_path / "m.npy"
    np.save(npy, np.arange(6).reshape(2, 3))
    png = tmp_path / "m.png"
    Image.fromarray(np.full((3, 5, 3), 200, dtype=np.uint8)).save(png)
    assert load_input(text).values.tolist() == [[1, 2], [3, 4]]
    assert load_input(npy).values.shape == (2, 3)
    image = load_input(png)
    assert image.values.shape == (3, 5)
    assert image.note == "colour turned gray (BT.601 luma)"
    with pytest.raises(ImageError, match="no such file"):
        load_input(tmp_path / "missing.txt")
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 3)))
    with pytest.raises(
        ImageError, match=r"expected a 2-D array of numbers; got shape \(2, 2, 3\)"
    ):
        load_input(tmp_path / "c.npy")


def test_a_gray_image_has_no_note(tmp_path: Path) -> None:
    png = tmp_path / "g.png"
    Image.fromarray(np.full((2, 4), 7, dtype=np.uint8)).save(png)
    loaded = load_input(png)
    assert loaded.values.tolist() == [[7.0] * 4] * 2
    assert (loaded.kind, loaded.note) == ("image", "")


def test_shapes_of_files_and_sizes(tmp_path: Path) -> None:
    npy = tmp_path / "m.npy"
    np.save(npy, np.zeros((4, 5, 3)))
    png = tmp_path / "m.png"
    Image.fromarray(np.full((3, 5, 3), 200, dtype=np.uint8)).save(png)
    assert shape_of(str(png)) == ((3, 5, 3), f"{png} (header only)")
    assert shape_of(str(npy)) == ((4, 5, 3), str(npy))
    assert input_shape(npy) == (4, 5, 3)
    assert shape_of("224x224x3") == ((224, 224, 3), "size")
    assert shape_of("480X640") == ((480, 640, 1), "size")
    assert shape_of("480×640×3") == ((480, 640, 3), "size")


@pytest.mark.parametrize("size", ["5x", "224x224x3x2", "7 x 7", "7×"])
def test_a_malformed_size_gets_the_size_message(size: str) -> None:
    with pytest.raises(GeometryError, match=r"is not HxW or HxWxC \(e\.g\. 224x224x3\)$"):
        shape_of(size)


def test_neither_a_file_nor_a_size(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"^nope\.png: no such file; expected an image"):
        shape_of("nope.png")
    with pytest.raises(ImageError, match=r": is a folder; expected an image, \.npy"):
        shape_of(str(tmp_path))


def test_an_animated_image_says_which_frame_is_shown(tmp_path: Path) -> None:
    frames = [Image.new("L", (5, 3), 40 * i) for i in range(4)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=50)
    image = load_input(tmp_path / "a.gif")
    assert image.note == "frame 0 of 4"
    assert image.values.tolist() == [[0.0] * 5] * 3
