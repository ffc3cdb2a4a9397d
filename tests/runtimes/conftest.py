"""Tests that drive a real Chromium (Debian's, through Playwright) against stand-in web pages.

Skipped where Chromium or Playwright is missing, except in CI (CI=true), where that fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def chromium() -> str:
    missing = [] if Path(CHROMIUM).exists() else [CHROMIUM]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {', '.join(missing)} (scripts/test installs them)")
        pytest.skip(f"needs {', '.join(missing)}")
    return CHROMIUM
