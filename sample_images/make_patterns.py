"""Regenerate the synthetic test patterns in this folder, byte for byte.

Run from anywhere::

    python sample_images/make_patterns.py            # writes next to this script
    python sample_images/make_patterns.py OUT_DIR    # writes into OUT_DIR

Only NumPy and Pillow are used. The PNGs are written without timestamps or other
metadata, so the output is deterministic and equals the committed files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 64
SQUARE = 8  # checkerboard square side, in pixels


def step_edge(size: int = SIZE) -> np.ndarray:
    """Left half black (0), right half white (255): one vertical edge in the middle."""
    image = np.zeros((size, size), dtype=np.uint8)
    image[:, size // 2 :] = 255
    return image


def checkerboard(size: int = SIZE, square: int = SQUARE) -> np.ndarray:
    """Black and white squares, black in the top-left corner."""
    rows, cols = np.indices((size, size)) // square
    return (((rows + cols) % 2) * 255).astype(np.uint8)


def impulse(size: int = SIZE) -> np.ndarray:
    """All black but one white pixel at (size // 2, size // 2): shows the kernel itself."""
    image = np.zeros((size, size), dtype=np.uint8)
    image[size // 2, size // 2] = 255
    return image


def gradient(size: int = SIZE) -> np.ndarray:
    """A horizontal ramp from 0 (left column) to 255 (right column)."""
    ramp = np.round(np.linspace(0, 255, size)).astype(np.uint8)
    return np.tile(ramp, (size, 1))


def gradient16(size: int = SIZE) -> np.ndarray:
    """The same ramp at 16 bits, 0 to 65535: a 16-bit grayscale PNG."""
    ramp = np.round(np.linspace(0, 65535, size)).astype(np.uint16)
    return np.tile(ramp, (size, 1))


def red_disc(size: int = SIZE) -> np.ndarray:
    """An opaque red disc (radius 20) on transparent black: RGBA, for alpha-weighted filtering."""
    rows, cols = np.indices((size, size))
    disc = (rows - size // 2) ** 2 + (cols - size // 2) ** 2 < 20**2
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[disc] = (255, 0, 0, 255)
    return rgba


def grid() -> np.ndarray:
    """A 7x7 integer matrix with a diagonal edge, small enough to follow by hand."""
    rows, cols = np.indices((7, 7))
    matrix: np.ndarray = np.clip(2 * (cols - rows) + 5, 0, 9).astype(np.int64)
    return matrix


PATTERNS: dict[str, Callable[[], np.ndarray]] = {
    "step_edge.png": step_edge,
    "checkerboard.png": checkerboard,
    "impulse.png": impulse,
    "gradient.png": gradient,
    "gradient16.png": gradient16,
    "red_disc.png": red_disc,
}


def grid_text(matrix: np.ndarray) -> str:
    """Rows of space-separated integers, one row per line."""
    return "".join(" ".join(str(int(v)) for v in row) + "\n" for row in matrix)


def write_all(folder: Path) -> list[Path]:
    """Write every pattern and grid.txt into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in PATTERNS.items():
        path = folder / name
        Image.fromarray(make()).save(path, format="PNG", optimize=True)
        written.append(path)
    grid_path = folder / "grid.txt"
    grid_path.write_text(grid_text(grid()), encoding="utf-8", newline="\n")
    written.append(grid_path)
    return written


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    for path in write_all(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
