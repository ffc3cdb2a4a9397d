"""Helpers of the status tests (not in conftest.py: every test folder has a `conftest`
module, and importing one by that name may find another folder's)."""

from __future__ import annotations

import glob
import http.client
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import urllib.error
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


def _as_postgres(command: list[str]) -> list[str]:
    # The server refuses to run as root; as any other user it runs as that user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_cluster():
    """A throwaway PostgreSQL cluster (Debian's package) in a temporary directory, for a
    session: yields `postgresql+psycopg://postgres@127.0.0.1:PORT`."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    require_system(initdbs[-1] if initdbs else "/usr/lib/postgresql/VERSION/bin/initdb", "postgresql")
    bindir = os.path.dirname(initdbs[-1])
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    home = tempfile.mkdtemp(prefix="emscripten-python-pg-")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data, port = os.path.join(home, "data"), free_port()
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(home, "log"), "-o", options,
                                 "-w", "-t", "60", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def new_database(server: str) -> str:
    """The URL of a new, empty database on the cluster at `server`."""
    import psycopg

    name = f"status_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


# Answers cut short: a server busy on a loaded machine may close a connection mid-answer.
# Every request here is a GET, so it is simply asked again.
TORN = (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError,
        BrokenPipeError, TimeoutError)
ATTEMPTS = 5
READY_WITHIN = 300.0   # seconds: only a server that never says it is ready fails; a slow one is waited for


def http_get(url: str, timeout: float = 60.0) -> tuple[int, bytes]:
    """(status, body) of a GET; an HTTP error status is an answer, a torn answer is asked again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (*TORN, urllib.error.URLError) as exc:
            torn = isinstance(exc, TORN) or isinstance(getattr(exc, "reason", None), TORN)
            if not torn or attempt == ATTEMPTS:
                raise
        time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


@contextmanager
def status_server(db_url: str, command: tuple[str, ...] = (sys.executable, "-m", "emscripten_python.status"),
                  **popen_options):
    """`status serve` over db_url on a port of its choosing (--port 0: no race for a free
    port); yields its base URL once the server says it is listening, however long that takes
    on a loaded machine. Its output is drained all along (a full pipe would stop it).
    command: how `status` is started (an installed `emscripten-python status` for the release
    tests); popen_options: its cwd and env."""
    server = subprocess.Popen([*command, "serve", "--db", db_url, "--host", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen_options)
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def drain() -> None:
        for line in server.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(f"status serve said nothing in {READY_WITHIN:.0f} s: {''.join(output)}") from None
            if line is None:
                raise AssertionError(f"status serve exited ({server.wait()}): {''.join(output)}")
            if found := re.search(r"serving the status page on (http://127\.0\.0\.1:\d+)/", line):
                break
        yield found[1]
    finally:
        server.terminate()
        server.wait(timeout=60)


CHROMIUM = "/usr/bin/chromium"
# No GPU, no sandbox (root in a container), and nothing that phones home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_WAIT_MS = 180_000   # Playwright's waits (launch, navigation, a locator): generous under load


def new_page(browser, **context_options):
    """A page in a new context whose every wait allows for a loaded machine."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(BROWSER_WAIT_MS)
    context.set_default_navigation_timeout(BROWSER_WAIT_MS)
    return context.new_page()


@contextmanager
def chromium_browser():
    """Debian's chromium driven by Playwright (executable_path: no browser download)."""
    require_system(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=BROWSER_WAIT_MS)
        try:
            yield browser
        finally:
            browser.close()
