"""Cancelling a run from outside: SIGTERM / SIGINT end every child, then the CLI records it.

Node runs in its own session (so the per-file watchdog can kill node and everything it
started), which also means a signal sent to the CLI's process group (what Buildbot's worker
does on "stop") never reaches it. So whoever starts such a process registers its group here;
`install()` turns SIGTERM and SIGINT into: kill every registered group, then raise
`Cancelled` in the main thread, which the CLI records in results.json (outcome `cancelled`).

`check()` lets a loop that starts processes (the test runner's segments, its shards) stop
starting new ones once the run is cancelled.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

from .errors import Cancelled

_lock = threading.Lock()
_groups: set[int] = set()
_cancelled = threading.Event()
_reason: list[str] = []


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; one that is gone already is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def register(pgid: int) -> None:
    """A process group to kill on cancel (a child started with start_new_session=True: its pid)."""
    with _lock:
        _groups.add(pgid)
    if _cancelled.is_set():      # started while the cancel was under way
        kill_group(pgid)


def unregister(pgid: int) -> None:
    with _lock:
        _groups.discard(pgid)


@contextmanager
def registered(pgid: int):
    register(pgid)
    try:
        yield
    finally:
        unregister(pgid)


def is_cancelled() -> bool:
    return _cancelled.is_set()


def check() -> None:
    """Raise Cancelled when the run has been cancelled (call before starting more work)."""
    if _cancelled.is_set():
        raise Cancelled(f"cancelled by {_reason[0] if _reason else 'a signal'}")


def cancel(reason: str) -> None:
    """Mark the run cancelled and kill every registered process group (idempotent)."""
    if not _cancelled.is_set():
        _reason.append(reason)
    _cancelled.set()
    with _lock:
        groups = list(_groups)
    for pgid in groups:
        kill_group(pgid)


def _handler(signum, frame):
    name = signal.Signals(signum).name
    first = not _cancelled.is_set()
    cancel(name)
    if first:
        # Raised in the main thread wherever it is waiting; a second signal during the
        # clean-up (Buildbot sends TERM, then KILL after sigtermTime) does not interrupt it.
        raise Cancelled(f"cancelled by {name}")


def install() -> None:
    """SIGTERM and SIGINT cancel the run (main thread only: elsewhere Python cannot set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _handler)


@contextmanager
def restored_afterwards():
    """Put back the SIGTERM/SIGINT handlers of before, and forget any cancel, on leaving."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread():
            for signum, handler in previous.items():
                if handler is not None:
                    signal.signal(signum, handler)
        reset()


def reason() -> str | None:
    return _reason[0] if _reason else None


def reset() -> None:
    """Forget a cancel (tests; one CLI process runs one command)."""
    with _lock:
        _groups.clear()
    _cancelled.clear()
    _reason.clear()
