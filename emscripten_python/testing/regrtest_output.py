"""Parse regrtest's console output (3.11 to main) into per-file results.

Streaming and line-oriented: memory stays flat in the size of the log (it keeps only the
current file's lines). The console is the primary source because it survives a crash of the
runtime; JUnit XML (see junit.py) only exists when regrtest reached its end.

Formats handled (see docs/results-schema.rst for examples):
- progress lines `0:00:12 [ 17/492] test_x`, optionally `load avg: …`, a `/N` failure count,
  and `-- test_prev failed (2 failures)` suffixes (≤3.12); the verdict repeated on a progress
  line `0:00:42 [1/9] test_math passed in 42.6 sec` (3.13+), or bare `test_x skipped -- …`;
- unittest verbose lines `test_a (test.test_x.C.test_a) ... ok`, the `FAIL:`/`ERROR:`
  sections with tracebacks, `Ran N tests`, `OK (skipped=3)`, `FAILED (failures=1, errors=2)`;
- the summary: `== Tests result: X ==` (3.12+) or `Tests result: X` (≤3.11), lists such as
  `2 tests failed:`, `1 test skipped (resource denied):`, `3 re-run tests:`, and the last
  `Total tests: run=…`, `Total test files: …`, `Result: X`;
- `Re-running N failed tests in verbose mode`: later results are a second attempt.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

from ..results import TestCase

PROGRESS = re.compile(r"^\d+:\d\d:\d\d (?:load avg: [\d.]+ )?\[\s*\d+/\d+(?:/\d+)?\] (?P<rest>.*?)\s*$")
STARTED = re.compile(r"^(?P<name>[\w.]+)(?: -- (?P<previous>.+))?$")
RESULT = re.compile(
    r"^(?P<name>test[\w.]*) (?P<state>skipped \(resource denied\)|failed \(env changed\)|passed|failed|"
    r"skipped|run no tests|timed out|crashed|interrupted|did not run|uncaught exception|env changed)"
    r"(?P<rest>.*)$"
)
CASE_FAST = re.compile(r"^(?P<method>\S+) \((?P<id>[\w.]+)\) \.\.\. "
                       r"(?P<result>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$")
CASE_LINE = re.compile(r"^(?P<method>\S+) \((?P<id>[\w.]+)\)(?P<tail>.*)$")
CASE_RESULT = re.compile(r"\.\.\. ?(?P<result>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)\s*$")
SECTION_HEADER = re.compile(r"^(?P<kind>FAIL|ERROR|UNEXPECTED SUCCESS): (?P<method>\S+) \((?P<id>[\w.]+)\)")
RAN = re.compile(r"^Ran (\d+) tests? in ")
UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \((?P<detail>[^)]*)\))?\s*$")
LIST_HEADER = re.compile(
    r"^(?:(?P<count>\d+|All) )?(?P<what>tests? OK|tests? failed|tests? failed again|tests? skipped|"
    r"tests? skipped \(resource denied\)|tests? run no tests|re-run tests?|tests? omitted|"
    r"tests? altered the execution environment(?: \(env changed\))?|tests? did not run)[:.]\s*$"
)
SUMMARY_STATE = re.compile(r"^(?:== )?Tests result: (?P<state>[A-Z][A-Za-z ]*?)(?: ==)?\s*$")
FINAL_RESULT = re.compile(r"^Result: (?P<state>[A-Z][A-Za-z ]*?)\s*$")
TOTAL_TESTS = re.compile(r"^Total tests: (?P<fields>.*)$")
TOTAL_FILES = re.compile(r"^Total test files: (?P<fields>.*)$")
RERUN_HEADER = re.compile(r"^(?:\d+:\d\d:\d\d (?:load avg: [\d.]+ )?)?Re-running (?:\d+ )?failed tests? in verbose mode")

CASE_OUTCOMES = {"ok": "passed", "FAIL": "failed", "ERROR": "error", "expected failure": "expected-failure",
                 "unexpected success": "unexpected-success"}
STATE_TO_OUTCOME = {
    "passed": "passed", "failed": "failed", "skipped": "skipped", "run no tests": "no-tests",
    "timed out": "timed-out", "crashed": "crashed", "interrupted": "failed",
    "did not run": "failed", "uncaught exception": "failed",
    "skipped (resource denied)": "resource-denied", "failed (env changed)": "env-changed",
    "env changed": "env-changed",
}
LIST_TO_OUTCOME = {
    "failed": "failed", "failed again": "failed", "skipped": "skipped",
    "skipped (resource denied)": "resource-denied", "run no tests": "no-tests",
    "altered the execution environment": "env-changed",
    "altered the execution environment (env changed)": "env-changed",
    "did not run": "failed",
}


@dataclass
class FileAttempt:
    """What one execution of one test file printed."""

    name: str
    attempt: int = 1
    state: str | None = None          # regrtest's own verdict, when it printed one
    tests_run: int | None = None
    failures: int = 0
    skipped: int = 0
    unittest_verdict: str | None = None   # OK / FAILED
    cases: dict[str, TestCase] = field(default_factory=dict)
    tail: deque = field(default_factory=lambda: deque(maxlen=40))   # last lines, for crash text

    def outcome(self) -> str | None:
        if self.state:
            return STATE_TO_OUTCOME.get(self.state, "failed")
        if self.unittest_verdict == "FAILED":
            return "failed"
        return None


@dataclass
class RegrtestOutput:
    attempts: list[FileAttempt] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)
    summary_state: str | None = None
    final_result: str | None = None
    totals: dict[str, str] = field(default_factory=dict)
    running_case: str | None = None     # unittest id whose verdict never came (runtime died in it)

    @property
    def finished(self) -> bool:
        """regrtest reached its summary: nothing was lost to a crash."""
        return self.summary_state is not None or self.final_result is not None

    @property
    def unfinished(self) -> FileAttempt | None:
        """The file that was running when output stopped without a summary."""
        if self.finished or not self.attempts:
            return None
        last = self.attempts[-1]
        return None if last.state else last


class _Parser:
    def __init__(self) -> None:
        self.out = RegrtestOutput()
        self.current: FileAttempt | None = None
        self.attempt_no = 1
        self.pending_case: tuple[str, str] | None = None
        self.section: tuple[str, str] | None = None    # (kind, id) while reading a traceback
        self.section_lines: list[str] = []
        self.section_started = False
        self.list_target: str | None = None
        self.in_summary = False

    # -- helpers --------------------------------------------------------------------------
    def _by_name(self, name: str, attempt: int | None = None) -> FileAttempt | None:
        for candidate in reversed(self.out.attempts):
            if candidate.name == name and (attempt is None or candidate.attempt == attempt):
                return candidate
        return None

    def _set_state(self, text: str) -> bool:
        match = RESULT.match(text.strip())
        if not match:
            return False
        target = self._by_name(match.group("name"))
        if target is not None:
            state = match.group("state")
            if state == "failed" and "env changed" in match.group("rest"):
                state = "failed (env changed)"
            target.state = state
        return True

    def _case(self, case_id: str, result: str) -> None:
        if self.current is None:
            return
        outcome, message = CASE_OUTCOMES.get(result), None
        if outcome is None:     # "skipped 'reason'"
            outcome, message = "skipped", result[7:].strip().strip("'\"") or None
        self.current.cases[case_id] = TestCase(case_id, outcome, None, message)

    def _close_section(self) -> None:
        if self.section and self.current is not None:
            kind, case_id = self.section
            text = "\n".join(self.section_lines).strip("\n")
            case = self.current.cases.get(case_id) or TestCase(name=case_id, outcome="failed")
            if case.outcome in ("passed", "skipped"):
                case.outcome = "failed"
            if kind == "ERROR":
                case.outcome = "error"
            case.traceback = (case.traceback + "\n\n" + text) if case.traceback else text
            last = [line for line in text.splitlines() if line.strip()]
            case.message = last[-1].strip() if last else case.message
            self.current.cases[case_id] = case
        self.section, self.section_lines, self.section_started = None, [], False

    # -- the line handler -------------------------------------------------------------------
    def feed(self, raw: str) -> None:
        line = raw.rstrip("\r\n")
        current = self.current
        if current is not None:
            current.tail.append(line)
            # Fast path: most of a verbose log is one-line case verdicts.
            if self.section is None and " ... " in line:
                case = CASE_FAST.match(line)
                if case:
                    case_id, result = case.group(2, 3)
                    outcome = CASE_OUTCOMES.get(result)
                    if outcome is None:
                        self._case(case_id, result)
                    else:
                        current.cases[case_id] = TestCase(case_id, outcome)
                    self.pending_case = None
                    return

        # Cheap first-character tests keep most lines away from most regexes (throughput).
        first = line[:1]
        progress = PROGRESS.match(line) if first.isdigit() else None
        if progress:
            self._close_section()
            self.list_target = None
            self.in_summary = False
            # 3.13 repeats the progress prefix with the verdict: "[1/9] test_math passed in 42.6 sec"
            if self._set_state(progress.group("rest")):
                return
            started = STARTED.match(progress.group("rest"))
            if not started:
                return
            if started.group("previous"):
                self._set_state(started.group("previous"))
            self.current = FileAttempt(name=started.group("name"), attempt=self.attempt_no)
            self.out.attempts.append(self.current)
            self.pending_case = None
            return

        if self.section is not None:
            if line.startswith("=" * 20):
                self._close_section()
                return
            if line.startswith("-" * 20):
                if not self.section_started:
                    self.section_started = True
                    return
                self._close_section()
                return
            self.section_lines.append(line)
            return

        header = SECTION_HEADER.match(line) if first in ("F", "E", "U") else None
        if header:
            self.section = (header.group("kind"), header.group("id"))
            return

        if "Re-running" in line and RERUN_HEADER.match(line):
            self.attempt_no = 2
            self.list_target = None
            return

        if first in ("=", "T", "R"):
            if self._summary_line(line):
                return

        listed = LIST_HEADER.match(line) if line.endswith((":", ".")) else None
        if listed and (self.in_summary or not line.startswith(" ")):
            what = re.sub(r"^(tests?|re-run tests?) ", "", listed.group("what"))
            what = "re-run" if listed.group("what").startswith("re-run") else what
            self.list_target = None if what in ("OK", "omitted") else what
            if self.list_target and self.attempt_no == 2 and what == "failed":
                self.list_target = "failed again"
            if self.list_target:
                self.out.lists.setdefault(self.list_target, [])
            return
        if self.list_target and line.startswith("    "):
            self.out.lists[self.list_target].extend(line.split())
            return
        if self.list_target and line.strip():
            self.list_target = None

        if self.current is None:
            return
        if first == "t" and self._set_state(line):
            return
        ran = RAN.match(line) if first == "R" else None
        if ran:
            self.current.tests_run = int(ran.group(1))
            return
        end = UNITTEST_END.match(line) if first in ("O", "F") else None
        if end and self.current.tests_run is not None:
            self.current.unittest_verdict = end.group(1)
            for key, value in re.findall(r"(\w+)=(\d+)", end.group("detail") or ""):
                if key in ("failures", "errors", "unexpected_successes"):
                    self.current.failures += int(value)
                elif key == "skipped":
                    self.current.skipped = int(value)
            return
        case = CASE_LINE.match(line)
        if case:
            verdict = CASE_RESULT.search(case.group("tail"))
            if verdict:
                self._case(case.group("id"), verdict.group("result"))
                self.pending_case = None
            else:
                self.pending_case = (case.group("id"), case.group("method"))
            return
        if self.pending_case:
            verdict = CASE_RESULT.search(line) or re.match(
                r"^(?P<result>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)\s*$", line)
            if verdict:
                self._case(self.pending_case[0], verdict.group("result"))
                self.pending_case = None

    def _summary_line(self, line: str) -> bool:
        state = SUMMARY_STATE.match(line)
        if state:
            self.out.summary_state = state.group("state")
            self.in_summary = True
            self.list_target = None
            return True
        final = FINAL_RESULT.match(line)
        if final:
            self.out.final_result = final.group("state")
            return True
        for pattern, key in ((TOTAL_TESTS, "tests"), (TOTAL_FILES, "files")):
            total = pattern.match(line)
            if total:
                self.out.totals[key] = total.group("fields")
                return True
        return False

    def close(self) -> RegrtestOutput:
        self._close_section()
        if self.pending_case and not self.out.finished:
            self.out.running_case = self.pending_case[0]
        return self.out


def parse_lines(lines: Iterable[str]) -> RegrtestOutput:
    parser = _Parser()
    feed = parser.feed
    for line in lines:
        feed(line)
    return parser.close()


def parse_text(text: str) -> RegrtestOutput:
    return parse_lines(text.splitlines())


def looks_like_crash(lines: list[str]) -> str | None:
    """The JS/wasm error text from a dead runtime's last lines, or None."""
    error = re.compile(r"(RuntimeError|RangeError|TypeError|Aborted\(|ReferenceError|"
                       r"wasm|memory access out of bounds|Maximum call stack|node:internal|"
                       r"Fatal Python error|Segmentation fault|JavaScript heap)", re.I)
    hits = [i for i, line in enumerate(lines) if error.search(line)]
    if not hits:
        return None
    return "\n".join(lines[hits[0]:hits[0] + 15]).strip()
