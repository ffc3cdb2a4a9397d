"""Run regrtest under Node, one process at a time, and survive the runtime dying.

Emscripten runs every test file in ONE node process. When the runtime crashes (measured:
`RuntimeError: memory access out of bounds` inside test_compile after 127 of 481 files),
node exits with no summary and everything after that file is lost. This runner watches
regrtest's progress lines, records the file that was running as `crashed` (with the
JS/wasm error text) or `timed-out` (per-file watchdog), and starts a new node process
with the files after it, until every selected file has a result.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import cancel
from ..errors import TestRunError
from ..results import TestCase, TestFile
from ..stages import streaming
from .junit import file_for_case, read_regrtest_junit
from .regrtest_output import FileAttempt, RegrtestOutput, _Parser, looks_like_crash

# A runtime that dies before running its first file this many times in a row is broken,
# not crashing inside tests: stop instead of marking every file crashed.
MAX_STARTUP_CRASHES = 3


@dataclass
class HostPython:
    """How to start the wasm interpreter: argv prefix before `-m test …`, cwd, environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    entry: Path | None = None     # the built file that must exist (python.js / python.sh)


@dataclass
class TestOptions:
    __test__ = False   # not a pytest test class
    selection: list[str]
    regrtest_args: list[str] = field(default_factory=lambda: ["-v", "-u", "all,-network"])
    file_timeout: float = 1200.0
    stack_unlimited: bool = True


def _raise_stack_limit() -> None:
    # Deep-recursion tests overflow node's native stack with the default 8 MB ulimit.
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    try:
        resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))
    except (ValueError, OSError):
        pass


class _Segment:
    """One node process over a list of files."""

    def __init__(self, host: HostPython, options: TestOptions, files: list[str], junit: Path, log):
        self.host, self.options, self.files, self.junit, self.log = host, options, files, junit, log
        self.parser = _Parser()
        self.started_at: dict[tuple[str, int], float] = {}
        self.ended_at: dict[tuple[str, int], float] = {}
        self.timed_out: str | None = None
        self.line_count = 0

    def run(self) -> tuple[int, RegrtestOutput]:
        argv = [*self.host.argv, "-m", "test", *self.options.regrtest_args,
                "--junit-xml", str(self.junit), *self.files]
        self.log.write(f"$ {' '.join(argv)}\n")
        self.log.flush()
        process = subprocess.Popen(
            argv, cwd=self.host.cwd, env=self.host.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True,
            preexec_fn=_raise_stack_limit if self.options.stack_unlimited else None,
        )
        # Its own session escapes a signal to the CLI's group: a cancel kills it by this registration.
        cancel.register(process.pid)
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(process, stop), daemon=True)
        watchdog.start()
        try:
            for line in process.stdout:
                self.line_count += 1
                self.log.write(line)
                before = self.parser.current
                self.parser.feed(line)
                current = self.parser.current
                if current is not before and current is not None:
                    now = time.monotonic()
                    if before is not None:
                        self.ended_at[(before.name, before.attempt)] = now
                    self.started_at[(current.name, current.attempt)] = now
            returncode = process.wait()
        except BaseException:
            _kill(process)
            raise
        finally:
            cancel.unregister(process.pid)
            stop.set()
            self.log.flush()
        output = self.parser.close()
        if output.attempts:
            last = output.attempts[-1]
            self.ended_at.setdefault((last.name, last.attempt), time.monotonic())
        return returncode, output

    def _watch(self, process: subprocess.Popen, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            current = self.parser.current
            if current is None:
                continue
            started = self.started_at.get((current.name, current.attempt))
            if started and time.monotonic() - started > self.options.file_timeout:
                self.timed_out = current.name
                self.log.write(f"\n[emscripten-python] {current.name} exceeded the per-file timeout "
                               f"of {self.options.file_timeout:.0f} s; killing node\n")
                _kill(process)
                return

    def duration(self, attempt: FileAttempt) -> float | None:
        key = (attempt.name, attempt.attempt)
        if key in self.started_at and key in self.ended_at:
            return round(self.ended_at[key] - self.started_at[key], 3)
        return None


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _file_result(name: str, attempts: list[FileAttempt], output: RegrtestOutput, segment: _Segment,
                 junit_cases: list[TestCase]) -> TestFile:
    first = attempts[0]
    listed = {kind for kind, names in output.lists.items() if name in names}
    outcome = first.outcome() or "passed"
    for kind, mapped in (("failed", "failed"), ("altered the execution environment", "env-changed"),
                         ("altered the execution environment (env changed)", "env-changed"),
                         ("skipped (resource denied)", "resource-denied"), ("skipped", "skipped"),
                         ("run no tests", "no-tests")):
        if kind in listed and first.state is None:
            outcome = mapped
            break
    # A re-run repeats cases in the JUnit file: the last result of each case wins.
    cases = list({case.name: case for case in junit_cases}.values()) or list(first.cases.values())
    result = TestFile(
        name=name, outcome=outcome, duration=segment.duration(first),
        tests_run=first.tests_run or (len(junit_cases) if junit_cases else 0),
        failures=first.failures or sum(c.outcome in ("failed", "error") for c in cases),
        skipped=first.skipped, cases=cases,
    )
    if len(attempts) > 1:
        second = attempts[-1]
        result.attempts = len(attempts)
        failed_again = "failed again" in listed or (second.outcome() or "passed") not in ("passed",)
        result.outcome = "failed" if failed_again else "flaky"
    if result.outcome not in ("passed", "skipped", "no-tests"):
        result.log_excerpt = "\n".join(list(first.tail)[-20:]) or None
    return result


def run_regrtest(host: HostPython, options: TestOptions, out_dir: Path, log=print,
                 label: str = "test") -> list[TestFile]:
    """Run every selected file to a result; the console log goes to out_dir/logs/<label>.log."""
    if not options.selection:
        raise TestRunError("the test selection is empty")
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    (out_dir / "junit").mkdir(exist_ok=True)
    remaining = list(options.selection)
    results: dict[str, TestFile] = {}
    startup_crashes = 0
    # Line-buffered while streaming: the CLI copies this file to stdout as it grows (stages.follow).
    with open(out_dir / "logs" / f"{label}.log", "w", buffering=1 if streaming() else -1) as console:
        segment_no = 0
        while remaining:
            segment_no += 1
            junit_path = out_dir / "junit" / f"{label}-{segment_no}.xml"
            junit_path.unlink(missing_ok=True)
            segment = _Segment(host, options, remaining, junit_path, console)
            log(f"{label} segment {segment_no}: {len(remaining)} file(s) from {remaining[0]}")
            returncode, output = segment.run()
            cancel.check()      # node died of a cancel, not of a crash: start no further segment
            if segment.line_count == 0 and returncode == 0:
                raise TestRunError(
                    "the interpreter exited 0 and printed nothing: stdout vanished (a known "
                    "NODERAWFS breakage, see `emscripten-python toolchain`); refusing to report "
                    "'0 tests, success'")
            junit_cases = read_regrtest_junit(junit_path)
            by_file: dict[str, list[FileAttempt]] = {}
            for attempt in output.attempts:
                by_file.setdefault(attempt.name, []).append(attempt)
            cases_by_file: dict[str, list[TestCase]] = {}
            for case in junit_cases:
                owner = file_for_case(case.name, list(by_file))
                if owner:
                    cases_by_file.setdefault(owner, []).append(case)
            dead = output.unfinished
            for name, attempts in by_file.items():
                if dead is not None and attempts[-1] is dead:
                    continue
                results[name] = _file_result(name, attempts, output, segment, cases_by_file.get(name, []))
            if output.finished and dead is None:
                missing = [name for name in remaining if name not in results and name not in by_file]
                for name in missing:
                    # regrtest expands packages (test_asyncio -> test.test_asyncio.*); the parts
                    # carry the results, the package name itself has none of its own.
                    if not any(r.startswith(f"test.{name}.") for r in results):
                        results[name] = TestFile(name=name, outcome="failed",
                                                 log_excerpt="regrtest finished without a result for this file")
                break
            # The runtime died (or the watchdog killed it) without a summary.
            if dead is None:
                # Died between files: the first file without a result is the one it died on.
                unresolved = [name for name in remaining if name not in results]
                if not unresolved:
                    break
                crashed_name = unresolved[0]
                startup_crashes = startup_crashes + 1 if not output.attempts else 0
                tail = list(output.attempts[-1].tail) if output.attempts else []
                if startup_crashes >= MAX_STARTUP_CRASHES:
                    raise TestRunError(
                        f"the interpreter died {startup_crashes} times before running a test file "
                        f"(rc {returncode}); last output:\n" + "\n".join(tail[-10:] or ["(none)"]))
            else:
                startup_crashes = 0
                crashed_name, tail = dead.name, list(dead.tail)
            crash_text = looks_like_crash(tail) or f"node exited with rc {returncode} and no regrtest summary"
            timed_out = segment.timed_out == crashed_name
            previous = results.get(crashed_name)
            if dead is not None and dead.attempt > 1 and previous is not None:
                previous.outcome = "failed"     # died while being re-run: it had already failed once
                previous.crash = crash_text
            else:
                if dead is not None and output.running_case:
                    dead.cases[output.running_case] = TestCase(
                        name=output.running_case, outcome="error", message="the runtime crashed in this test",
                        traceback=crash_text)
                results[crashed_name] = TestFile(
                    name=crashed_name, outcome="timed-out" if timed_out else "crashed",
                    duration=segment.duration(dead) if dead else None,
                    tests_run=len(dead.cases) if dead else 0,
                    cases=list(dead.cases.values()) if dead else [],
                    crash=None if timed_out else crash_text,
                    log_excerpt="\n".join(tail[-20:]) or None)
            log(f"{crashed_name}: {'timed out' if timed_out else 'runtime crashed'}; "
                f"continuing with the files after it")
            position = _position(options.selection, crashed_name)
            remaining = [name for name in options.selection[position + 1:] if name not in results]
    ordered = [results[name] for name in options.selection if name in results]
    ordered += [result for name, result in results.items() if name not in options.selection]
    return ordered


def _position(selection: list[str], name: str) -> int:
    if name in selection:
        return selection.index(name)
    for index, candidate in enumerate(selection):
        if name.startswith(f"test.{candidate}."):
            return index
    raise TestRunError(f"regrtest ran {name!r}, which is not in the selection")
