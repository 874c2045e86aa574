"""Fixtures shared by several test files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Shared, loaded machines: no per-example deadline, and slow data generation is not a failure.
settings.register_profile("convcli", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("convcli")


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    """A 7x7 text matrix of integers 0-9 (rows of space-separated numbers)."""
    path = tmp_path / "grid.txt"
    path.write_text("\n".join(" ".join(str((r * 7 + c) % 10) for c in range(7)) for r in range(7)))
    return path
