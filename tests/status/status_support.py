"""Helpers of the status tests (not in conftest.py: every test folder has a `conftest`
module, and importing one by that name may find another folder's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest


def require_system(path: str, package: str) -> None:
    """CI must have the system package (scripts/test installs it); elsewhere skip without it."""
    if os.path.exists(path):
        return
    message = f"{path} is missing: install Debian's {package} (apt-get install -y {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


CHROMIUM = "/usr/bin/chromium"
# No GPU, no sandbox (root in a container), and nothing that phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def status_server(db_url: str):
    """`status serve` over db_url on a free loopback port; yields its base URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "emscripten_python.status", "serve", "--db", db_url,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/index.html")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def chromium_browser():
    """Debian's chromium driven by Playwright (executable_path: no browser download)."""
    require_system(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
