"""End to end in a real browser: Playwright driving Debian's chromium over `status serve`."""

from __future__ import annotations

import os
import struct

import pytest

from emscripten_python.status.ingest import ingest
from emscripten_python.status.store import Store
from status_support import chromium_browser, new_page, status_server
from status_factory import make_run



@pytest.fixture
def served(sqlite_url):
    store = Store(sqlite_url)
    for branch, builder, pattern in (("main", "node", "g" * 12), ("3.14", "node", "ggggrr"),
                                     ("3.14", "browser", "gggggg"), ("3.13", "node", "grgrgg")):
        for i, code in enumerate(pattern):
            files = {"test_math": "passed", "test_os": "passed" if code == "g" else "failed",
                     "test_compile": "crashed" if (branch, i) == ("3.14", 5) else "passed"}
            ingest(store, make_run(branch=branch, builder=builder, hours=i, files=files, duration=600 + 30 * i))
    store.close()
    with status_server(sqlite_url) as url:
        yield url


@pytest.fixture
def page():
    with chromium_browser() as browser:
        page = new_page(browser, viewport={"width": 1280, "height": 900})
        page.problems = []   # console errors (a CSP violation, a broken image) fail the test
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        yield page


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_pages_render_links_work_and_the_overview_screenshot_has_content(served, page, tmp_path):
    response = page.goto(f"{served}/")
    assert response.headers["server"] == "waitress"   # `status serve` is a production WSGI server
    assert response.headers["x-frame-options"] == "DENY"
    assert page.title().startswith("Overview")
    grid = page.locator("table.grid")
    for text in ("main", "3.14", "3.13", "node", "browser", "green for 12 runs", "red for 2 runs"):
        assert text in grid.inner_text()
    # The badges are images the browser actually loaded.
    widths = page.eval_on_selector_all("table.grid img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 3 and all(w > 50 for w in widths)

    shot = tmp_path / "overview.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    width, height = _png_size(data)
    assert width == 1280 and height >= 300 and len(data) > 20_000, (width, height, len(data))
    if os.environ.get("STATUS_SCREENSHOT"):   # how docs/_static/status-overview.png is made
        shot.replace(os.environ["STATUS_SCREENSHOT"])

    # Each click's navigation is waited for: on a loaded machine the old page may still be shown.
    page.click("text=3.14")
    page.wait_for_url("**/branch/3.14.html")
    assert page.locator("svg.chart").count() == 4          # pass rate + duration, per builder
    page.click("summary:has-text('RuntimeError: memory access out of bounds')")   # under "Recent crashes"
    page.locator("details[open] pre:has-text('wasm://wasm')").wait_for()
    page.locator("a[href^='../run/']").first.click()
    page.wait_for_url("**/run/*.html")
    assert page.locator("h1").inner_text().startswith("Run ")
    assert "Stages" in page.inner_text("body")

    page.click("nav >> text=Flaky tests")
    page.wait_for_url("**/flaky.html")
    assert "test_os" in page.inner_text("table")            # 3.13 alternates green/red
    page.click("nav >> text=PEP 11")
    page.wait_for_url("**/pep11.html")
    body = page.inner_text("body")
    assert "last 10 finished builds are all green" in body and "not stable" in body
    page.click("nav >> text=Crashes")
    page.wait_for_url("**/crashes.html")
    assert "test_compile" in page.inner_text("table")
    assert page.problems == []


def test_the_test_history_page_shows_a_bisected_culprit(sqlite_url, page, tmp_path):
    """A test red since its third run, a bisection of it found and one left ambiguous by a commit
    that does not build: chromium renders the culprit, the range, the builds and the time, with
    hostile subject and author shown as text (no script runs: the page has no console errors)."""
    from emscripten_python.status.bisections import record_bisection
    from status_factory import make_bisection, sha, write_bisection

    store = Store(sqlite_url)
    for i in range(6):
        ingest(store, make_run(branch="3.13", builder="emscripten node", hours=i, commit=sha(2 * i),
                               files={"test_math": "passed", "test_os": "failed" if i >= 3 else "passed"},
                               build_url="https://github.com/python/cpython/actions/runs/10"))
    store.close()
    found = make_bisection(subject="gh-4242: os.walk(): follow symlinks <script>alert(1)</script>",
                           author="Ada <ada@example.org>", build_url="https://github.com/python/cpython/actions/runs/11")
    ambiguous = make_bisection(state="inconclusive", culprit=9, skipped=2, builder="emscripten browser",
                               build_url=None, started="2026-11-02T09:30:00+00:00")
    for name, data in (("found.json", found), ("ambiguous.json", ambiguous)):
        record_bisection(write_bisection(data, tmp_path, name), sqlite_url)
    with status_server(sqlite_url) as url:
        page.goto(f"{url}/test/test_os.html")
        table = page.locator("table.bisections")
        text = table.inner_text()
        assert "gh-4242: os.walk(): follow symlinks <script>alert(1)</script>" in text    # as text
        assert "Ada <ada@example.org>" in text and "Ambiguous: one of 3 commits" in text
        assert "4 builds, 4.2 min" in text and "2026-11-01 15:00 UTC" in text
        link = table.locator(f"a[href='https://github.com/python/cpython/commit/{sha(7)}']")
        assert link.inner_text() == sha(7)[:12]
        assert page.locator("table.bisections script").count() == 0
        shot = tmp_path / "test-history-bisection.png"
        page.screenshot(path=str(shot), full_page=True)
    width, height = _png_size(shot.read_bytes())
    assert width == 1280 and height >= 400 and shot.stat().st_size > 20_000, (width, height)
    assert page.problems == []
