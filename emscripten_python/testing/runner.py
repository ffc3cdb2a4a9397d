"""Run regrtest under Node, one process at a time, and survive the runtime dying.

Emscripten runs every test file in ONE node process. When the runtime crashes (measured:
`RuntimeError: memory access out of bounds` inside test_compile after 127 of 481 files),
node exits with no summary and everything after that file is lost. This runner runs
"segments": one node process over the files that still need a result. Each segment's end is
classified (`classify`), and `RunState.apply` decides what it means and what runs next:

- Finished       regrtest printed its summary: every file has its own verdict.
- DiedIn(a)      the runtime died (or the per-file watchdog killed it) while file `a` was
                 running: `a` is `crashed` (with the JS/wasm error text) or `timed-out`; a
                 death while `a` was being re-run (--rerun) makes it `crashed` too.
- DiedBetween    it died after a file's verdict, before the next file started: nobody is
                 blamed, the files without a result run again in a new segment.
- NeverStarted   it died before any file started: the same files run again; a file that
                 kills the runtime at its start twice in a row is `crashed`.
- Silent         it printed nothing at all: as NeverStarted, but exit code 0 with no output
                 is the known vanished-stdout breakage and an error.
With re-runs on (regrtest's --rerun, -w, ...), a file that failed in a segment that did not
reach regrtest's own re-run phase is re-run afterwards the way that regrtest would have
(`Rerun`), so a file's outcome does not depend on which files shared its node process.
docs/runner.rst lists these guarantees.
"""

from __future__ import annotations

import codecs
import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import cancel
from ..building.host import HostPython
from ..building.stages import streaming
from ..errors import TestRunError
from ..results.model import TestCase, TestFile
from .junit import CaseCounts, JUnitSuite, file_counts, junit_suites_by_file, read_regrtest_junit_suites
from .regrtest_args import RegrtestArgs, read_args, read_items, without
from .regrtest_output import (
    EXCERPT_LINES, LIST_TO_OUTCOME, FileAttempt, RegrtestOutput, RegrtestParser, cap, file_outcome,
)

# A runtime that dies before running its first file this many times in a row is broken,
# not crashing inside tests: stop instead of marking every file crashed.
MAX_STARTUP_CRASHES = 3
# A file before which the runtime died this many times in a row, with nothing of its own
# printed, is the one killing it.
STARTUP_BLAME = 2
# regrtest must not colour its output (3.14+ does when it thinks it may); the parser copes
# with colour anyway.
NO_COLOUR = {"NO_COLOR": "1", "PYTHON_COLORS": "0"}
# Options that change which files regrtest runs from the names the runner passes (-x: they
# are the files NOT to run; -f, -S, -s, -F, --list-*): no result could be matched to the
# selection. (-q is refused too: see run_regrtest.)
RESHAPING = ("exclude", "fromfile", "start", "single", "forever", "list_tests", "list_cases")


@dataclass
class TestOptions:
    __test__ = False   # not a pytest test class
    selection: list[str]
    regrtest_args: list[str] = field(default_factory=lambda: ["-v", "-u", "all,-network"])
    file_timeout: float = 1200.0
    stack_unlimited: bool = True
    # The CPython version under test ("3.13.15"): which regrtest reads the arguments (its
    # option table) and how it re-runs failed files; None: the newest regrtest.
    cpython_version: str | None = None
    # Called (name, outcome) as each file gets its verdict, and for a file the runtime died
    # in; for progress display only (stages.progress). May be called from a shard's thread.
    on_file_done: Callable[[str, str | None], None] | None = None


def _raise_stack_limit() -> None:
    # Deep-recursion tests overflow node's native stack with the default 8 MB ulimit.
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    try:
        resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))
    except (ValueError, OSError):
        pass


VANISHED = ("the interpreter exited 0 and printed nothing: stdout vanished (a known NODERAWFS breakage, "
            "see `emscripten-python toolchain`); refusing to report '0 tests, success'")


# -- how a segment ended ----------------------------------------------------------------------

@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class DiedIn:
    attempt: FileAttempt
    timed_out: bool = False


@dataclass(frozen=True)
class DiedBetween:
    pass


@dataclass(frozen=True)
class NeverStarted:
    pass


@dataclass(frozen=True)
class Silent:
    pass


End = Finished | DiedIn | DiedBetween | NeverStarted | Silent


@dataclass
class SegmentReport:
    """What one node process left behind."""

    output: RegrtestOutput
    returncode: int
    printed: int                  # characters of output; 0: the process printed nothing
    timed_out: bool = False
    durations: dict[tuple[str, int], float] = field(default_factory=dict)
    junit_suites: list[JUnitSuite] = field(default_factory=list)    # one per attempt that ended


def classify(report: SegmentReport) -> End:
    """Pure: how the segment ended, from its parsed output."""
    output = report.output
    if report.printed == 0:
        return Silent()
    if output.finished:
        return Finished()
    if output.unfinished is not None:
        return DiedIn(output.unfinished, timed_out=report.timed_out or output.unfinished.timed_out)
    if not output.attempts:
        return NeverStarted()
    return DiedBetween()


# -- regrtest's re-run phase, where a segment did not reach it ---------------------------------

# What --slow-ci / --fast-ci stand for besides re-runs and -W (cmdline.py _parse_args, 3.12+).
_CI_MODES = {"slow_ci": (["-u", "all"], "1200"), "fast_ci": (["-u", "all,-cpu"], "600")}


@dataclass(frozen=True)
class Rerun:
    """How this regrtest re-runs the files that failed (Lib/test/libregrtest/main.py,
    `_rerun_failed_tests` / `rerun_failed_tests`; results.py `prepare_rerun`):

    - 3.11.0-3.11.6 (`-w`/`--verbose2`): in the same process, verbose, with the run's `-m`
      patterns extended by the names of the failed cases ("extend"); failed files only.
    - 3.11.7+, 3.12, and 3.13+ without --single-process: each file in a new worker process,
      verbose, matching only its failed cases (`get_rerun_match_tests`: the method name; the
      class name for a setUpClass error; no filter for setUpModule) instead of the run's
      patterns ("replace"); failed and env-changed files.
    - 3.13+ with --single-process: in the same process, whole files, verbose ("none").

    The runner re-runs a file in a new node process (a new segment of its own when its cases
    are matched), with the run's arguments minus re-runs, -W, -G and -F, plus -v.
    """

    args: tuple[str, ...]              # the re-run's arguments, the run's -m/-i patterns kept
    args_unmatched: tuple[str, ...]    # the same without the run's patterns ("replace")
    match: str                         # "extend", "replace" or "none"
    env_changed: bool                  # env-changed files are re-run too

    @classmethod
    def of(cls, args: list[str], version: str | None) -> "Rerun | None":
        reading = read_args(args, version)
        if not reading.rerun:
            return None
        base, _, _ = without(args, {"rerun", "verbose3", "failfast", "forever", "verbose", "quiet"}, version)
        rest, removed, _ = without(base, set(_CI_MODES), version)
        if removed:        # --slow-ci wins over --fast-ci, as in _parse_args
            resources, timeout = _CI_MODES["slow_ci" if "--slow-ci" in removed else "fast_ci"]
            has_timeout = any(use.option.dest == "timeout" for item in read_items(rest, version) for use in item.uses)
            base = [*resources, "--fail-env-changed", *([] if has_timeout else ["--timeout", timeout]), *rest]
        base = ["-v", *base]
        match = "extend" if reading.old_rerun else "none" if reading.single_process else "replace"
        unmatched, _, _ = without(base, {"match_tests", "match_file"}, version)
        return cls(tuple(base), tuple(unmatched), match, env_changed=not reading.old_rerun)

    def outcomes(self) -> set[str]:
        """First-attempt outcomes regrtest re-runs (failed states; env changed since 3.12)."""
        return {"failed", "env-changed"} if self.env_changed else {"failed"}

    def command(self, names: list[str], first: dict[str, FileAttempt]) -> tuple[list[str], list[str]]:
        """(the files of the next re-run segment, its regrtest arguments)."""
        if self.match == "none":
            return names, list(self.args)
        name = names[0]
        patterns = failed_case_patterns(name, first[name])
        if patterns is None:
            return [name], list(self.args)
        base = self.args_unmatched if self.match == "replace" else self.args
        return [name], [*base, *(arg for pattern in patterns for arg in ("-m", pattern))]


def failed_case_patterns(name: str, attempt: FileAttempt) -> list[str] | None:
    """regrtest's `-m` patterns for re-running the failed cases of a file; None: the whole file
    (none known, or a module-level error, which regrtest re-runs unfiltered)."""
    module = name.split(".")
    patterns = []
    for case in attempt.cases.values():
        if case.outcome not in ("failed", "error"):
            continue
        parts = case.name.split(".")
        parts = parts[1:] if parts[:1] == ["test"] and module[:1] != ["test"] else parts
        if len(parts) <= len(module):
            return None          # setUpModule/tearDownModule (test.test_x): the whole file
        if parts[-1] not in patterns:
            patterns.append(parts[-1])
    return patterns or None


# -- which names are still to run ---------------------------------------------------------------

class Selection:
    """The selected names, and regrtest's expansion of packages (test_asyncio runs as
    test_asyncio.test_tasks, ...; older versions print test.test_asyncio.test_tasks)."""

    def __init__(self, names: list[str], lister: Callable[[list[str]], list[str]] | None = None):
        self.names = list(names)
        self.selected = set(self.names)
        self.lister = lister
        self.parts: dict[str, list[str]] = {}      # package -> its files, once asked for

    def owner(self, ran: str) -> str | None:
        """The selected name a printed file name belongs to."""
        if ran in self.selected:
            return ran
        for name in self.names:
            if ran.startswith((f"{name}.", f"test.{name}.")):
                return name
        for package, parts in self.parts.items():
            if ran in parts:
                return package
        return None

    def resolve(self, printed: str, results: dict[str, TestFile]) -> str:
        """The file a printed (possibly cut-off) name means: itself when it is known, else the
        first file without a result whose name it begins, else the first without a result."""
        if self.owner(printed) is not None:
            return printed
        pending = self.unresolved(results)
        return next((name for name in pending if name.startswith(printed)), pending[0] if pending else printed)

    def unresolved(self, results: dict[str, TestFile]) -> list[str]:
        """Names to run, in order: every selected name without a result; a package whose
        files are known is replaced by its files without a result."""
        done_packages = {self.owner(name) for name in results if name not in self.selected}
        todo = []
        for name in self.names:
            if name in results:
                continue
            if self.expanded(name):
                todo += [part for part in self.parts[name] if part not in results]
            elif name not in done_packages:
                todo.append(name)
        return todo

    def after(self, crashed: str, results: dict[str, TestFile]) -> list[str]:
        """What runs after `crashed` died: the rest of its package (asked of regrtest, so the
        package's later files are not lost), then the selected names after it; only names
        without a result."""
        package = self.owner(crashed)
        if package is not None and package != crashed and package not in self.parts and self.lister:
            try:
                self.parts[package] = self.lister([package])
            except (TestRunError, OSError, subprocess.SubprocessError):
                self.parts[package] = []      # its later files are reported as not run
        order = [part for name in self.names for part in (self.parts.get(name) or [name])]
        for anchor in (crashed, package):
            if anchor in order:
                order = order[order.index(anchor) + 1:]
                break
        pending = set(self.unresolved(results))
        return [name for name in order if name in pending]

    def expanded(self, name: str) -> bool:
        return bool(self.parts.get(name))


# -- the state of the whole run -------------------------------------------------------------------

@dataclass
class RunState:
    selection: Selection
    results: dict[str, TestFile] = field(default_factory=dict)
    remaining: list[str] = field(default_factory=list)
    startup_failures: int = 0       # segments in a row in which no file started
    ever_started: bool = False      # some segment of this run started a file: the runtime works
    blamed_in_row: int = 0          # files blamed for start-up deaths since a file last started
    rerun: Rerun | None = None      # how regrtest re-runs failed files; None: it does not
    # Files that failed in a segment that died before regrtest's re-run phase: their first
    # attempt, until the runner has re-run them.
    to_rerun: dict[str, FileAttempt] = field(default_factory=dict)
    rerun_startup_failures: int = 0

    def __post_init__(self) -> None:
        self.remaining = self.remaining or list(self.selection.names)

    def apply(self, end: End, report: SegmentReport) -> str:
        """Record a segment's files and decide what runs next; returns a line for the log."""
        output = report.output
        started = bool(output.attempts)
        recorded = self._record(report, skip=end.attempt if isinstance(end, DiedIn) else None)
        if self.rerun is not None and not isinstance(end, Finished):
            # regrtest's re-run phase did not come (or not for these files): the runner's will
            rerun_outcomes = self.rerun.outcomes()
            for name, attempts in recorded.items():
                if len(attempts) == 1 and attempts[0].attempt == 1 and self.results[name].outcome in rerun_outcomes:
                    self.to_rerun[name] = attempts[0]
        if started:
            self.startup_failures, self.ever_started, self.blamed_in_row = 0, True, 0
        match end:
            case Finished():
                for name in self.selection.unresolved(self.results):
                    self.results[name] = TestFile(
                        name=name, outcome="failed",
                        log_excerpt="regrtest finished without a result for this file")
                self.remaining = []
                return "regrtest finished"
            case DiedIn(attempt=attempt, timed_out=timed_out):
                name = self.selection.resolve(attempt.name, self.results)
                self.results[name] = self._crashed(name, attempt, report, timed_out)
                if attempt.attempt > 1:        # died while re-run: the others keep their first verdict
                    self.remaining = self.selection.unresolved(self.results)
                else:
                    self.remaining = self.selection.after(name, self.results)
                    package = self.selection.owner(name)
                    if package not in (None, name) and not self.selection.expanded(package):
                        self.results.setdefault(package, TestFile(
                            name=package, outcome="failed",
                            log_excerpt=f"the runtime died in {name}; the rest of {package} could not be "
                                        "listed and did not run"))
                how = "timed out" if timed_out else "runtime crashed"
                return f"{name}: {how}; continuing with the files after it"
            case DiedBetween():
                self.remaining = self.selection.unresolved(self.results)
                return (f"the runtime died between two files (rc {report.returncode}); "
                        f"{len(self.remaining)} file(s) run again, nobody is blamed")
            case NeverStarted() | Silent():
                if isinstance(end, Silent) and report.returncode == 0:
                    raise TestRunError(VANISHED)
                self.startup_failures += 1
                if self.startup_failures >= MAX_STARTUP_CRASHES and not self.ever_started:
                    raise TestRunError(
                        f"the interpreter died {self.startup_failures} times before running a test file "
                        f"(rc {report.returncode}); last output:\n" + "\n".join(output.tail[-10:] or ["(none)"]))
                if self.startup_failures >= STARTUP_BLAME and self.remaining:
                    name = self.remaining[0]
                    self.results[name] = self._blamed_at_start(name, report, self.startup_failures)
                    self.remaining = self.selection.after(name, self.results)
                    message = f"{name}: the runtime died at its start {self.startup_failures} times; recorded as crashed"
                    self.blamed_in_row += 1
                    if self.blamed_in_row >= MAX_STARTUP_CRASHES:
                        # Not one file after another killing it: the interpreter no longer starts.
                        # The rest did not run; they are not blamed one by one (two starts each).
                        message += f"; the interpreter no longer starts, {len(self.remaining)} file(s) not run"
                        for rest in self.remaining:
                            self.results[rest] = TestFile(
                                name=rest, outcome="failed",
                                log_excerpt=f"did not run: the interpreter died at its start for the "
                                            f"{self.blamed_in_row} files before it in a row (rc {report.returncode})")
                        self.remaining = []
                    if self.ever_started:
                        self.startup_failures = 0      # the next file gets its own tries
                    return message
                return f"the runtime died before any file started (rc {report.returncode}); starting again"
        raise AssertionError(end)

    def _record(self, report: SegmentReport, skip: FileAttempt | None) -> dict[str, list[FileAttempt]]:
        """Results for every file with its own verdict in this segment (all, when finished);
        returns their attempts by file."""
        output = report.output
        by_file, suites_by_file = _by_file(report)
        single = len(output.attempts) == 1
        recorded = {}
        for name, attempts in by_file.items():
            if skip is not None and skip.name == name:
                continue       # the file it died in (an earlier attempt goes with the crash)
            suites = suites_by_file.get(name, [])
            self.results[name] = _file_result(name, attempts, output, report, suites,
                                              file_counts(attempts, suites, output.total_tests if single else None))
            recorded[name] = attempts
        return recorded

    # -- the runner's re-run phase ---------------------------------------------------------
    def next_rerun(self) -> tuple[list[str], list[str]]:
        """The files and regrtest arguments of the next re-run segment."""
        return self.rerun.command(list(self.to_rerun), self.to_rerun)

    def apply_rerun(self, end: End, report: SegmentReport, files: list[str]) -> str:
        """Record a re-run segment: each file re-run gets its first attempt and this one, as if
        regrtest's own re-run phase had printed it (`flaky`, `failed` again, `crashed`)."""
        output = report.output
        by_file, suites_by_file = _by_file(report)
        done = []
        for name, attempts in by_file.items():
            first = self.to_rerun.get(name)
            if first is None:
                continue
            for attempt in attempts:
                attempt.attempt = 2          # the second run of this file, not a new file
            duration = self.results[name].duration
            if isinstance(end, DiedIn) and end.attempt in attempts:
                result = self._crashed(name, end.attempt, report, end.timed_out)
            else:
                # The counts of the attempt whose verdict holds: this one's (as with regrtest's
                # own re-run, where the first attempt's suite comes first in the same file).
                suites = suites_by_file.get(name, [])
                result = _file_result(name, [first, *attempts], output, report,
                                      [JUnitSuite(list(first.cases.values())), *suites], file_counts(attempts, suites))
            result.duration = duration
            self.results[name] = result
            del self.to_rerun[name]
            done.append(name)
        if isinstance(end, Finished):
            for name in files:          # regrtest printed nothing of it: its first verdict stays
                self.to_rerun.pop(name, None)
        elif done:
            self.rerun_startup_failures = 0
        else:
            # Nothing of these files came out (the runtime died at its start, or before a name
            # could be read): twice in a row, the first of them is the one killing it.
            if isinstance(end, Silent) and report.returncode == 0:
                raise TestRunError(VANISHED)
            self.rerun_startup_failures += 1
            if self.rerun_startup_failures >= STARTUP_BLAME:
                name = files[0]
                self.results[name] = self._blamed_at_start(name, report, self.rerun_startup_failures)
                self.results[name].attempts = 2
                del self.to_rerun[name]
                self.rerun_startup_failures = 0
                done.append(name)
        return f"re-run of {', '.join(files)}: " + (", ".join(f"{n} {self.results[n].outcome}" for n in done)
                                                     or "no result yet, trying again")

    @staticmethod
    def _blamed_at_start(name: str, report: SegmentReport, times: int) -> TestFile:
        output = report.output
        return TestFile(
            name=name, outcome="crashed",
            crash=output.crash or f"node exited with rc {report.returncode} before {name} started",
            log_excerpt=cap(f"the runtime died {times} times in a row before {name} "
                            "printed anything:\n" + "\n".join(output.tail[-EXCERPT_LINES:])))

    def _crashed(self, name: str, attempt: FileAttempt, report: SegmentReport, timed_out: bool) -> TestFile:
        output = report.output
        crash = output.crash or f"node exited with rc {report.returncode} and no regrtest summary"
        if output.running_case:
            attempt.cases[output.running_case] = TestCase(
                name=output.running_case, outcome="error", message="the runtime crashed in this test",
                traceback=None if timed_out else crash)
        earlier = [a for a in report.output.attempts if a.name == attempt.name and a is not attempt]
        return TestFile(
            name=name, outcome="timed-out" if timed_out else "crashed",
            duration=report.durations.get((attempt.name, attempt.attempt)),
            tests_run=len(attempt.cases), failures=sum(c.outcome in ("failed", "error") for c in attempt.cases.values()),
            attempts=attempt.attempt if earlier or attempt.attempt > 1 else 1,
            cases=list(attempt.cases.values()), crash=None if timed_out else crash,
            log_excerpt=cap("\n".join(output.tail[-EXCERPT_LINES:])) or None)

    def ordered(self) -> list[TestFile]:
        """Results in selection order, a package's files in its place."""
        parts: dict[str | None, list[TestFile]] = {}
        for name, result in self.results.items():
            if name not in self.selection.names:
                parts.setdefault(self.selection.owner(name), []).append(result)
        ordered = []
        for name in self.selection.names:
            ordered += ([self.results[name]] if name in self.results else []) + parts.pop(name, [])
        return ordered + [result for rest in parts.values() for result in rest]


def _by_file(report: SegmentReport) -> tuple[dict[str, list[FileAttempt]], dict[str, list[JUnitSuite]]]:
    """A segment's attempts by file, and its JUnit suites by file (in order: one per attempt)."""
    by_file: dict[str, list[FileAttempt]] = {}
    for attempt in report.output.attempts:
        by_file.setdefault(attempt.name, []).append(attempt)
    return by_file, junit_suites_by_file(report.junit_suites, list(by_file))


def _file_result(name: str, attempts: list[FileAttempt], output: RegrtestOutput, report: SegmentReport,
                 suites: list[JUnitSuite], counts: CaseCounts) -> TestFile:
    first = attempts[0]
    listed = [LIST_TO_OUTCOME[kind] for kind, names in output.lists.items()
              if name in names and kind in LIST_TO_OUTCOME]
    outcome = file_outcome(attempts, listed[0] if listed else None)
    # A re-run repeats cases in the JUnit file: the last result of each case wins.
    cases = list({case.name: case for suite in suites for case in suite.cases}.values()) \
        or list(first.cases.values())
    result = TestFile(name=name, outcome=outcome, duration=report.durations.get((first.name, first.attempt)),
                      cases=cases, attempts=len(attempts), **counts.fields())
    if result.outcome not in ("passed", "skipped", "no-tests", "resource-denied"):
        result.log_excerpt = attempts[-1].excerpt or first.excerpt
    return result


# -- one node process -----------------------------------------------------------------------------

class _Segment:
    """One node process over a list of files."""

    def __init__(self, host: HostPython, options: TestOptions, files: list[str], junit: Path, log,
                 args: list[str] | None = None):
        self.host, self.options, self.files, self.junit, self.log = host, options, files, junit, log
        self.args = options.regrtest_args if args is None else args
        # A re-run segment's files already counted for progress (with their first verdict).
        self.on_file_done = options.on_file_done if args is None else None
        self.parser = RegrtestParser(on_start=self._started, on_end=self._ended, names=options.selection + files)
        self.started_at: dict[tuple[str, int], float] = {}
        self.durations: dict[tuple[str, int], float] = {}
        self.last_event = time.monotonic()
        self.timed_out = False
        self.printed = 0            # characters of output

    def _started(self, attempt: FileAttempt) -> None:
        self.last_event = self.started_at[(attempt.name, attempt.attempt)] = time.monotonic()

    def _ended(self, attempt: FileAttempt) -> None:
        now = self.last_event = time.monotonic()
        key = (attempt.name, attempt.attempt)
        if key in self.started_at:
            self.durations[key] = round(now - self.started_at[key], 3)
        # Only a file with a verdict: the one the runtime died in is reported by run_regrtest.
        if self.on_file_done is not None and attempt.attempt == 1 and (
                attempt.state or attempt.unittest_verdict):
            self.on_file_done(attempt.name, attempt.outcome() or "passed")

    def run(self) -> SegmentReport:
        argv = [*self.host.argv, "-m", "test", *self.args,
                "--junit-xml", str(self.junit), *self.files]
        self.log.write(f"$ {' '.join(argv)}\n")
        self.log.flush()
        env = {key: value for key, value in self.host.env.items() if key != "FORCE_COLOR"}
        process = subprocess.Popen(
            argv, cwd=self.host.cwd, env={**env, **NO_COLOUR}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_raise_stack_limit if self.options.stack_unlimited else None,
        )
        # Its own session escapes a signal to the CLI's group: a cancel kills it by this registration.
        cancel.register(process.pid)
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(process, stop), daemon=True)
        watchdog.start()
        # Output as it comes, in pieces: any bytes (invalid UTF-8 becomes U+FFFD), lines of
        # any length (the parser caps them), all of it in the log.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = process.stdout.fileno()
        last = "\n"
        try:
            while True:
                data = os.read(fd, 1 << 16)
                text = decoder.decode(data, final=not data)
                if text:
                    self.printed += len(text)
                    self.log.write(text)
                    self.parser.feed_text(text)
                    last = text[-1]
                if not data:
                    break
            if last != "\n":
                self.log.write("\n")      # output cut mid-line: the next segment's `$ …` starts a line
            process.stdout.close()
            returncode = process.wait()
        except BaseException:
            _kill(process)
            raise
        finally:
            cancel.unregister(process.pid)
            stop.set()
            self.log.flush()
        output = self.parser.close()
        if output.unfinished is not None:
            self._ended(output.unfinished)
        return SegmentReport(output, returncode, self.printed, self.timed_out, self.durations,
                             read_regrtest_junit_suites(self.junit))

    def _watch(self, process: subprocess.Popen, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            current = self.parser.current
            running = current is not None and current.state is None
            if time.monotonic() - self.last_event > self.options.file_timeout:
                self.timed_out = running
                what = current.name if running else "regrtest (between files)"
                self.log.write(f"\n[emscripten-python] {what} exceeded the per-file timeout "
                               f"of {self.options.file_timeout:.0f} s; killing node\n")
                _kill(process)
                return


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def list_tests(host: HostPython, names: list[str]) -> list[str]:
    """The files regrtest would run for `names` (it splits packages such as test_asyncio)."""
    from .selection import list_full_suite      # selection imports this module
    return list_full_suite(host, names)


def run_regrtest(host: HostPython, options: TestOptions, out_dir: Path, log=print,
                 label: str = "test") -> list[TestFile]:
    """Run every selected file to a result; the console log goes to out_dir/logs/<label>.log."""
    if not options.selection:
        raise TestRunError("the test selection is empty")
    # The interpreter runs in its build directory: --junit-xml must not be relative to ours
    # (the Buildbot steps pass --out ../emscripten-python-out).
    out_dir = Path(out_dir).absolute()
    reading = read_args(options.regrtest_args, options.cpython_version)      # as regrtest reads them
    refuse_args(reading, options.regrtest_args, options.cpython_version)
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    (out_dir / "junit").mkdir(exist_ok=True)
    state = RunState(Selection(options.selection, lister=lambda names: list_tests(host, names)),
                     rerun=Rerun.of(options.regrtest_args, options.cpython_version))
    # Line-buffered while streaming: the CLI copies this file to stdout as it grows (stages.follow).
    with open(out_dir / "logs" / f"{label}.log", "w", errors="replace",
              buffering=1 if streaming() else -1) as console:
        segment_no = 0

        def segment(files: list[str], args: list[str] | None = None) -> SegmentReport:
            nonlocal segment_no
            segment_no += 1
            junit_path = out_dir / "junit" / f"{label}-{segment_no}.xml"
            junit_path.unlink(missing_ok=True)
            report = _Segment(host, options, files, junit_path, console, args).run()
            cancel.check()      # node died of a cancel, not of a crash: start no further segment
            return report

        while state.remaining:
            log(f"{label} segment {segment_no + 1}: {len(state.remaining)} file(s) from {state.remaining[0]}")
            report = segment(state.remaining)
            end = classify(report)
            message = state.apply(end, report)
            if isinstance(end, DiedIn) and options.on_file_done is not None and end.attempt.attempt == 1:
                crashed = state.results.get(state.selection.resolve(end.attempt.name, state.results))
                options.on_file_done(end.attempt.name, crashed.outcome if crashed else "crashed")
            if not isinstance(end, Finished):
                log(message)
        while state.to_rerun:
            files, args = state.next_rerun()
            log(f"{label} segment {segment_no + 1}: re-running {', '.join(files)} as regrtest's re-run phase "
                "would have (its segment ended before it)")
            report = segment(files, args)
            log(state.apply_rerun(classify(report), report, files))
    return state.ordered()


def refuse_args(reading: RegrtestArgs, args: list[str], version: str | None) -> None:
    """TestRunError for regrtest arguments under which no result could be told (before anything runs)."""
    if reading.quiet:
        # Logger.display_progress returns at once under -q: no start line, no verdict line.
        raise TestRunError("regrtest's -q/--quiet prints no per-file progress, so no result could be "
                           "told apart from a crash; drop it from the regrtest arguments")
    used = {use.option.dest: use.string for item in read_items(args, version) for use in item.uses}
    reshaping = [used[dest] for dest in RESHAPING if dest in used]
    if reshaping:
        raise TestRunError(f"regrtest's {', '.join(reshaping)} change which files run from the names the "
                           "runner passes, so no result could be matched to the selection; drop them from "
                           "the regrtest arguments (the selection is --tests / --exclude)")
