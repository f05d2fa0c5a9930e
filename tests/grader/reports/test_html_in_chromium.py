"""The HTML page as a browser draws it: headless Chromium takes a screenshot, which shows the tables and a heatmap.

Set DEEPGRADE_SCREENSHOT=FILE to keep the screenshot (the README's is made this way).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
HEADER = (221, 230, 243)  # the tables' header background (#dde6f3)


def screenshot(page: Path, png: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", f"--user-data-dir={png.parent / 'profile'}",
                           "--force-device-scale-factor=1", "--window-size=1200,1500", f"--screenshot={png}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium to draw the page (Debian: apt-get install chromium)")
def test_the_page_renders_with_its_tables_and_a_heatmap(buggy_page, tmp_path):
    from PIL import Image

    page, png = tmp_path / "report.html", tmp_path / "report.png"
    page.write_text(buggy_page, encoding="utf-8")
    r = screenshot(page, png)
    assert r.returncode == 0 and png.is_file(), r.stderr[-2000:]
    pixels = list(Image.open(png).convert("RGB").get_flattened_data())
    header = sum(all(abs(p - q) <= 3 for p, q in zip(px, HEADER)) for px in pixels)
    heat = sum(r > 150 and g < 70 and b < 80 for r, g, b in pixels)  # coolwarm's red: far out of tolerance
    assert header > 2000, f"{header} pixels of table header"
    assert heat > 2000, f"{heat} pixels of heatmap red"
    keep = os.environ.get("DEEPGRADE_SCREENSHOT")
    if keep:
        shutil.copyfile(png, keep)
