"""The ``explain --html`` page in a real browser: headless Chromium, driven over DevTools.

Chromium runs with ``--remote-debugging-pipe``: the DevTools protocol travels over two
pipes (file descriptors 3 and 4 of the browser), so no port is opened and no package beyond
the standard library is needed. Every read is bounded in time; the browser is closed (and
killed if it does not close) when the module's tests end. Screenshots are kept in
``artifacts/`` at the top of the checkout (ignored by git).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from convcli.cli import cli

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT = 30.0
"""Seconds any one DevTools call may take."""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--remote-debugging-pipe",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)


class Browser:
    """A headless Chromium and one DevTools connection over its pipes."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="convcli-chromium-")
        # fd 3 is what Chromium reads commands from, fd 4 where it writes answers.
        shell = 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null'
        self.proc = subprocess.Popen(
            ["sh", "-c", shell, "sh", executable, *FLAGS, f"--user-data-dir={self.profile}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.buffer = b""
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and wait (bounded) for its answer."""
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\0")
        self.proc.stdin.flush()
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read(deadline)
            if answer.get("id") != self.last_id:
                self.events.append(answer)
                continue
            if "error" in answer:
                msg = f"{method}: {answer['error']}"
                raise RuntimeError(msg)
            result: dict[str, Any] = answer["result"]
            return result

    def wait_event(self, method: str, session: str) -> None:
        """Wait (bounded) for an event of ``session``."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], deadline - time.monotonic())
            if not ready:
                msg = "Chromium did not answer in time"
                raise TimeoutError(msg)
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                msg = "Chromium closed its DevTools pipe"
                raise EOFError(msg)
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def close(self) -> None:
        """Ask Chromium to quit; kill it if it does not, and remove its profile."""
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, TimeoutError, EOFError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()
            shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab showing one file."""

    def __init__(self, browser: Browser, path: Path, width: int) -> None:
        self.browser = browser
        self.target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.call("Target.attachToTarget", targetId=self.target, flatten=True)[
            "sessionId"
        ]
        metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}
        self.call("Emulation.setDeviceMetricsOverride", **metrics)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Page.navigate", url=path.as_uri())
        browser.wait_event("Page.loadEventFired", self.session)
        self.js(
            "new Promise(ok => document.body.dataset.ready ? ok(1)"
            " : document.addEventListener('convcli:ready', () => ok(1)))"
        )

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, self.session, **params)

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        answer = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(answer["exceptionDetails"])
        return answer["result"].get("value")

    def text(self, element_id: str) -> str:
        value: str = self.js(f"document.getElementById('{element_id}').textContent")
        return value

    def cell_centre(self, canvas: str, row: int, col: int) -> tuple[float, float]:
        """Viewport coordinates of a cell of the input or output canvas (scrolled into view)."""
        box = self.js(
            f"(() => {{ const c = document.getElementById('{canvas}');"
            " c.scrollIntoView({block: 'center'}); const b = c.getBoundingClientRect();"
            " return [b.left, b.top, Number(c.dataset.cell)]; })()"
        )
        left, top, cell = box
        return left + (col + 0.5) * cell, top + (row + 0.5) * cell

    def hover(self, canvas: str, row: int, col: int) -> None:
        x, y = self.cell_centre(canvas, row, col)
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def key(self, name: str) -> None:
        codes = {"ArrowRight": 39, "ArrowLeft": 37, "ArrowDown": 40, "ArrowUp": 38}
        for kind in ("rawKeyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=name,
                code=name,
                windowsVirtualKeyCode=codes[name],
            )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def errors(self) -> list[str]:
        """The script errors and console errors the page has raised so far."""
        self.js("0")  # a round trip, so events sent before it have been read
        kinds = {"Runtime.exceptionThrown", "Runtime.consoleAPICalled"}
        return [
            json.dumps(event["params"])[:300]
            for event in self.browser.events
            if event.get("sessionId") == self.session
            and event.get("method") in kinds
            and event["params"].get("type", "error") == "error"
        ]

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    started = Browser(CHROMIUM)
    try:
        assert "Chrome" in started.call("Browser.getVersion")["product"]
        yield started
    finally:
        started.close()


def explain(*args: str) -> list[str]:
    result = CliRunner().invoke(cli, ["explain", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def shown_lines(lines: list[str]) -> dict[str, str]:
    """The ``sum``, ``engine`` and padding-note lines ``explain --at`` printed."""
    keys = {"sum = ": "sum", "engine output[": "engine", "padding cells (": "padnotes"}
    return {key: line for line in lines for start, key in keys.items() if line.startswith(start)}


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    pages: list[Page] = []

    def opener(path: Path, width: int = 1200) -> Page:
        pages.append(Page(browser, path, width))
        return pages[-1]

    yield opener
    for page in pages:
        errors = page.errors()
        page.close()
        assert errors == []


GRID_ARGS = ["-k", "sobel_x", "-m", "circular", "--flip", "-d", "2", "--stride", "1,2"]
LARGE_ARGS = ["-k", "gaussian:sigma=1", "-m", "zeros", "--cval", "3", "-p", "full"]


@pytest.mark.parametrize(
    ("args", "cells"),
    [(GRID_ARGS, [(0, 0), (3, 2), (6, 3)]), (LARGE_ARGS, [(0, 0), (6, 9), (12, 12)])],
    ids=["sobel-circular-flip-dilated-strided", "gaussian-49-taps-zeros-cval"],
)
def test_hovering_a_cell_shows_explain_at(
    args: list[str], cells: list[tuple[int, int]], grid: Path, tmp_path: Path, open_page: Any
) -> None:
    html = tmp_path / "grid.html"
    explain(str(grid), *args, "--html", str(html))
    page = open_page(html)
    for row, col in cells:
        page.hover("output", row, col)
        assert page.text("pos") == f"output[{row}, {col}]"
        expected = shown_lines(explain(str(grid), *args, "--at", f"{row},{col}"))
        shown = {key: page.text(key) for key in ("sum", "engine", "padnotes")}
        assert shown == {"padnotes": "", **expected}
    page.screenshot(f"explain_page_grid_{len(args)}.png")


def test_a_photo_crop_matches_explain_at_on_the_whole_image(
    tmp_path: Path, open_page: Any
) -> None:
    photo = str(ROOT / "sample_images" / "astronaut.png")
    html = tmp_path / "astronaut.html"
    explain(photo, "-k", "sobel_x", "--at", "100,150", "--html", str(html))
    page = open_page(html)
    assert page.text("pos") == "output[100, 150]"  # --at is selected first
    page.hover("output", 10, 20)  # the crop starts at output row 68, col 118
    assert page.text("pos") == "output[78, 138]"
    expected = shown_lines(explain(photo, "-k", "sobel_x", "--at", "78,138"))
    assert page.text("sum") == expected["sum"]
    assert page.text("engine") == expected["engine"]
    shot = page.screenshot("explain_page_astronaut.png")
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_arrow_keys_step_in_stride_order(grid: Path, tmp_path: Path, open_page: Any) -> None:
    html = tmp_path / "grid.html"
    explain(str(grid), *GRID_ARGS, "--at", "1,3", "--html", str(html))
    page = open_page(html)
    for key, position in [("ArrowRight", (2, 0)), ("ArrowLeft", (1, 3)), ("ArrowDown", (2, 3))]:
        page.key(key)
        assert page.text("pos") == f"output[{position[0]}, {position[1]}]"
    expected = shown_lines(explain(str(grid), *GRID_ARGS, "--at", "2,3"))
    assert page.text("sum") == expected["sum"]


def test_play_slides_the_window(grid: Path, tmp_path: Path, open_page: Any) -> None:
    html = tmp_path / "grid.html"
    explain(str(grid), *GRID_ARGS, "--html", str(html))
    page = open_page(html)
    seen = page.js(
        "new Promise(ok => { const seen = [];"
        " document.addEventListener('convcli:select', e => {"
        "   seen.push(e.detail.join(',')); if (seen.length === 3) ok(seen); });"
        " document.getElementById('play').click(); })"
    )
    assert seen == ["0,1", "0,2", "0,3"]
    assert page.text("play") == "❚❚ pause"
    page.js("document.getElementById('play').click()")
    assert page.text("play") == "▶ play"


def test_padding_cells_say_where_they_come_from(
    grid: Path, tmp_path: Path, open_page: Any
) -> None:
    html = tmp_path / "grid.html"
    explain(str(grid), "-k", "box:3", "-m", "reflect", "-p", "2", "--html", str(html))
    page = open_page(html)
    value = lambda r, c: (r * 7 + c) % 10  # noqa: E731  (the grid fixture's formula)
    page.hover("input", 0, 1)  # padded cell (-2, -1): reflect mirrors it onto input (2, 1)
    assert page.text("cellinfo") == (
        f"padded cell (-2,-1) = {value(2, 1)}: padding (reflect), a copy of input (2,1)"
    )
    page.hover("input", 3, 3)
    assert page.text("cellinfo") == f"padded cell (1,1) = {value(1, 1)}: an input value"
    page.hover("input", 10, 10)  # padded cell (8, 8): a copy of input (4, 4)
    assert page.text("cellinfo").endswith(
        f"= {value(4, 4)}: padding (reflect), a copy of input (4,4)"
    )


def test_the_page_fits_a_phone(photo: Path, tmp_path: Path, open_page: Any) -> None:
    html = tmp_path / "photo.html"
    explain(str(photo), "-k", "sobel_x", "--html", str(html))
    page = open_page(html, width=390)
    assert page.js("document.documentElement.scrollWidth") <= 390
    # the programs' long lines scroll inside their box, not the page
    box = page.js(
        "(() => { const p = document.querySelector('#programs details[open] pre');"
        " return [p.scrollWidth, p.clientWidth, p.getBoundingClientRect().right]; })()"
    )
    assert box[0] > box[1]
    assert box[2] <= 390
    page.hover("output", 5, 5)
    assert page.text("pos") == "output[5, 5]"
    page.screenshot("explain_page_phone.png")


def test_the_emit_programs_are_shown_as_text(grid: Path, tmp_path: Path, open_page: Any) -> None:
    source = tmp_path / "g<b>x & y.txt"  # markup in the name: it must stay text
    source.write_bytes(grid.read_bytes())
    html = tmp_path / "grid.html"
    explain(str(source), *GRID_ARGS, "--html", str(html))
    page = open_page(html)
    assert page.js("document.getElementById('code').hidden") is False
    shown = page.js(
        "[...document.querySelectorAll('#programs details')].map(d =>"
        " [d.querySelector('summary').textContent, d.open, d.querySelector('pre').textContent])"
    )
    assert [(label, is_open) for label, is_open, _ in shown] == [
        ("plain NumPy (--emit numpy)", True),
        ("SciPy (--emit scipy)", False),
        ("OpenCV (--emit opencv)", False),
        ("PyTorch (--emit torch)", False),
    ]
    for (_, _, text), library in zip(shown, ["numpy", "scipy", "opencv", "torch"], strict=True):
        result = CliRunner().invoke(cli, ["explain", str(source), *GRID_ARGS, "--emit", library])
        assert result.exit_code == 0, result.output
        assert text == result.output
    assert "g<b>x & y.txt" in shown[0][2]
    assert page.js("document.querySelectorAll('#code b').length") == 0
    assert page.js("document.querySelector('#programs pre').getClientRects().length") > 0


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "box:3", "-m", "zeros", "-p", "1"],  # a 1×1 input: the window is mostly padding
        ["-k", "5", "-p", "valid"],  # a 1×1 kernel, one position
    ],
)
def test_tiny_problems_work(args: list[str], tmp_path: Path, open_page: Any) -> None:
    one = tmp_path / "one.txt"
    one.write_text("7\n")
    html = tmp_path / "one.html"
    explain(str(one), *args, "--html", str(html))
    page = open_page(html)
    page.key("ArrowRight")  # nowhere to go: stays
    assert page.text("pos") == "output[0, 0]"
    assert page.text("sum") == shown_lines(explain(str(one), *args, "--at", "0,0"))["sum"]
