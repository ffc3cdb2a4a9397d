"""Helpers of the status tests (not in conftest.py: every test folder has a `conftest`
module, and importing one by that name may find another folder's)."""

from __future__ import annotations

import os
import socket
import time
import urllib.request

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
