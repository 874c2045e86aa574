"""Fixtures shared by several test files."""

from __future__ import annotations

import subprocess
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


SAMPLE_IMAGES = Path(__file__).resolve().parents[1] / "sample_images"


@pytest.fixture(scope="session")
def sample_files() -> list[Path]:
    """The files of ``sample_images/`` that belong to the project (git-tracked).

    Outputs a user wrote there (the README's first example writes beside its input) are
    not the project's: tests must not depend on what was left in the working tree.
    Outside a git checkout (an sdist) every file counts.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "."],
            cwd=SAMPLE_IMAGES,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return sorted(p for p in SAMPLE_IMAGES.iterdir() if p.is_file())
    return sorted(SAMPLE_IMAGES / name for name in listed.decode().split("\0") if name)
