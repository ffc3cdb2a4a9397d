"""Run one stage: a subprocess with its own log file, exit status and wall time.

At a terminal a rich progress bar shows the stage, how far along it is and its ETA (from
the stage's duration in an earlier run, kept in stage-durations.json in the output
directory; for the test stage from the files done so far). In CI logs (not a TTY) the output
is line-oriented: a start line, a line per finished test file, a heartbeat with the ETA
every 5 minutes (every minute when there is no estimate), an end line.

Streaming (`--stream` or EMSCRIPTEN_PYTHON_STREAM=1, what the Buildbot steps use): each
stage's output is also copied to stdout, line by line, as it is written to its log file,
and there is no heartbeat, so a CI system's no-output timeout sees a hung stage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from .. import cancel
from ..durable import atomic_write, fault_point
from ..errors import ResultsError
from ..results.model import BAD_FILE_OUTCOMES, Stage
from ..results.validation import is_seconds, load_json
from ..untrusted import actions_safe

HEARTBEAT_SECONDS = 60
STREAM_ENV = "EMSCRIPTEN_PYTHON_STREAM"
FOLLOW_SECONDS = 0.2
# soft_wrap: a line is printed as it is, never broken at the console's width. Without a
# terminal (a CI log) rich assumes 80 columns (or $COLUMNS) and would break paths and
# test ids across lines, which log viewers and grep then see as two lines.
_console = Console(stderr=True, highlight=False, soft_wrap=True)
_stream = [False]


def set_streaming(on: bool) -> None:
    _stream[0] = on


def streaming() -> bool:
    return _stream[0] or os.environ.get(STREAM_ENV, "") not in ("", "0")


def say(message: str) -> None:
    # Stage messages quote test names, paths and error text from the build: inert for a runner.
    _console.print(actions_safe(message, multiline=True), markup=False)


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


HEARTBEAT_CI_SECONDS = 300
STAGE_DURATIONS = "stage-durations.json"


def _stage_durations(out_dir: Path) -> dict:
    """stage-durations.json, or {} when it is missing or refused: --out sits next to the
    checkout, where a PR's code ran, so it is read through the shared checks of untrusted JSON."""
    try:
        known = load_json(out_dir / STAGE_DURATIONS)
    except ResultsError:
        return {}
    return known if isinstance(known, dict) else {}


def expected_duration(out_dir: Path, name: str) -> float | None:
    """How long stage `name` took when it last succeeded in this output directory."""
    value = _stage_durations(out_dir).get(name)
    return float(value) if is_seconds(value) else None


def remember_duration(out_dir: Path, name: str, duration: float) -> None:
    """Kept next to test-durations.json, apart from results.json (a new run replaces that)."""
    path = out_dir / STAGE_DURATIONS
    known = {key: value for key, value in _stage_durations(out_dir).items() if is_seconds(value)}
    known[name] = round(duration, 1)
    try:
        atomic_write(path, json.dumps(known, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Tracker:
    """What a stage has done so far and how long it should still take (no I/O, no threads).

    A build stage knows how long it took last time (`expected`); a test stage knows how many
    files it has and is told about each finished one (`file_done`).
    """

    def __init__(self, label: str, *, expected: float | None = None, total: int | None = None,
                 clock=time.monotonic):
        self.label, self.expected, self.total, self.clock = label, expected, total, clock
        self.started = clock()
        self.outcomes: dict[str, str | None] = {}   # per file: a later report replaces an earlier one

    @property
    def done(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        return sum(outcome in BAD_FILE_OUTCOMES for outcome in self.outcomes.values())

    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self) -> float | None:
        """Seconds left: from the earlier run's duration, else from the files' pace so far."""
        elapsed = self.elapsed()
        if self.total:
            if not self.done:
                return None
            return elapsed / self.done * max(0, self.total - self.done)
        if self.expected:
            return max(0.0, self.expected - elapsed)
        return None

    def file_done(self, name: str, outcome: str | None) -> str:
        self.outcomes[name] = outcome
        width = len(str(self.total or self.done))
        line = (f"[{self.done:>{width}}/{self.total or '?'}] {name} {outcome or 'done'}"
                f" ({self.failed} failed so far, {_clock(self.elapsed())} elapsed")
        eta = self.eta()
        return line + (f", about {_clock(eta)} left)" if eta is not None else ")")

    def heartbeat(self) -> str:
        eta = self.eta()
        parts = [f"... {self.label}: {_clock(self.elapsed())} elapsed"]
        if self.total:
            parts.append(f"{self.done}/{self.total} files, {self.failed} failed")
        if eta is not None:
            parts.append(f"about {_clock(eta)} left" + (f" (last run: {_clock(self.expected)})"
                                                        if self.expected and not self.total else ""))
        elif not self.total:
            parts.append("no earlier run to estimate from")
        return ", ".join(parts)

    def start_line(self) -> str:
        if self.total:
            return f"==> {self.label}"
        known = self.expected and self.expected >= 1      # "took 0:00:00" says nothing
        return f"==> {self.label}" + (f" (last run took {_clock(self.expected)})" if known else "")


class _Live:
    """A rich progress bar at a terminal: bar + ETA for a stage, files done/failed for tests."""

    def __init__(self, tracker: Tracker):
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.tracker = tracker
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[eta]}"), console=_console, transient=True)
        self.task = self.progress.add_task(tracker.label, total=tracker.total or tracker.expected,
                                           detail="", eta="")

    def refresh(self) -> None:
        tracker, eta = self.tracker, self.tracker.eta()
        if tracker.total:
            completed, detail = tracker.done, f"{tracker.done}/{tracker.total} files, {tracker.failed} failed"
        elif tracker.expected:
            # Time-based: never shows 100 % before the stage is really done.
            completed, detail = min(tracker.elapsed(), tracker.expected * 0.99), ""
        else:
            completed, detail = None, ""
        self.progress.update(self.task, completed=completed, detail=detail,
                             eta=f"ETA {_clock(eta)}" if eta is not None else "")


@contextmanager
def progress(label: str, *, expected: float | None = None, total: int | None = None):
    """Tell a person what is running, how far along it is and how long it should still take.

    At a terminal: a rich progress bar (time-based with `expected`, the stage's duration in
    an earlier run; file-based with `total`, the test files). In a CI log (no terminal):
    a start line, one line per finished test file, and a heartbeat with the ETA every
    HEARTBEAT_CI_SECONDS (every HEARTBEAT_SECONDS when there is nothing else to show).
    Streaming (--stream): the stage's own output is the sign of life; no heartbeat.
    Yields the Tracker; call `tracker.file_done(name, outcome)` as files finish (any thread).
    """
    tracker = Tracker(label, expected=expected, total=total)
    report_file = [lambda line: None]
    lock = threading.Lock()
    original = tracker.file_done

    def file_done(name: str, outcome: str | None) -> str:
        with lock:
            line = original(name, outcome)
            report_file[0](line)
        return line

    tracker.file_done = file_done
    if _console.is_terminal and not streaming():
        live = _Live(tracker)
        report_file[0] = lambda line: live.refresh()
        with live.progress, _every(1, live.refresh):
            yield tracker
        return
    say(tracker.start_line())
    if streaming():
        yield tracker
        return
    report_file[0] = say
    interval = HEARTBEAT_CI_SECONDS if (total or expected) else HEARTBEAT_SECONDS
    with _every(interval, lambda: say(tracker.heartbeat())):
        yield tracker


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


_silence = [None]


def set_silence_timeout(seconds: float | None) -> None:
    """--silence-timeout: a build stage whose log stays the same this long is killed and fails."""
    _silence[0] = seconds


def _run_watched(name: str, argv: list[str], cwd: Path, env: dict[str, str], log, log_path: Path) -> int:
    """The stage's command in its own process group (registered for a cancel), killed with
    everything it started when its log has not grown for --silence-timeout seconds: a hung
    make fails here, as a failed stage, before a CI system's no-output timeout cancels it."""
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    limit, size, quiet_since = _silence[0], -1, time.monotonic()
    try:
        with cancel.registered(process.pid):
            while True:
                try:
                    return process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
                grown = log_path.stat().st_size
                if grown != size:
                    size, quiet_since = grown, time.monotonic()
                elif limit and time.monotonic() - quiet_since > limit:
                    _kill_group(process)
                    log.write(f"\n[emscripten-python] {name}: no output for {limit:.0f} s; killed it and "
                              f"everything it started (--silence-timeout)\n")
                    log.flush()
                    return process.returncode
    except BaseException:
        _kill_group(process)
        raise


def _kill_group(process: subprocess.Popen) -> None:
    cancel.kill_group(process.pid)
    process.wait()


def run_stage(name: str, argv: list[str], cwd: Path, env: dict[str, str], out_dir: Path) -> Stage:
    """Run argv to completion; never raises for a non-zero exit (the caller decides)."""
    log_relative = Path("logs") / f"{name}.log"
    log_path = out_dir / log_relative
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    fault_point(f"stage {name}")
    with open(log_path, "w") as log, progress(f"stage {name}", expected=expected_duration(out_dir, name)), \
            follow(log_path):
        log.write(f"$ cd {cwd}\n$ {' '.join(argv)}\n")
        log.flush()
        try:
            returncode = _run_watched(name, argv, cwd, env, log, log_path)
        except OSError as exc:
            log.write(f"cannot start: {exc}\n")
            returncode = 127
    duration = round(time.monotonic() - started, 3)
    stage = Stage(name=name, status="succeeded" if returncode == 0 else "failed", duration=duration,
                  returncode=returncode, log=str(log_relative), command=argv)
    if returncode == 0:
        remember_duration(out_dir, name, duration)
    say(f"<== stage {name} {stage.status} in {duration:.1f} s (log: {log_path})")
    sys.stderr.flush()
    return stage
