"""The HTML report in headless Chromium: it loads with no console message, and every
chart is drawn (its colour's pixels are on the screenshot).

Needs a Chromium binary (Debian's ``chromium``, installed by .ci/run with apt-get):
without one the tests skip, saying so, except where ``Z6_REQUIRE_SYSTEM_TOOLS`` is set (CI), where they fail.
Pillow reads the screenshot (a test dependency). The screenshot and the page are kept in
``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import z6
from z6.report import summary_document, write_html
from z6.report._html import COLORS
from conftest import REPO
from test_report import XSS, _hostile_scenario

pytestmark = pytest.mark.live  # starts Chromium

CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if path), None)


@pytest.fixture(autouse=True)
def _require_chromium() -> None:
    if CHROMIUM is None:
        if os.environ.get("Z6_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("no Chromium binary on PATH, and CI must render the report: "
                        "add `apt-get install -y chromium` to .ci/run")
        pytest.skip("no Chromium binary on PATH (apt-get install chromium); CI runs these tests")

ARTIFACTS = REPO / "test-artifacts"
# Chromium prints each console message (console.* calls and uncaught errors) on
# stderr with --enable-logging=stderr, as "...:INFO:CONSOLE:12] "text", source: ...".
CONSOLE = re.compile(r"CONSOLE[(:]\d*\)?:?\d*\]\s*(.*)")
WIDTH, HEIGHT = 1000, 3800


def _load(page, png, profile) -> tuple[list[str], str]:
    """Load ``page`` in headless Chromium and save a screenshot; return its console
    messages and the DOM it built."""
    done = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--window-size={WIDTH},{HEIGHT}",
         f"--screenshot={png}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert png.exists(), f"Chromium wrote no screenshot (exit {done.returncode}):\n{done.stderr[-2000:]}"
    return [m.group(1) for m in map(CONSOLE.search, done.stderr.splitlines()) if m], done.stdout


def _pixels_of(image: np.ndarray, hex_colour: str, tolerance: int = 10) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.count_nonzero(np.all(np.abs(image.astype(int) - rgb) <= tolerance, axis=-1)))


def test_the_console_check_sees_errors(tmp_path):
    # The check below must be able to fail: a page that logs and throws is caught.
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('z6-control'); undefined_fn();</script>")
    messages, _ = _load(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("z6-control" in m for m in messages) and any("undefined_fn" in m for m in messages), messages


@pytest.mark.slow
def test_the_report_renders_in_chromium(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page, png = ARTIFACTS / "report.html", ARTIFACTS / "report.png"
    png.unlink(missing_ok=True)
    write_html(page, summary_document(z6.run_scenario(_hostile_scenario())))
    messages, dom = _load(page, png, tmp_path / "profile")
    assert messages == []
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[:2] == (HEIGHT, WIDTH)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 100          # not blank
    # Each chart's colour: far more pixels than its 12x12 legend swatch.
    for series, colour in COLORS.items():
        assert _pixels_of(image, colour) > 500, series
    # The hostile name is text in the DOM Chromium built, never an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and XSS not in dom.split('id="z6-summary"')[0]
