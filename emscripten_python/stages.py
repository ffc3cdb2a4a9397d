"""Run one stage: a subprocess with its own log file, exit status and wall time.

At a terminal a live spinner shows the stage and its elapsed time; in CI logs (not a TTY)
the output is line-oriented: a start line, a heartbeat every minute, an end line.

Streaming (`--stream` or EMSCRIPTEN_PYTHON_STREAM=1, what the Buildbot steps use): each
stage's output is also copied to stdout, line by line, as it is written to its log file,
and there is no heartbeat, so a CI system's no-output timeout sees a hung stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from .results import Stage

HEARTBEAT_SECONDS = 60
STREAM_ENV = "EMSCRIPTEN_PYTHON_STREAM"
FOLLOW_SECONDS = 0.2
_console = Console(stderr=True, highlight=False)
_stream = [False]


def set_streaming(on: bool) -> None:
    _stream[0] = on


def streaming() -> bool:
    return _stream[0] or os.environ.get(STREAM_ENV, "") not in ("", "0")


def say(message: str) -> None:
    _console.print(message, markup=False)


@contextmanager
def _every(seconds: float, action):
    """Calls action() every `seconds` in a thread while the block runs."""
    stop = threading.Event()

    def loop():
        while not stop.wait(seconds):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def progress(label: str):
    """Tell a person what is running and for how long."""
    started = time.monotonic()
    if _console.is_terminal:
        with _console.status(label) as status, _every(
                1, lambda: status.update(f"{label} ({time.monotonic() - started:.0f} s)")):
            yield
        return
    say(f"==> {label}")
    if streaming():
        yield           # the stage's own output is the sign of life
        return
    with _every(HEARTBEAT_SECONDS, lambda: say(f"... {label}: still running after "
                                              f"{time.monotonic() - started:.0f} s")):
        yield


class _Follower:
    """Copies what is appended to the matching files to stdout, whole lines only."""

    def __init__(self, directory: Path, pattern: str, from_start: bool):
        self.directory, self.pattern = directory, pattern
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, bytes] = {}
        if not from_start:      # what is there already belongs to an earlier command
            for path in directory.glob(pattern):
                self.offsets[path] = path.stat().st_size

    def poll(self, final: bool = False) -> None:
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        for path in sorted(self.directory.glob(self.pattern)):
            try:
                size = path.stat().st_size
                offset = self.offsets.get(path, 0)
                if size < offset:           # truncated and rewritten by a new command
                    offset, self.partial[path] = 0, b""
                if size == offset and not final:
                    continue
                with open(path, "rb") as file:
                    file.seek(offset)
                    data = self.partial.pop(path, b"") + file.read(size - offset)
            except OSError:
                continue
            self.offsets[path] = size
            complete, newline, rest = data.rpartition(b"\n")
            if final and rest:
                complete, newline, rest = data, b"\n", b""
            if rest:
                self.partial[path] = rest
            if newline:
                chunk = complete + newline
                if out is not None:
                    out.write(chunk)
                else:
                    sys.stdout.write(chunk.decode("utf-8", "replace"))
        sys.stdout.flush()


@contextmanager
def follow(path: Path, pattern: str | None = None):
    """While streaming, echo to stdout what is written to `path` (a file), or to the files
    matching `pattern` in the directory `path` (content already there is not repeated)."""
    if not streaming():
        yield
        return
    follower = _Follower(path.parent, path.name, True) if pattern is None else _Follower(path, pattern, False)
    try:
        with _every(FOLLOW_SECONDS, follower.poll):
            yield
    finally:
        follower.poll(final=True)


def run_stage(name: str, argv: list[str], cwd: Path, env: dict[str, str], out_dir: Path) -> Stage:
    """Run argv to completion; never raises for a non-zero exit (the caller decides)."""
    log_relative = Path("logs") / f"{name}.log"
    log_path = out_dir / log_relative
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log, progress(f"stage {name}"), follow(log_path):
        log.write(f"$ cd {cwd}\n$ {' '.join(argv)}\n")
        log.flush()
        try:
            returncode = subprocess.run(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL).returncode
        except OSError as exc:
            log.write(f"cannot start: {exc}\n")
            returncode = 127
    duration = round(time.monotonic() - started, 3)
    stage = Stage(name=name, status="succeeded" if returncode == 0 else "failed", duration=duration,
                  returncode=returncode, log=str(log_relative), command=argv)
    say(f"<== stage {name} {stage.status} in {duration:.1f} s (log: {log_path})")
    sys.stderr.flush()
    return stage
