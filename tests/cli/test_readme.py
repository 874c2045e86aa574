"""Every command the README shows is run here, and the output it shows must be real.

In the README's ``console`` blocks a line starting with ``$ `` is a command; the lines after
it, up to the next command, are what it prints. Each command runs with bash in a scratch
folder holding a copy of ``sample_images/``, with the installed ``convcli`` first on PATH.
Each printed line shown must appear in what the command really printed (spaces folded);
lines with timings, which change from run to run, are not compared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VARIES = re.compile(r"\d+(\.\d+)? ?(ms|s\b|images/s)|…")


def _console_blocks(text: str) -> list[str]:
    return re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)


def readme_examples() -> list[tuple[str, list[str]]]:
    """The ``(command, shown output lines)`` pairs of the README, in order."""
    examples: list[tuple[str, list[str]]] = []
    for block in _console_blocks(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                examples.append((line[2:], []))
            elif examples and line.strip():
                examples[-1][1].append(line)
    return examples


def _fold(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory, sample_files: list[Path]) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    (folder / "sample_images").mkdir()
    for path in sample_files:  # the project's files only, not what a user left there
        shutil.copy2(path, folder / "sample_images" / path.name)
    return folder


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"], "COLUMNS": "100"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_readme_has_examples() -> None:
    commands = [command for command, _ in readme_examples()]
    assert len(commands) >= 10
    assert any(c.startswith("convcli apply") for c in commands)
    assert any(c.startswith("convcli shape") for c in commands)


@pytest.mark.parametrize(
    ("command", "shown"), readme_examples(), ids=[c for c, _ in readme_examples()]
)
def test_readme_command_runs_as_shown(command: str, shown: list[str], scratch: Path) -> None:
    done = _run(command, scratch)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    printed = _fold(done.stdout + "\n" + done.stderr)
    for line in shown:
        if not VARIES.search(line):
            assert _fold(line) in printed, f"{command}: shown line not printed: {line!r}"


def test_readme_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
