"""Is the report readable on a laptop and on a phone, in a real browser?

Loads the finished fixture project's ``results/report.html`` (and, when ``INFLAMED_REPORT_HTML``
names a file, that report too, e.g. the default review's) in headless Chromium at 1366 x 768 and
390 x 844 CSS pixels; asserts the page does not overflow horizontally and the console shows no
error; keeps full-page screenshots as artefacts of the run (``INFLAMED_SCREENSHOTS=<dir>``, else
the test's temporary folder). Skipped, with the reason, where ``playwright`` (PyPI) or Debian's
``chromium`` is absent: neither is a dependency of the pipeline.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("INFLAMED_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"laptop": (1366, 768), "phone": (390, 844)}
#: Pages taller than this (CSS px) get a first-screen screenshot only.
MAX_SHOT_PX = 100_000
#: A header that reads like an artefact key: snake_case, or a bare key part such as "ci lb".
KEY_LIKE = r"_|\b(lb|ub|log10|pval|zval)\b|^[a-z][a-z]"  # "k" is a symbol, "study" a key

pytestmark = pytest.mark.workflow


def _browser_or_skip():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    return sync_api


def _check(html: Path, shots: Path, tag: str) -> None:
    sync_api = _browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for name, (width, height) in WIDTHS.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                errors: list[str] = []
                page.on(
                    "console",
                    lambda m, out=errors: out.append(m.text) if m.type == "error" else None,
                )
                page.on("pageerror", lambda e, out=errors: out.append(str(e)))
                page.goto(html.resolve().as_uri(), wait_until="load")
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                wide = page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                                     && !e.closest('.table-wrap'))
                        .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
                )
                # Tables fit a laptop screen: none scrolls inside its own box at 1366 px (at phone
                # width they reflow into cards). Headers are words, never artefact keys.
                scrolling = page.evaluate(
                    """() => [...document.querySelectorAll('.table-wrap')]
                        .filter(w => w.scrollWidth > w.clientWidth + 1)
                        .map(w => (w.querySelector('table') || {}).id + ': ' + w.scrollWidth
                                  + ' > ' + w.clientWidth)"""
                )
                headers = page.evaluate(
                    "() => [...new Set([...document.querySelectorAll('th')]"
                    ".map(t => t.textContent.trim()))]"
                )
                # A large review's page (a sortable table of 50,000 rows) is too tall to capture
                # whole: its first screen is kept, and every assertion below still runs.
                tall = page.evaluate("() => document.documentElement.scrollHeight") > MAX_SHOT_PX
                if not tall:
                    page.screenshot(path=str(shots / f"{tag}-{name}.png"), full_page=True)
                page.screenshot(path=str(shots / f"{tag}-{name}-first-screen.png"))
                page.close()
                assert overflow <= 0, f"{tag} at {width} px overflows by {overflow} px: {wide}"
                assert not errors, f"{tag} at {width} px: console errors {errors}"
                assert not scrolling, f"{tag} at {width} px: tables wider than the page {scrolling}"
                keys = [h for h in headers if re.search(KEY_LIKE, h)]
                assert not keys, f"{tag}: table headers that are artefact keys, not words: {keys}"
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("INFLAMED_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_fixture_report_fits_laptop_and_phone(finished_project: Path, shots: Path) -> None:
    _check(finished_project / "results" / "report.html", shots, "fixture")


def test_named_report_fits_laptop_and_phone(shots: Path) -> None:
    named = os.environ.get("INFLAMED_REPORT_HTML")
    if not named:
        pytest.skip("set INFLAMED_REPORT_HTML=<report.html> to check a built report")
    _check(Path(named), shots, Path(named).parent.name or "report")


def test_sortable_table_sorts_on_a_click_offline(tmp_path: Path) -> None:
    """The large-review per-study table sorts by the clicked header (numbers as numbers, "n/a"
    last, a second click reverses) with inline script only and no console error."""
    import pandas as pd

    from inflamed.report.html import REPORT_CSS, html_table
    from inflamed.report.large import SORT_SCRIPT

    frame = pd.DataFrame(
        {"Study": ["B 2001", "A 2000", "C 2002", "D 2003"], "Effect": ["10", "-1.5", "n/a", "9"]}
    )
    page_html = tmp_path / "sortable.html"
    page_html.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{REPORT_CSS}</head><body>'
        f'<div class="inflamed-report">{html_table(frame, table_id="t", sortable=True)}'
        f"{SORT_SCRIPT}</div></body></html>",
        encoding="utf-8",
    )
    sync_api = _browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(
                "**/*",
                lambda r: r.abort() if not r.request.url.startswith("file:") else r.continue_(),
            )
            page.goto(page_html.resolve().as_uri(), wait_until="load")

            def column(i: int) -> list[str]:
                return page.eval_on_selector_all(
                    "#t tbody tr", f"rows => rows.map(r => r.cells[{i}].textContent)"
                )

            page.click("#t thead th:nth-child(2)")
            assert column(1) == ["-1.5", "9", "10", "n/a"]
            page.click("#t thead th:nth-child(2)")
            assert column(1) == ["n/a", "10", "9", "-1.5"]
            page.click("#t thead th:nth-child(1)")
            assert column(0) == ["A 2000", "B 2001", "C 2002", "D 2003"]
            assert page.get_attribute("#t thead th:nth-child(1)", "aria-sort") == "ascending"
            assert not errors, errors
        finally:
            browser.close()
