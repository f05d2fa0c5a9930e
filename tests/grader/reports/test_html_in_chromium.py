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


def has_cjk_font() -> bool:
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True) \
        if shutil.which("fc-list") else None
    return bool(found and found.returncode == 0 and found.stdout.strip())


# Run in the page: every distinct CJK character of its text is drawn alone on a canvas in the page's own font and
# compared with what the font draws for a character no font has (U+FFFF's neighbour in the private use area): a
# character drawn like that, or drawn as nothing, is a box ("tofu"), not a glyph. The verdict goes into the DOM.
TOFU_PROBE = """
<script>
(() => {
  const font = getComputedStyle(document.body).font;
  const draw = (ch) => {
    const c = document.createElement("canvas"); c.width = 40; c.height = 40;
    const g = c.getContext("2d"); g.font = font.replace(/\\d+(\\.\\d+)?px/, "28px"); g.fillStyle = "#000";
    g.fillText(ch, 4, 32);
    return Array.from(g.getImageData(0, 0, 40, 40).data.filter((_, i) => i % 4 === 3)).join(",");
  };
  const missing = draw("\\uF8FF"), blank = draw(" ");
  const chars = [...new Set(document.body.innerText.match(/CHARS/g) || [])];
  const tofu = chars.filter((ch) => { const d = draw(ch); return d === missing || d === blank; });
  const out = document.createElement("pre"); out.id = "tofu-probe";
  out.textContent = JSON.stringify({chars: chars.length, tofu: tofu, lang: document.documentElement.lang});
  document.body.appendChild(out);
})();
</script>
"""


def dump_dom(page: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)


def tofu(page_html: str, tmp_path: Path, chars: str = r"[\u4e00-\u9fff]") -> dict:
    """What the probe found: how many distinct characters matching ``chars`` the page shows, which are boxes."""
    import json
    import re
    page = tmp_path / "page.html"
    page.write_text(page_html.replace("</body>", TOFU_PROBE.replace("CHARS", chars) + "</body>"), encoding="utf-8")
    r = dump_dom(page, tmp_path / "profile")
    found = re.search(r'<pre id="tofu-probe">(.*?)</pre>', r.stdout, re.S)
    assert r.returncode == 0 and found, (r.stdout[-1000:], r.stderr[-2000:])
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium to draw the page (Debian: apt-get install chromium)")
@pytest.mark.skipif(CHROMIUM is not None and not has_cjk_font(),
                    reason="needs a font with Chinese glyphs (Debian: apt-get install fonts-noto-cjk)")
def test_a_chinese_page_draws_every_chinese_character_as_a_glyph_not_a_box(buggy_page_zh, tmp_path):
    verdict = tofu(buggy_page_zh, tmp_path)
    assert verdict["lang"] == "zh-CN"
    assert verdict["chars"] > 40, verdict  # the page is in Chinese: headings, statuses, diagnoses
    assert verdict["tofu"] == []


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium to draw the page (Debian: apt-get install chromium)")
def test_the_probe_sees_a_box_where_no_font_has_the_character(tmp_path):
    """The check above can fail: characters no font has (the private use area's) are found as boxes."""
    page = "<!DOCTYPE html><html lang=\"zh-CN\"><body><p>\ue000\ue001\ue002 \u68af\u5ea6</p></body></html>"
    assert tofu(page, tmp_path, r"[\ue000-\ue0ff]") == {"chars": 3, "tofu": ["\ue000", "\ue001", "\ue002"],
                                                       "lang": "zh-CN"}
