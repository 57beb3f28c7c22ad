"""Every page of the documentation fits a 1,280 px wide browser window.

No code block, diagram, table or notebook output scrolls sideways, the page itself does
not, and every screenshot shows at its own size (one image pixel per CSS pixel), in
headless Chromium at 1280x900, the width of a common laptop screen.

The HTML is built once for the session with Sphinx into a temporary folder (about 15 s,
tests/conftest.py), or taken from ``CCPANDAS_DOCS_HTML``, a build made before (``make
docs`` writes ``docs/_build/html``). It needs the system Chromium and the ``playwright`` package, as
the browser test does: without them it skips, saying which is missing, except in CI
(``CI=true``), where a missing piece is a failure.

Pages written in the docs keep code and diagrams within 88 characters a line; notebook
outputs and program output marked ``:class: wrap`` wrap instead (docs/_static/layout.css).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("CCPANDAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the CI container runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WINDOW = {"width": 1280, "height": 900}

#: Every page built from docs/: the guides, the notebooks and Sphinx's own pages. The
#: source listings of ``_modules/`` (viewcode) show the package's code at its own line
#: length (100) and are left out.
PAGES = sorted(
    [p.stem + ".html" for p in DOCS.glob("*.md")]
    + ["notebooks/" + p.stem + ".html" for p in (DOCS / "notebooks").glob("*.ipynb")]
    + ["genindex.html", "py-modindex.html", "search.html"]
)

#: In the page: what scrolls sideways, what sticks out of the text column (a code block,
#: table, image or notebook output wider than the column, which may be cut off rather
#: than scroll), and screenshots shown scaled. Each is [what, its start, its width, the
#: room]. Furo lets tables and definition terms reach a few pixels past the column: a
#: block sticks out when it passes the column by more than 8 px.
FIND_OVERFLOW = """() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) {
        problems.push(["the page scrolls sideways", "", doc.scrollWidth, doc.clientWidth]);
    }
    const article = document.querySelector("article");
    const right = article.getBoundingClientRect().right;
    const text = (el) => (el.textContent || el.getAttribute("src") || "").trim().slice(0, 60);
    const name = (el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
    for (const el of article.querySelectorAll("*")) {
        const style = getComputedStyle(el);
        const scrolls = ["auto", "scroll"].includes(style.overflowX)
            || ["PRE", "TABLE"].includes(el.tagName);
        if (scrolls && el.scrollWidth > el.clientWidth + 1) {
            problems.push([`${name(el)} scrolls sideways`, text(el), el.scrollWidth,
                           el.clientWidth]);
        }
    }
    const blocks = "pre, table, img, svg, div.highlight, div.cell_output, div.table-wrapper";
    for (const el of article.querySelectorAll(blocks)) {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > right + 8) {
            problems.push([`${name(el)} sticks out of the text column`, text(el),
                           Math.round(box.right), Math.round(right)]);
        }
    }
    for (const img of article.querySelectorAll("img")) {
        const raster = !/[.]svg([?#]|$)/.test(img.getAttribute("src") || "");
        if (raster && img.naturalWidth && img.clientWidth !== img.naturalWidth) {
            problems.push(["screenshot not at its own size", text(img), img.clientWidth,
                           img.naturalWidth]);
        }
    }
    return problems;
}"""


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the docs layout test must run in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def html(docs_html: Path) -> Path:
    """The built HTML (tests/conftest.py: ``CCPANDAS_DOCS_HTML`` or one build a session)."""
    return docs_html


@pytest.fixture(scope="module")
def page(html: Path) -> Iterator[Any]:
    """One Chromium tab, 1280x900, for every page."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser.new_page(viewport=WINDOW)
        finally:
            browser.close()


def test_every_page_is_checked() -> None:
    """The list of pages follows docs/: a page added there is checked too."""
    assert "overview.html" in PAGES and "notebooks/03-interactive-panel.html" in PAGES
    assert len(PAGES) == len(set(PAGES)) >= 15


@pytest.mark.parametrize("name", PAGES)
def test_page_fits_1280px(name: str, html: Path, page: Any) -> None:
    path = html / name
    assert path.exists(), f"{name} was not built"
    page.goto(path.as_uri())
    page.wait_for_load_state("load")  # images and fonts too
    problems = page.evaluate(FIND_OVERFLOW)
    assert not problems, f"{name} at 1280 px:\n" + "\n".join(
        f"  {what}: {start!r} ({width} px, room for {room})"
        for what, start, width, room in problems
    )
