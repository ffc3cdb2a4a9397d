"""Run one stage: a subprocess with its own log file, exit status and wall time.

At a terminal a live spinner shows the stage and its elapsed time; in CI logs (not a TTY)
the output is line-oriented: a start line, a heartbeat every minute, an end line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from .results import Stage

HEARTBEAT_SECONDS = 60
_console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    _console.print(message, markup=False)


@contextmanager
def progress(label: str):
    """Tell a person what is running and for how long."""
    started = time.monotonic()
    if _console.is_terminal:
        with _console.status(label) as status:
            stop = threading.Event()

            def tick():
                while not stop.wait(1):
                    status.update(f"{label} ({time.monotonic() - started:.0f} s)")

            ticker = threading.Thread(target=tick, daemon=True)
            ticker.start()
            try:
                yield
            finally:
                stop.set()
        return
    say(f"==> {label}")
    stop = threading.Event()

    def heartbeat():
        while not stop.wait(HEARTBEAT_SECONDS):
            say(f"... {label}: still running after {time.monotonic() - started:.0f} s")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()


def run_stage(name: str, argv: list[str], cwd: Path, env: dict[str, str], out_dir: Path) -> Stage:
    """Run argv to completion; never raises for a non-zero exit (the caller decides)."""
    log_relative = Path("logs") / f"{name}.log"
    log_path = out_dir / log_relative
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log, progress(f"stage {name}"):
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
