"""The run page's delta and the compare page in a real browser, at 390 px and at desktop width.

EP_SCREENSHOTS=DIR also saves the screenshots there (docs/_static holds the checked-in ones:
`EP_SCREENSHOTS=docs/_static pytest tests/status/test_compare_browser.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store
from emscripten_python.results.model import TestCase
from status_factory import make_run
from status_support import chromium_browser, new_page, status_server

KNOWN = {"test_os": "failed", "test_io": "failed", "test_pathlib": "failed", "test_shutil": "failed"}
LONG = "test.test_asyncio.test_base_events.BaseEventLoopWithSelectorTests.test_run_forever_keyboard_interrupt"


@pytest.fixture
def served(sqlite_url):
    """3.13 × node: ten runs with the known Emscripten failures, then one that breaks two
    more tests (one with a very long name) and crashes in test_compile."""
    store = Store(sqlite_url)
    runs = []
    for i in range(10):
        files = {"test_math": "passed", "test_json": "passed", "test_compile": "passed", **KNOWN}
        runs.append(make_run(hours=i, commit=f"{i:02d}" * 20, files=files, duration=600 + 10 * i))
    head = make_run(hours=10, commit="ab" * 20, duration=700,
                    files={"test_math": "failed", "test_json": "passed", "test_compile": "crashed",
                           "test_asyncio.test_base_events": "failed", **KNOWN})
    for test_file, seconds in zip(head.test_files, (4.2, 1.4, 31.0, 12.5, 2.1, 1.9, 1.6, 1.5)):
        test_file.duration = seconds      # test_compile ran 30 s before it crashed
    for test_file in head.test_files:
        if test_file.name == "test_asyncio.test_base_events":
            test_file.cases[-1] = TestCase(LONG, "failed", 0.1, "AssertionError: KeyboardInterrupt not raised")
    runs.append(head)
    for run in runs:
        ingest(store, run)
    store.close()
    with status_server(sqlite_url) as url:
        yield url, runs


@pytest.fixture
def browser():
    with chromium_browser() as browser:
        yield browser


@pytest.mark.parametrize("width", [390, 1280])
def test_run_and_compare_pages_fit_the_screen_and_show_the_delta(served, browser, tmp_path, width):
    url, runs = served
    base, head = runs[-2], runs[-1]
    page = new_page(browser, viewport={"width": width, "height": 900})
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    out = Path(os.environ.get("EP_SCREENSHOTS") or tmp_path)
    for name, path in (("run", f"/run/{head.run_id}.html"), ("compare", f"/compare/{base.run_id}/{head.run_id}.html")):
        page.goto(url + path)
        verdict = page.locator("p.verdict").inner_text()
        assert verdict.startswith("3 new failures vs 3.13 @0909090 (1 crash)"), verdict
        assert "4 known failures unchanged" in verdict
        delta = page.locator("ul.delta").first.inner_text()
        assert "test_compile" in delta and "RuntimeError: memory access out of bounds" in delta
        assert LONG in page.content()
        # Nothing overflows sideways: the page is as wide as the screen.
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} page is {scroll} px wide at {width} px"
        page.screenshot(path=str(out / f"status-{name}-{width}.png"), full_page=True)
        assert (out / f"status-{name}-{width}.png").stat().st_size > 10_000
    # The test's history is one click away: the long name links to it.
    page.get_by_text(LONG).first.click()
    page.wait_for_url(f"**/test/{LONG}.html")
    assert "First failed at" in page.content()
    assert not problems, problems
    page.context.close()


def test_every_page_fits_a_390_px_screen(served, browser):
    url, runs = served
    page = new_page(browser, viewport={"width": 390, "height": 900})
    paths = ["/index.html", "/branch/3.13.html", "/crashes.html", "/flaky.html", "/pep11.html",
             f"/run/{runs[0].run_id}.html", f"/compare/{runs[0].run_id}/{runs[-1].run_id}.html",
             "/test/test_os.html", "/runs/3.13/emscripten~20node/index.html"]
    widths = {}
    for path in paths:
        assert page.goto(url + path).status == 200, path
        widths[path] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 390 for width in widths.values()), widths
    page.context.close()
