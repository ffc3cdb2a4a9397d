"""Screenshot of a failed build in the Buildbot web UI (docs/_static/buildbot-failed-build.png).

Not a test: run it to refresh the picture in docs/buildbot.rst.

    .venv/bin/python tests/buildbot/screenshot_failed_build.py docs/_static/buildbot-failed-build.png

It starts the shipped master and a worker on loopback (the integration test's Fleet), forces
a build whose make-host fails with a compiler error (the stand-in driver), opens the build
page in headless Chromium (Debian's /usr/bin/chromium through Playwright), expands the
failed step's log and saves the page.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from fake_cpython import HOLD_ENV  # noqa: E402
from test_integration import Fleet  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def fleet_path(fleet: Fleet) -> tuple[str, str]:
    """The stand-in toolchain's bin and the venv's bin, the first two entries of the fleet's PATH."""
    toolchain_bin, venv_bin = fleet.env["PATH"].split(os.pathsep)[:2]
    return toolchain_bin, venv_bin


def main(out: Path) -> None:
    fleet = Fleet(Path(tempfile.mkdtemp(prefix="ep-screenshot-")))
    toolchain_bin, venv_bin = fleet_path(fleet)
    master_env = fleet.env
    try:
        fleet.start_master()
        fleet.create_worker()
        # The worker gets what its systemd unit would give it (the step logs list it), not the
        # master's settings.
        fleet.env = {"PATH": os.pathsep.join([toolchain_bin, venv_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
                     "HOME": master_env["HOME"], "LANG": "C.UTF-8", HOLD_ENV: master_env[HOLD_ENV],
                     "EMSCRIPTEN_PYTHON_CACHE": master_env["EP_CACHE_DIR"]}
        fleet.start_worker()
        fleet.hold.write_text("fail make-host\n")
        number = fleet.next_number()
        fleet.force()
        build = fleet.finished_build(number)
        fleet.hold.unlink()
        url = f"{fleet.url}#/builders/{fleet.builder_id()}/builds/{number}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url, wait_until="networkidle")
            page.get_by_text("make-host", exact=False).first.wait_for(timeout=30_000)
            # The web UI opens the failed step's stdio by itself: the streamed compiler lines.
            page.get_by_text("fake_broken_symbol", exact=False).first.wait_for(timeout=30_000)
            page.screenshot(path=str(out), full_page=True)
            browser.close()
        print(f"{url}: {build['state_string']} -> {out}")
    finally:
        fleet.stop()
        shutil.rmtree(fleet.root, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/_static/buildbot-failed-build.png"))
