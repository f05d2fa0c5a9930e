"""The insights page as a browser draws it: headless Chromium's screenshot shows the tables, the histogram
and the misconception map's coloured cells (the way tests/grader/reports draws the feedback page)."""
from __future__ import annotations

import pytest

from grader.reports.insights import HISTOGRAM_COLOUR, MISTAKE, render_html
from tests.grader.reports.test_html_in_chromium import CHROMIUM, HEADER, has_cjk_font, screenshot, tofu


def _near(px, colour, tolerance=6):
    return all(abs(p - q) <= tolerance for p, q in zip(px, colour))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium to draw the page (Debian: apt-get install chromium)")
def test_the_page_renders_with_its_tables_histogram_and_map(insights, tmp_path):
    from PIL import Image

    page, png = tmp_path / "insights.html", tmp_path / "insights.png"
    page.write_text(render_html(insights.to_dict()), encoding="utf-8")
    r = screenshot(page, png)
    assert r.returncode == 0 and png.is_file(), r.stderr[-2000:]
    pixels = list(Image.open(png).convert("RGB").get_flattened_data())
    bars = tuple(int(HISTOGRAM_COLOUR[i:i + 2], 16) for i in (1, 3, 5))
    header = sum(_near(px, HEADER, 3) for px in pixels)
    histogram = sum(_near(px, bars) for px in pixels)
    # a map cell of 2 students in 9: the mistake's red at about 34% over white
    share = 0.15 + 0.85 * 2 / 9
    cell = tuple(round(255 + (c - 255) * share) for c in MISTAKE)
    cells = sum(_near(px, cell, 8) for px in pixels)
    assert header > 5000, f"{header} pixels of table header"
    assert histogram > 3000, f"{histogram} pixels of histogram bars"
    assert cells > 500, f"{cells} pixels of the map's coloured cells"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium to draw the page (Debian: apt-get install chromium)")
@pytest.mark.skipif(CHROMIUM is not None and not has_cjk_font(),
                    reason="needs a font with Chinese glyphs (Debian: apt-get install fonts-noto-cjk)")
def test_chinese_names_on_the_page_are_drawn_as_glyphs_not_boxes(insights, tmp_path):
    """A class whose students have Chinese names (and so might their code's comments): every Chinese
    character of the page is drawn by a font that has it."""
    import json

    text = json.dumps(insights.to_dict(), ensure_ascii=False)
    for student, name in (("ann", "张安"), ("ben", "李本"), ("cat", "王凯")):
        text = text.replace(f'"{student}"', f'"{name}"')
    page = render_html(json.loads(text))
    assert "张安" in page
    verdict = tofu(page, tmp_path)
    assert verdict["chars"] >= 6 and verdict["tofu"] == [], verdict
