"""Fixtures shared by several test files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    """A 7x7 text matrix of integers 0-9 (rows of space-separated numbers)."""
    path = tmp_path / "grid.txt"
    path.write_text("\n".join(" ".join(str((r * 7 + c) % 10) for c in range(7)) for r in range(7)))
    return path
