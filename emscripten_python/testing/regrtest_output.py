"""Parse regrtest's console output (3.11 to 3.15) into per-file results.

Streaming, line by line, in linear time: every pattern is anchored and applied to a stripped
line, so no input can make a regular expression backtrack. Memory is bounded by the results,
not by the log: only the running file's last lines are kept (for crash text), a finished file
keeps an excerpt only when its outcome is bad, and every stored text is capped.

The console is the primary source because it survives a crash of the runtime; JUnit XML (see
junit.py) only exists when regrtest reached its end.

Formats handled (see docs/results-schema.rst and docs/runner.rst for examples):
- progress lines `0:00:12 [ 17/492] test_x`, optionally `load avg: …`, a `/N` failure count,
  and `-- test_prev failed (2 failures)` suffixes (3.12); the verdict repeated on a progress
  line `0:00:42 [1/9] test_math passed in 42.6 sec` (3.13+), also with no start line before
  it (re-runs in a worker process, 3.14+), or bare `test_x skipped -- …`;
- unittest verbose lines `test_a (test.test_x.C.test_a) ... ok`, the `FAIL:`/`ERROR:`
  sections with tracebacks, `Ran N tests`, `OK (skipped=3)`, `FAILED (failures=1, errors=2)`;
- the summary: `== Tests result: X ==`, lists such as `2 tests failed:`,
  `1 test skipped (resource denied):`, `3 re-run tests:`, and the last
  `Total tests: run=…`, `Total test files: …`, `Result: X`;
- `Re-running N failed tests in verbose mode`: later results are a second attempt.
Terminal noise is tolerated: ANSI colour codes (3.14+ colours its output), replacement
characters from invalid bytes, stderr text spliced before a progress line, lines of any length
(each is cut at MAX_LINE characters).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from itertools import repeat
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ..results.model import TestCase

MAX_LINE = 64 * 1024          # characters of one line that are looked at and kept
MAX_TEXT = 16 * 1024          # any stored text: crash, excerpt, traceback, message
TAIL_LINES = 40               # lines kept for the running file only
EXCERPT_LINES = 20
CRASH_AFTER = 12              # lines kept after a crash's error line

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
PROGRESS = re.compile(r"\d+:\d\d:\d\d (?:load avg: [\d.]+ )?\[ *(\d+)/\d+(?:/\d+)?\] ")
# The same inside a line (stderr spliced before it): never starting inside a run of digits,
# so a long one is tried once, not once per digit.
PROGRESS_INSIDE = re.compile(r"(?<!\d)" + PROGRESS.pattern)
NAME = re.compile(r"test[\w.]*")
BARE_PROGRESS = re.compile(r"\[ *(\d+)/\d+(?:/\d+)?\] (?=test)")   # with `known` only (_bare_progress)
VERDICT = re.compile(
    r"(?P<name>test[\w.]*) (?P<state>skipped \(resource denied\)|failed \(env changed\)|passed|failed|"
    r"skipped|ran no tests|run no tests|timed out|process crashed|crashed|interrupted|did not run|"
    r"uncaught exception|env changed|worker non-zero exit code|worker bug)(?P<rest>.*)"
)
CASE_FAST = re.compile(r"(\S+) \(([\w.]+)\) \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)")
# Whole runs of lines ending in a case verdict are taken from a block of output at once
# (feed_text) and split with str methods; `FileAttempt.cases` reads the ids out of them.
# A line with an escape code is left to `feed`, which strips it first.
CASE_RUN = re.compile(r"(?:[^\n\x1b]* \.\.\. (?:ok|FAIL|ERROR|skipped[^\n\x1b]*|expected failure|unexpected success)\n)+")
# What ends the lines of a traceback section: a rule, or a progress line (the runtime died);
# a line with an escape code goes to `feed` (a coloured rule is a rule).
REGRTEST_LOG = re.compile(r"\d+:\d\d:\d\d(?: |$)")     # Logger.log's "H:MM:SS " prefix
SECTION_STOP = re.compile(r"^(?:={20}|-{20}|\d+:\d\d:\d\d )|\] test|\x1b", re.M)
CASE_LINE = re.compile(r"(\S+) \(([\w.]+)\)(.*)")
SECTION_HEADER = re.compile(r"(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([\w.]+)\)")
# faulthandler.dump_traceback_later(timeout, exit=True), armed by regrtest's --timeout
# (single.py), prints this (on stderr: after a case's "... " in verbose mode), the threads'
# stacks, and exits: the file ran out of time.
FAULT_TIMEOUT = re.compile(r"(?:^|\.\.\. )Timeout \(\d+:\d\d:\d\d(?:\.\d+)?\)!$")
RAN = re.compile(r"Ran (\d+) tests? in ")
UNITTEST_END = re.compile(r"(OK|FAILED|NO TESTS RAN)(?: \(([^)]*)\))?")
LIST_HEADER = re.compile(
    r"(?:(?:\d+|All) )?(tests? OK|tests? failed|tests? failed again|tests? skipped|"
    r"tests? skipped \(resource denied\)|tests? run no tests|re-run tests?|tests? omitted|"
    r"tests? altered the execution environment(?: \(env changed\))?|tests? did not run)[:.]"
)
RERUN_HEADER = re.compile(r"Re-running (?:\d+ )?failed tests? in verbose mode")
COUNT = re.compile(r"(\d+) (error|failure)s?")
FIELD = re.compile(r"(\w+)=([\d,]+)")
# unittest's TextTestRunner.run (Lib/unittest/runner.py, 3.11 to 3.15) ends with
# "FAILED (failures=1, errors=2, skipped=3, expected failures=4, unexpected successes=5)";
# the two-word keys must be read whole ("expected failures" is not "failures").
UNITTEST_FIELD = re.compile(r"(failures|errors|skipped|expected failures|unexpected successes)=(\d[\d,]*)")
# The 3.11.0-3.11.6 -w re-run (libregrtest/main.py rerun_failed_tests) runs each failed file
# again in the same process and prints only this before its verbose output, no progress line;
# 3.11.7+ and 3.12+ print it after the re-run's verdict line, which started the attempt already.
RERUN_FILE = re.compile(r"Re-running (test[\w.]*) in verbose mode(?: \(matching: .*\))?$")
# A JS/wasm runtime's death, or CPython's own; the LAST such line in a file is its crash.
ERROR_LINE = re.compile(
    r"\s*(?:Uncaught )?(?:RuntimeError|RangeError|InternalError|WebAssembly\.\w+|Aborted\(|Fatal Python error|"
    r"Segmentation fault|FATAL ERROR|# Fatal error|JavaScript heap|(?:Type|Reference)Error: .*wasm)")
WEAK_ERROR = re.compile(r"wasm|memory access out of bounds|Maximum call stack|node:internal|TypeError|"
                        r"ReferenceError", re.I)

CASE_OUTCOMES = {"ok": "passed", "FAIL": "failed", "ERROR": "error", "expected failure": "expected-failure",
                 "unexpected success": "unexpected-success"}
STATE_TO_OUTCOME = {
    "passed": "passed", "failed": "failed", "skipped": "skipped", "run no tests": "no-tests",
    "ran no tests": "no-tests", "timed out": "timed-out", "crashed": "crashed", "interrupted": "failed",
    "process crashed": "crashed",      # a -jN worker (State.MULTIPROCESSING_ERROR)
    "did not run": "failed", "uncaught exception": "failed", "worker non-zero exit code": "failed",
    "worker bug": "failed", "skipped (resource denied)": "resource-denied",
    "failed (env changed)": "env-changed", "env changed": "env-changed",
}
# Summary list titles (after "N tests ") -> the file outcome they mean.
LIST_TO_OUTCOME = {
    "failed": "failed", "failed again": "failed", "skipped": "skipped",
    "skipped (resource denied)": "resource-denied", "run no tests": "no-tests",
    "altered the execution environment": "env-changed",
    "altered the execution environment (env changed)": "env-changed",
    "did not run": "failed",
}
UNREADABLE = "verdict unreadable"   # a file ended, but its verdict was cut off or lost: not a pass
GOOD = frozenset({"passed", "skipped", "resource-denied", "no-tests"})


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters: the head and the tail, with the cut marked."""
    if len(text) <= limit:
        return text
    half = limit // 2 - 40
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"


@dataclass(slots=True)
class FileAttempt:
    """What one execution of one test file printed."""

    name: str
    attempt: int = 1
    index: str | None = None          # its number as printed on the progress line, `[index/total]`
    timed_out: bool = False           # faulthandler's "Timeout (0:20:00)!" while it ran
    state: str | None = None          # regrtest's own verdict, when it printed one
    # Case counts (docs/results-schema.rst, "Test case counts"): from unittest's own last lines
    # (`Ran N tests`, `FAILED (failures=…)`); without -v, `failures`/`errors` from regrtest's
    # verdict suffix only. `failures` counts what makes unittest fail: FAIL + ERROR +
    # unexpected successes; `errors` and `unexpected_successes` are the parts of it.
    tests_run: int | None = None
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    expected_failures: int = 0
    unexpected_successes: int = 0
    unittest_verdict: str | None = None   # OK / FAILED / NO TESTS RAN
    # Case verdicts as printed, `method (id)` -> `ok` / `skipped 'why'` / ..., in order
    # (cheap to collect); `cases` turns them into TestCases by id when asked.
    printed: dict[str, str] = field(default_factory=dict)
    known: dict[str, TestCase] = field(default_factory=dict)
    excerpt: str | None = None        # the last lines, kept only for a bad outcome

    @property
    def cases(self) -> dict[str, TestCase]:
        if self.printed:
            known, outcomes = self.known, CASE_OUTCOMES
            for key, result in self.printed.items():
                at = key.find(" (")
                close = key.find(")", at)
                case_id = key[at + 2:close]
                if at < 1 or close < 0 or " " in case_id or not case_id:
                    continue        # a line of test output that happens to end in "... ok"
                outcome = outcomes.get(result)
                if outcome is not None:
                    case = TestCase(case_id, outcome)
                else:
                    if not result.startswith("skipped"):
                        result = result.rpartition(" ... ")[2]
                        if result not in outcomes and not result.startswith("skipped"):
                            continue
                    case = _case_from(case_id, result)
                if case_id in known:
                    del known[case_id]          # the later verdict wins, in its own place
                known[case_id] = case
            self.printed = {}
        return self.known

    def outcome(self) -> str | None:
        if self.state:
            return STATE_TO_OUTCOME.get(self.state, "failed")
        if self.unittest_verdict == "FAILED":
            return "failed"
        return None


@dataclass
class RegrtestOutput:
    attempts: list[FileAttempt] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)   # of the last summary only
    summary_state: str | None = None
    final_result: str | None = None     # the output's last line: `Result: X` (3.11.0-3.11.6 `Tests result: X`)
    totals: dict[str, str] = field(default_factory=dict)
    total_tests: dict[str, int] = field(default_factory=dict)   # Total tests: run=…, failures=…, skipped=…
    running_case: str | None = None     # unittest id whose verdict never came (runtime died in it)
    finished: bool = False              # the output ends with regrtest's summary
    rerun_started: bool = False
    crash: str | None = None            # error text of the unfinished file, or of the output's end
    ok_count: int | None = None         # the last summary's `N tests OK.`
    tail: list[str] = field(default_factory=list)   # last lines when output stopped, capped

    @property
    def unfinished(self) -> FileAttempt | None:
        """The file that was running when output stopped without a summary."""
        if self.finished or not self.attempts:
            return None
        last = self.attempts[-1]
        return None if last.state else last


class Mode(enum.Enum):
    RUN = "run"                  # progress lines, unittest output
    SECTION_HEAD = "head"        # after `FAIL: test (id)`, before its dashed rule
    SECTION = "section"          # inside a traceback section
    SUMMARY = "summary"          # after `== Tests result: X ==`
    LIST = "list"                # the names under a summary list title


class _Capped:
    """Lines of a traceback section: the head, then only the last lines, never more than MAX_TEXT."""

    __slots__ = ("head", "size", "tail", "cut")

    def __init__(self) -> None:
        self.head: list[str] = []
        self.size = 0
        self.tail: deque[str] = deque(maxlen=EXCERPT_LINES)
        self.cut = 0

    def append(self, line: str) -> None:
        if self.size < MAX_TEXT // 2:
            self.head.append(line)
            self.size += len(line) + 1
        else:
            if len(self.tail) == self.tail.maxlen:
                self.cut += 1
            self.tail.append(line)

    def text(self) -> str:
        lines = self.head + ([f"[... {self.cut} lines cut ...]"] if self.cut else []) + list(self.tail)
        return cap("\n".join(lines).strip("\n"))


def _case_from(case_id: str, result: str) -> TestCase:
    outcome = CASE_OUTCOMES.get(result)
    if outcome is not None:
        return TestCase(case_id, outcome)
    # "skipped 'reason'"
    return TestCase(case_id, "skipped", None, cap(result[7:].strip().strip("'\""), 1024) or None)


class RegrtestParser:
    """Feed console lines (`feed`) or pieces of output (`feed_text`); read `.out` (or
    `close()`) for the results.

    `on_start(attempt)` is called when a file starts, `on_end(attempt)` when its verdict
    arrives; `names` (the selection) lets a file name with stderr glued to it be recognised.
    `known` (the files regrtest was given, or may list: packages stand for their parts) makes
    the parser strict: a name read from a progress, verdict or re-run line that is none of
    them (stderr spliced into the line cut it) starts no file, so no file is invented; a
    name cut off by the output's end is kept when it begins a known one (the runner resolves it).
    """

    def __init__(self, on_start: Callable[[FileAttempt], None] | None = None,
                 on_end: Callable[[FileAttempt], None] | None = None,
                 names: Iterable[str] | None = None, known: Iterable[str] | None = None) -> None:
        self.out = RegrtestOutput()
        self.on_start, self.on_end = on_start, on_end
        self.known = frozenset(known) if known is not None else None
        self.names = sorted(set(names or ()) | (self.known or set()), key=len, reverse=True)
        self.current: FileAttempt | None = None
        self.attempt_no = 1
        self.index: dict[tuple[str, int], FileAttempt] = {}
        self.mode = Mode.RUN
        self.after_list = Mode.RUN
        self.list_target: str | None = None
        self.pending_case: str | None = None
        self.section: tuple[str, str] | None = None      # (kind, case id)
        self.section_lines = _Capped()
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # the running file's (or the start-up's) lines
        # The same without the lines of FAIL/ERROR sections: where crash text is looked for
        # (a traceback's `RuntimeError:` is a test's failure, not the runtime's death).
        self.loose: deque[str] = deque(maxlen=TAIL_LINES)
        self.error_block: list[str] | None = None
        self.error_left = 0
        self.partial = ""                 # an incomplete last line of feed_text (at most MAX_LINE)
        self.dropping = False             # the rest of an over-long line is being skipped
        self.at_cut = False               # feeding the output's last line, which has no newline
        self.verdict_lines = False        # regrtest prints a verdict line per file (3.13+)

    # -- pieces of output --------------------------------------------------------------------
    def feed_text(self, text: str) -> None:
        """Feed output as it comes (any size; a line may be split across pieces)."""
        if self.partial or self.dropping:
            newline = text.find("\n")
            if newline < 0:
                if not self.dropping:
                    self.partial += text[:MAX_LINE - len(self.partial)]
                    self.dropping = len(self.partial) >= MAX_LINE
                return
            line = self.partial if self.dropping else self.partial + text[:newline]
            self.partial, self.dropping = "", False
            self.feed(line)
            text = text[newline + 1:]
        end = text.rfind("\n") + 1
        if end:
            self._block(text, end)
        if end < len(text):
            self.partial = text[end:end + MAX_LINE]
            self.dropping = len(text) - end > MAX_LINE

    def _block(self, text: str, end: int) -> None:
        """Complete lines text[:end]: runs of case verdicts in one regex pass, the rest line by line."""
        pos = 0
        run, feed = CASE_RUN.match, self.feed
        while pos < end:
            newline = text.index("\n", pos)
            if self.mode is Mode.RUN and self.current is not None and not self.error_left \
                    and text.find(" ... ", pos, newline) >= 0:
                found = run(text, pos, end)
                if found:
                    stop = found.end()
                    lines = text[pos:stop - 1].split("\n")
                    if self.pending_case:     # "test_x (id)\nDocstring ... ok": the verdict of test_x
                        self._case(self.pending_case, lines[0].rpartition(" ... ")[2])
                        self.pending_case = None
                        lines = lines[1:]
                    self.current.printed.update(map(str.split, lines, repeat(" ... "), repeat(1)))
                    self.tail.extend(lines[-TAIL_LINES:])
                    self.loose.extend(lines[-TAIL_LINES:])
                    pos = stop
                    continue
            elif self.mode is Mode.SECTION:
                found = SECTION_STOP.search(text, pos, end)
                stop = text.rfind("\n", pos, found.start()) + 1 if found else end
                if stop > pos:
                    lines = text[pos:stop - 1]
                    if "\x1b" in lines:
                        lines = ANSI.sub("", lines)
                    lines = [line[:MAX_LINE].rstrip("\r") for line in lines.split("\n")]
                    for line in lines:
                        self.section_lines.append(line)
                    self.tail.extend(lines[-TAIL_LINES:])
                    pos = stop
                    continue
            feed(text[pos:newline])
            pos = newline + 1

    # -- files ------------------------------------------------------------------------------
    def _resolve(self, token: str) -> str | None:
        """The file a name read from the output means; None when `known` rules it out."""
        token = token.rstrip(".")        # no regrtest name ends in a dot: glued text (`test_x...`)
        if self._is_known(token) or (self.known is None and (not self.names or token in self.names)):
            return token
        for name in self.names:          # longest first: stderr glued to the end of the name
            if token.startswith(name) and not token.startswith(f"{name}."):
                return name
        if self.known is None:
            return token
        if self.at_cut and any(name.startswith(token) for name in self.known):
            return token                 # cut off by the end of the output: the runner resolves it
        return None

    def _bare_progress(self, line: str) -> re.Match | None:
        """`[3/9] test_x` whose timestamp stderr cut (`0Warning: …:00:01 [3/9] test_x`): a
        progress line only when the name after it is exactly a known file."""
        found = BARE_PROGRESS.search(line)
        name = found and NAME.match(line, found.end())
        return found if name and self._is_known(name.group()) else None

    def _is_known(self, name: str) -> bool:
        """`name` is a known file, or a part of a known package (`test_asyncio.test_tasks`,
        `test.test_asyncio.test_tasks` in older versions)."""
        known = self.known
        if not known:
            return False
        if name in known:
            return True
        # A package's files are test modules in it (libregrtest findtests: `test_*`).
        parts = name.split(".")
        start = 1 if parts[0] == "test" else 0
        return any(".".join(parts[start:end]) in known and all(part.startswith("test") for part in parts[end:])
                   for end in range(start + 1, len(parts)))

    def _clear_tail(self) -> None:
        self.tail.clear()
        self.loose.clear()

    def _start(self, name: str, index: str | None = None) -> FileAttempt:
        attempt = FileAttempt(name=name, attempt=self.attempt_no, index=index)
        key = (name, self.attempt_no)
        if key in self.index:            # the same file again in one phase (regrtest --forever)
            self.out.attempts.remove(self.index[key])
        self.index[key] = attempt
        self.out.attempts.append(attempt)
        self.current = attempt
        self.out.finished = False
        self.pending_case = None
        self._clear_tail()
        self.error_block, self.error_left = None, 0
        if self.on_start:
            self.on_start(attempt)
        return attempt

    def _verdict(self, text: str, progress: bool = False) -> bool:
        """`test_x failed (2 errors, 1 failure)` and friends; True when `text` is one."""
        match = VERDICT.match(text.strip())
        if not match:
            return False
        name = self._resolve(match.group("name"))
        if name is None:
            return False
        target = self.index.get((name, self.attempt_no))
        if target is not None and target.state is not None and name != match.group("name").rstrip("."):
            # Read through text glued to the name (`test_os` in `test_os__path failed`): a file
            # that has its verdict already is not judged again on such a guess.
            return False
        if target is None:
            if not progress:
                return False
            # A verdict with no start line: a worker process ran the file (3.14 re-runs), or
            # its start line was lost (stderr spliced into it).
            target = self._start(name)
        state, rest = match.group("state"), match.group("rest")
        if state == "failed" and rest.startswith(" (env changed)"):
            state = "failed (env changed)"
        if target.unittest_verdict is None and state == "failed":
            # Without -v only regrtest's "failed (2 errors, 1 failure)" (Lib/test/libregrtest
            # result.py, TestResult.__str__) tells; unexpected successes are not in it.
            counted = {kind: int(n) for n, kind in COUNT.findall(rest[:200])}
            target.errors = counted.get("error", 0)
            target.failures = target.errors + counted.get("failure", 0)
        if target.state is None:
            target.state = state
            self._ended(target)
        else:
            target.state = state
        return True

    def _ended(self, attempt: FileAttempt) -> None:
        outcome = attempt.outcome()
        if outcome not in GOOD and self.tail:
            attempt.excerpt = cap("\n".join(list(self.tail)[-EXCERPT_LINES:]))
        self._clear_tail()
        self.error_block, self.error_left = None, 0
        if self.on_end:
            self.on_end(attempt)

    # -- unittest cases ---------------------------------------------------------------------
    def _case(self, case_id: str, result: str) -> None:
        if self.current is not None:
            self.current.printed[f"_ ({case_id})"] = result

    def _close_section(self) -> None:
        if self.section is None and self.mode is not Mode.SECTION and self.mode is not Mode.SECTION_HEAD:
            return
        if self.section and self.current is not None:
            kind, case_id = self.section
            text = self.section_lines.text()
            case = self.current.cases.get(case_id) or TestCase(name=case_id, outcome="failed")
            if case.outcome in ("passed", "skipped"):
                case.outcome = "failed"
            if kind == "ERROR":
                case.outcome = "error"
            case.traceback = cap(case.traceback + "\n\n" + text) if case.traceback else text
            last = [line for line in text[-4096:].splitlines() if line.strip()]
            case.message = cap(last[-1].strip(), 1024) if last else case.message
            self.current.known[case_id] = case
        self.section, self.section_lines = None, _Capped()
        if self.mode in (Mode.SECTION, Mode.SECTION_HEAD):
            self.mode = Mode.RUN

    # -- the line handler -------------------------------------------------------------------
    def feed(self, raw: str) -> None:
        line = raw[:MAX_LINE].rstrip("\r\n")
        if "\x1b" in line:
            line = ANSI.sub("", line)
        self.tail.append(line)
        current = self.current
        mode = self.mode
        in_section = mode is Mode.SECTION or mode is Mode.SECTION_HEAD
        if in_section and line[:1].isdigit() and REGRTEST_LOG.match(line):
            # regrtest's own log line (a progress or `Re-running` line): a traceback never
            # starts so, the section's closing rule was lost (stderr spliced into it).
            self._close_section()
            mode, in_section = self.mode, False
        if not in_section:
            self.loose.append(line)
        # Fast path: most of a verbose log is one-line case verdicts.
        if mode is Mode.RUN and current is not None and " ... " in line:
            case = CASE_FAST.fullmatch(line)
            if case:
                current.printed[line[:case.end(2) + 1]] = case.group(3)
                self.pending_case = None
                return
        if self.error_left:
            self.error_left -= 1
            self.error_block.append(line[:2048])
        first = line[:1]
        if first.isdigit() or "] test" in line:
            progress = (PROGRESS.match(line) if first.isdigit() else None) or PROGRESS_INSIDE.search(line)
            if progress is None and self.known is not None and "] test" in line:
                progress = self._bare_progress(line)
            if progress:
                self._progress(line[progress.end():].strip(), progress.group(1))
                return
        if not in_section and ("Error" in line or "Abort" in line or "Fatal" in line or "FATAL" in line or "fault" in line) \
                and _error_line(line):
            self.error_block, self.error_left = _context(list(self.tail)[-4:-1]) + [line[:2048]], CRASH_AFTER

        if in_section:
            # unittest prints `UNEXPECTED SUCCESS: test (id)` headers with no traceback and no
            # rule of their own (runner.py printErrors): the next header or `----` ends one.
            unexpected = self.section is not None and self.section[0] == "UNEXPECTED SUCCESS"
            if line.startswith("=" * 20):
                self._close_section()
            elif line.startswith("-" * 20):
                if mode is Mode.SECTION_HEAD and not unexpected:
                    self.mode = Mode.SECTION
                else:
                    self._close_section()
            elif unexpected and (header := SECTION_HEADER.match(line)):
                self._close_section()
                self.section, self.mode = (header.group(1), header.group(3)), Mode.SECTION_HEAD
            else:
                self.section_lines.append(line)
            return
        if mode is Mode.LIST:
            if line.startswith("    "):
                if not line.startswith("        "):     # deeper lines explain, e.g. what env changed
                    self.out.lists[self.list_target].extend(
                        name.rstrip(":") for name in line.split() if NAME.fullmatch(name.rstrip(":")))
                return
            if not line.strip():
                return
            self.mode = mode = self.after_list

        stripped = line.strip()
        if first in ("F", "E", "U"):
            header = SECTION_HEADER.match(line)
            if header:
                self.section = (header.group(1), header.group(3))
                self.mode = Mode.SECTION_HEAD
                return
        if "Re-running" in line:
            if RERUN_HEADER.search(line):   # also after spliced stderr
                self._rerun_phase()
                return
            rerun = RERUN_FILE.search(line)
            if rerun:                       # printed in the re-run phase only: also its start
                if not self.out.rerun_started:
                    self._rerun_phase()
                self._rerun_file(rerun.group(1))
                return
        if first in ("=", "T", "R") and self._summary_line(stripped):
            return
        if stripped.endswith((":", ".")) and (mode is Mode.SUMMARY or not line.startswith(" ")):
            listed = LIST_HEADER.fullmatch(stripped)
            if listed:
                if listed.group(1).endswith(" OK") and mode is Mode.SUMMARY:
                    count = stripped.split()[1 if stripped.startswith("All ") else 0]
                    self.out.ok_count = int(count) if count.isdigit() else None
                self._list_header(listed.group(1))
                return

        if current is None:
            return
        if first == "t" and self._verdict(stripped):
            return
        if stripped.endswith(")!") and current.state is None and FAULT_TIMEOUT.search(stripped):
            current.timed_out = True      # regrtest --timeout: faulthandler's dump, then exit 1
            return
        if first == "R":
            ran = RAN.match(line)
            if ran:
                current.tests_run = int(ran.group(1))
                return
        if first in ("O", "F", "N"):
            end = UNITTEST_END.fullmatch(stripped)
            if end and current.tests_run is not None:
                _unittest_counts(current, end)
                if current.attempt > 1 and current.state is None and current.index is None:
                    # A 3.11.0-3.11.6 re-run attempt ends with unittest's last line (no verdict
                    # follows): what comes after is not its output, even if the next
                    # `Re-running` line is lost.
                    self._ended(current)
                    self.current = None
                return
        case = CASE_LINE.match(line)
        if case:
            result = _case_result(case.group(3))
            if result:
                self._case(case.group(2), result)
                self.pending_case = None
            else:
                self.pending_case = case.group(2)
            return
        if self.pending_case:
            result = _case_result(stripped, alone=True)
            if result:
                self._case(self.pending_case, result)
                self.pending_case = None

    def _progress(self, rest: str, index: str) -> None:
        self._close_section()
        self.mode = Mode.RUN
        # 3.13+ repeats the progress prefix with the verdict: "[1/9] test_math passed in 42.6 sec"
        if self._verdict(rest, progress=True):
            self.verdict_lines = True
            return
        head, _, previous = rest.partition(" -- ")
        token = NAME.match(head)
        if not token:
            return
        current = self.current
        running = current is not None and current.state is None and current.attempt == self.attempt_no
        name = self._resolve(token.group())
        if name is None:
            # Not a file regrtest was given: stderr spliced into the start line cut its name.
            # Which file started cannot be told; the running one's verdict (a 3.12 suffix) is
            # lost with it unless it is still on this line. Later output is nobody's until a
            # readable progress line.
            if previous:
                self._verdict(previous, progress=True)
            if running and current.state is None:
                current.state = UNREADABLE
                self._ended(current)
            self.current = None
            return
        if running and index == current.index and not previous:
            # The running file's own progress line again with no verdict that can be read (cut
            # off by a crash: "[1/9] test_math pa"): it is still the file without a verdict.
            return
        # 3.12: "[2/3] test_b -- test_a failed (2 failures)"; with `known`, also for a file
        # whose own start line was lost (the running file's verdict went with it).
        if previous and self._verdict(previous, progress=not running or self.known is not None):
            if running and current.state is None:
                current.state = UNREADABLE
                self._ended(current)
        elif running:
            # A suffix that is not a verdict, or a start line cut off where a suffix could
            # still have followed (the output's unfinished last line), is no pass; nor is a
            # missing verdict line when regrtest prints one for every file (3.13+): it was lost.
            if previous or self.at_cut or self.verdict_lines:
                current.state = UNREADABLE
            self._ended(current)           # 3.12 prints no verdict for a file that passed
        self._start(name, index)

    def _rerun_phase(self) -> None:
        self.attempt_no = 2
        self.out.rerun_started = True
        self.out.finished = False
        # The first summary's lists are no longer regrtest's word: only lists printed after
        # this count (also when the last summary's header is lost to stderr).
        self.out.lists, self.out.ok_count = {}, None
        self._close_section()
        self.mode = Mode.RUN
        current = self.current
        if current is not None and current.attempt == 1:
            # the first phase is over: its last file (silent when it passed, up to 3.13.0) ended
            if current.state is None:
                self._ended(current)
            self.current = None

    def _rerun_file(self, token: str) -> None:
        """`Re-running test_x in verbose mode`: in 3.11.0-3.11.6 (-w) the start of test_x's
        second attempt, in the same process; from 3.11.7 its verdict line started it already."""
        name = self._resolve(token)
        current = self.current
        if name is None or (current is not None and current.name == name and current.attempt == 2):
            return
        self._close_section()
        self.mode = Mode.RUN
        if current is not None and current.state is None:
            self._ended(current)
        self._start(name)

    def _list_header(self, what: str) -> None:
        title = re.sub(r"^(tests?|re-run tests?) ", "", what)
        title = "re-run" if what.startswith("re-run") else title
        if title in ("OK", "omitted"):
            return
        if self.attempt_no == 2 and title == "failed" and self.mode is not Mode.SUMMARY:
            title = "failed again"
        self.after_list = self.mode if self.mode is not Mode.LIST else self.after_list
        self.list_target = title
        self.out.lists[title] = []     # a title read again (its summary header lost to stderr): the later list
        self.mode = Mode.LIST

    def _summary_line(self, line: str) -> bool:
        state = None
        if line.startswith("== Tests result: ") and line.endswith(" =="):
            state = line[17:-3]
        elif line.startswith("Tests result: "):
            state = line[14:]
        if state is not None:
            self.out.summary_state = state.strip()
            if line.startswith("=="):
                self.out.lists = {}        # the lists that follow are this summary's
                self.out.ok_count = None
            else:
                self.out.final_result = state.strip()    # 3.11.0-3.11.6's last line
            self.out.finished = True
            self.mode = Mode.SUMMARY
            return True
        if line.startswith("Result: "):
            self.out.final_result = line[8:].strip()
            self.out.finished = True
            return True
        for prefix, key in (("Total tests: ", "tests"), ("Total test files: ", "files")):
            if line.startswith(prefix):
                fields = cap(line[len(prefix):], 1024)
                self.out.totals[key] = fields
                if key == "tests":
                    self.out.total_tests = {k: int(v.replace(",", "")) for k, v in FIELD.findall(fields)}
                return True
        return False

    def _unread_but_counted_ok(self) -> None:
        """A file whose verdict could not be read (stderr spliced into the line that carried
        it) and that the final summary (read to its last line) lists nowhere passed: regrtest
        lists every file that did not pass (up to 3.13.0 a pass prints no verdict of its own).
        The files listed nowhere may be fewer than its `N tests OK.` (a pass whose start line
        was lost too), never more: then a list was not read whole, and nothing is decided."""
        out = self.out
        listed = {name for kind, names in out.lists.items() if kind != "re-run" for name in names}
        last = {attempt.name: attempt for attempt in out.attempts}
        unlisted = [attempt for name, attempt in last.items() if name not in listed]
        if len(unlisted) <= out.ok_count:
            for attempt in unlisted:
                if attempt.state == UNREADABLE:
                    attempt.state = "passed"

    def close(self) -> RegrtestOutput:
        if self.partial:
            self.at_cut = True
            self.feed(self.partial)
            self.partial, self.dropping = "", False
        self._close_section()
        out = self.out
        last = out.attempts[-1] if out.attempts else None
        if out.finished and last is not None and last.state is None and "INTERRUPTED" in (
                out.final_result or out.summary_state or ""):
            last.state = "interrupted"     # regrtest stops at once and prints no verdict for it
        if out.final_result is not None and out.ok_count is not None:
            self._unread_but_counted_ok()
        if not out.finished:
            if self.pending_case and out.unfinished is not None:
                out.running_case = self.pending_case
            out.tail = [cap(line, 2048) for line in self.tail]
            if self.error_block:
                out.crash = cap("\n".join(self.error_block).strip())
            else:
                out.crash = looks_like_crash(list(self.loose))
        return out


def file_outcome(attempts: list[FileAttempt], listed: str | None = None) -> str:
    """A file's outcome from its attempts' own verdicts (`listed`: what regrtest's summary
    lists say, used only when no verdict was printed). A file re-run after failing whose
    re-run is not bad (passed; or ran no tests, skipped: regrtest then drops it from its
    failed list too) is `flaky`."""
    unread = attempts[-1].state == UNREADABLE      # regrtest's summary lists know better
    last = (listed if unread else None) or attempts[-1].outcome() or listed or "passed"
    if len(attempts) > 1 and last in GOOD:
        return "flaky"
    return last


def _unittest_counts(attempt: FileAttempt, end: re.Match) -> None:
    """Counts from unittest's last line (`OK (skipped=2, expected failures=1)`): they replace
    any earlier ones of the attempt, as regrtest keeps one result per file."""
    attempt.unittest_verdict = end.group(1)
    found = {key: int(value.replace(",", "")) for key, value in UNITTEST_FIELD.findall(end.group(2) or "")}
    attempt.errors = found.get("errors", 0)
    attempt.unexpected_successes = found.get("unexpected successes", 0)
    attempt.failures = found.get("failures", 0) + attempt.errors + attempt.unexpected_successes
    attempt.skipped = found.get("skipped", 0)
    attempt.expected_failures = found.get("expected failures", 0)


def _error_line(line: str) -> bool:
    """A runtime's error line, also glued to the case it killed (`test_x (…) ... Fatal Python
    error: Aborted`: faulthandler writes to stderr right after unittest's `... `)."""
    if ERROR_LINE.match(line):
        return True
    at = line.find(" ... ")
    return at >= 0 and ERROR_LINE.match(line, at + 4) is not None


def _context(before: list[str]) -> list[str]:
    """The line that led to an error line (e.g. the test case running), if it is close."""
    near = [line[:2048] for line in before if line.strip()]
    return near[-1:]


def _case_result(text: str, alone: bool = False) -> str | None:
    """The unittest verdict at the end of a case line's tail (or alone on a later line)."""
    text = text.rstrip()
    if alone and (text in CASE_OUTCOMES or text.startswith("skipped")):
        return text
    at = text.find("... ")
    if at < 0:
        return None
    result = text[at + 4:]
    if result in CASE_OUTCOMES or result.startswith("skipped"):
        return result
    return None


def parse_lines(lines: Iterable[str], names: Iterable[str] | None = None,
                known: Iterable[str] | None = None) -> RegrtestOutput:
    parser = RegrtestParser(names=names, known=known)
    feed = parser.feed
    for line in lines:
        feed(line)
    return parser.close()


def parse_text(text: str, names: Iterable[str] | None = None, known: Iterable[str] | None = None) -> RegrtestOutput:
    parser = RegrtestParser(names=names, known=known)
    parser.feed_text(text)
    return parser.close()


def parse_stream(stream, names: Iterable[str] | None = None, block: int = 1 << 20,
                 known: Iterable[str] | None = None) -> RegrtestOutput:
    """Parse a text stream (a log file) in blocks: the fastest way in."""
    parser = RegrtestParser(names=names, known=known)
    while True:
        text = stream.read(block)
        if not text:
            return parser.close()
        parser.feed_text(text)


def looks_like_crash(lines: list[str]) -> str | None:
    """The JS/wasm error text in a dead runtime's last lines, or None.

    The last error line wins (an earlier traceback the test printed is not the crash); it is
    kept with the lines just before it and the first frames after it.
    """
    lines = [line[:MAX_LINE] for line in lines]
    strong = [i for i, line in enumerate(lines) if _error_line(line)]
    if strong:
        at = strong[-1]
        kept = _context(lines[max(0, at - 3):at]) + lines[at:at + CRASH_AFTER + 1]
        return cap("\n".join(line[:2048] for line in kept).strip())
    weak = [i for i, line in enumerate(lines) if WEAK_ERROR.search(line)]
    if not weak:
        return None
    return cap("\n".join(lines[weak[0]:weak[0] + 15]).strip())
