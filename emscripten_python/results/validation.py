"""Strict validation of a results.json before anything trusts it (docs/results-schema.rst).

A results.json may come from a fork's CI job (the fork-safe GitHub report) or from a
worker that ran a pull request's code (the Buildbot PR report, the status store's
ingest), so every consumer that posts or stores it checks it here first:

    load_validated(path, limits=Limits())     # -> Run: THE way to read a results.json file
    parse_results(raw, label, limits)         # -> Run: the same for bytes from elsewhere
    load_json(path, limits) / parse_json(raw, label, limits)
                                              # -> any JSON value from an untrusted side, with
                                              #    the checks before and while decoding
    validate_results(data, limits=Limits())   # raises ResultsError listing every problem
    load_bisect(path) / validate_bisect(data) # a bisect.json (an artifact of `bisect`), with
                                              #    the smaller BISECT_LIMITS, before the status
                                              #    store records it

Every command that reads a results.json (report, --baseline, merge, compare, test/build/
bundle continuing the one in --out, status ingest, the GitHub and Buildbot reporters) reads
it through ``load_validated`` or ``parse_results``, before it does anything with it, so a
refused file is refused the same way everywhere: exit 40, one line, nothing changed.

Before JSON decoding: the size (``Limits.max_file_bytes``, checked on the file's size
before it is read), UTF-8, and the nesting depth of brackets (``Limits.max_nesting``, so
a deeply nested file never reaches the recursive decoder). While decoding: ``NaN``,
``Infinity`` and ``-Infinity`` are refused (Python's json accepts them). After: the schema
version (1 or 2), the type of every known field, outcomes from fixed sets, finite numbers,
non-negative counts and durations, identifiers safe in URLs and file paths, and sizes
(string lengths, numbers of files, cases, errors and stages, nesting of free-form
objects) within ``Limits``. Unknown top-level keys are allowed (``counts`` is one) but
size-checked like the rest. Problems are collected, not stopped at, so the one-line
error message lists them all (the first ``max_problems``, then how many more).
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ResultsError
from .model import CASE_OUTCOMES, FILE_OUTCOMES, Run

SCHEMA_VERSIONS = (1, 2)
# A run's `created` year: four digits, as the report's ordering key writes it (YYYYMMDD...).
MIN_YEAR, MAX_YEAR = 1970, 9998
# Run outcomes; `cancelled` exists from schema 2 on (a v1 file never has it).
CONFIG_CACHE_STATES = ("seeded", "clean", "dropped")
RUN_OUTCOMES = ("pending", "success", "failure", "warnings", "error", "cancelled")

# bisect.json (emscripten_python/bisect/runner.py writes it; docs/bisect.rst).
BISECT_SCHEMAS = (1,)
BISECT_STATES = ("running", "found", "inconclusive", "cancelled", "error")
# A run id, artifact digest, stage name: plain ASCII that needs no quoting in a URL or path.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# A regrtest name (test_os, test.test_asyncio.test_tasks): it becomes a Lib/test/ path.
TEST_FILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
COMMIT = re.compile(r"[0-9a-f]{7,64}\Z")
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/#?-]*)?\Z")
# C0 controls other than tab and newline, DEL and C1 controls: never meaningful in a name.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one results.json; the defaults fit a full CPython test run with room."""

    max_file_bytes: int = 64 * 1024 * 1024
    max_name: int = 512            # names, ids, versions, outcomes, short fields
    max_string: int = 4096         # other strings: messages, paths, URLs, error lines
    max_text: int = 256 * 1024     # tracebacks, crash text, log excerpts
    max_files: int = 20_000        # test files over all runtimes
    max_cases: int = 500_000       # test cases over all files
    max_list: int = 10_000         # any other list (selection, errors, stages, artifacts...)
    max_errors: int = 1_000
    max_depth: int = 16            # nesting of free-form objects (toolchain, pythoninfo...)
    max_nesting: int = 32          # brackets in the whole file, checked before decoding
    max_problems: int = 10         # problems listed in the message; the rest are counted


# A bisect.json is a summary (a few dozen steps, no logs): read with smaller bounds. Its size
# bound is the one the Buildbot bisect builder reads and uploads (steps/bisect.py).
BISECT_LIMITS = Limits(max_file_bytes=4 * 1024 * 1024, max_text=16 * 1024, max_list=1_000)


# Fields whose value may be long text; every other string is limited to max_string.
_TEXT_FIELDS = frozenset({"traceback", "crash", "log_excerpt", "message"})


class _Checker:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self.files = 0
        self.cases = 0

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    # -- scalars ---------------------------------------------------------------------------
    def string(self, where: str, value, *, limit: int | None = None, nullable: bool = False,
               pattern: re.Pattern | None = None, choices: tuple | None = None) -> bool:
        if value is None and nullable:
            return True
        if not isinstance(value, str):
            self.problem(where, f"expected a string{' or null' if nullable else ''}, got {_kind(value)}")
            return False
        limit = limit or self.limits.max_string
        if len(value) > limit:
            self.problem(where, f"{len(value):,} characters, more than the limit of {limit:,}")
            return False
        if choices is not None and value not in choices:
            self.problem(where, f"{_show(value)} is not one of {', '.join(choices)}")
            return False
        if pattern is not None and not pattern.match(value):
            self.problem(where, f"{_show(value)} has characters or a form not allowed here")
            return False
        return True

    def number(self, where: str, value, *, integer: bool = False, nullable: bool = False,
               minimum: float | None = 0) -> None:
        if value is None and nullable:
            return
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = "an integer" if integer else "a number"
            self.problem(where, f"expected {wanted}{' or null' if nullable else ''}, got {_kind(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.problem(where, f"{value} is not a finite number")
        elif minimum is not None and value < minimum:
            self.problem(where, f"{value} is below {minimum}")
        elif abs(value) > 1e15:
            self.problem(where, f"{value} is out of range")

    def time(self, where: str, value, *, nullable: bool = False) -> None:
        """An ISO 8601 time whose year (in UTC) is between MIN_YEAR and MAX_YEAR."""
        if not self.string(where, value, limit=64, nullable=nullable) or value is None:
            return
        try:
            when = datetime.fromisoformat(value)
            # in UTC, where the reporters compare it; the ends of the calendar overflow
            year = (when.astimezone(timezone.utc) if when.tzinfo else when).year
        except (ValueError, OverflowError):
            self.problem(where, f"{_show(value)} is not an ISO 8601 time")
        else:
            if not MIN_YEAR <= year <= MAX_YEAR:
                self.problem(where, f"{_show(value)} is not between {MIN_YEAR} and {MAX_YEAR}")

    def boolean(self, where: str, value, *, nullable: bool = False) -> None:
        if not (isinstance(value, bool) or (value is None and nullable)):
            self.problem(where, f"expected true or false, got {_kind(value)}")

    def list_of(self, where: str, value, limit: int | None = None) -> list:
        if not isinstance(value, list):
            self.problem(where, f"expected a list, got {_kind(value)}")
            return []
        limit = limit or self.limits.max_list
        if len(value) > limit:
            self.problem(where, f"{len(value):,} entries, more than the limit of {limit:,}")
            return []
        return value

    def obj(self, where: str, value, *, nullable: bool = False) -> dict | None:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            self.problem(where, f"expected an object{' or null' if nullable else ''}, got {_kind(value)}")
            return None
        return value

    def free(self, where: str, value, depth: int = 0) -> None:
        """Free-form JSON (toolchain, pythoninfo, comparison...): bounded in depth and size."""
        if depth > self.limits.max_depth:
            self.problem(where, f"nested deeper than {self.limits.max_depth} levels")
        elif isinstance(value, dict):
            if len(value) > self.limits.max_list:
                self.problem(where, f"{len(value):,} keys, more than the limit of {self.limits.max_list:,}")
                return
            for key, item in value.items():
                self.string(f"{where} key", key, limit=self.limits.max_name)
                self.free(f"{where}.{_key(key)}", item, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(self.list_of(where, value)):
                self.free(f"{where}[{i}]", item, depth + 1)
        elif isinstance(value, str):
            self.string(where, value, limit=self.limits.max_text)
        elif isinstance(value, float) and not math.isfinite(value):
            self.problem(where, f"{value} is not a finite number")
        elif value is not None and not isinstance(value, (bool, int, float)):
            self.problem(where, f"unexpected {_kind(value)}")

    def unknown_fields(self, where: str, entry: dict, known: frozenset) -> None:
        extra = set(entry) - known
        if extra:
            names = ", ".join(_show(k, 40) for k in sorted(map(str, extra))[:5])
            self.problem(where, f"fields this schema does not define: {names}")

    def version(self, where: str, value, readable: tuple[int, ...]) -> None:
        if isinstance(value, bool) or value not in readable:
            self.problem(where, f"{_show(value)} is not supported (readable: {', '.join(map(str, readable))})")

    # -- records ---------------------------------------------------------------------------
    def run(self, data: dict) -> None:
        version = data.get("schema_version")
        self.version("schema_version", version, SCHEMA_VERSIONS)
        self.string("run_id", data.get("run_id"), limit=64, pattern=SAFE_ID)
        self.time("created", data.get("created"))
        outcomes = RUN_OUTCOMES if version != 1 else tuple(o for o in RUN_OUTCOMES if o != "cancelled")
        self.string("outcome", data.get("outcome"), limit=32, choices=outcomes)
        origin = self.obj("origin", data.get("origin", {}))
        if origin is not None:
            self.string("origin.kind", origin.get("kind", "local"), limit=32, pattern=SAFE_ID)
            self.string("origin.builder", origin.get("builder"), limit=self.limits.max_name, nullable=True)
            self.string("origin.url", origin.get("url"), nullable=True, pattern=URL)
            self.free("origin", origin)
        source = self.obj("source", data.get("source", {}))
        if source is not None:
            for key in ("cpython_version", "era", "branch"):
                self.string(f"source.{key}", source.get(key), limit=self.limits.max_name, nullable=True)
            self.string("source.commit", source.get("commit"), limit=64, nullable=True, pattern=COMMIT)
            self.free("source", source)
        for key in ("toolchain", "node", "pythoninfo"):
            self.free(key, self.obj(key, data.get(key, {})) or {})
        for key in ("cancelled", "comparison", "shard", "cache"):
            if self.obj(key, data.get(key), nullable=True) is not None:
                self.free(key, data[key])
        for i, stage in enumerate(self.list_of("stages", data.get("stages", []))):
            self.stage(f"stages[{i}]", stage)
        for i, artifact in enumerate(self.list_of("artifacts", data.get("artifacts", []))):
            self.artifact(f"artifacts[{i}]", artifact)
        for i, error in enumerate(self.list_of("errors", data.get("errors", []), self.limits.max_errors)):
            self.string(f"errors[{i}]", error)
        self.section("tests", data.get("tests", {"files": []}))
        for i, section in enumerate(self.list_of("runtimes", data.get("runtimes", []))):
            self.section(f"runtimes[{i}]", section)
        known = {"schema_version", "run_id", "created", "outcome", "origin", "source", "toolchain", "node",
                 "pythoninfo", "cancelled", "comparison", "shard", "cache", "stages", "artifacts", "errors", "tests",
                 "runtimes"}
        for key, value in data.items():
            if key not in known:
                self.string("top-level key", key, limit=self.limits.max_name)
                self.free(_key(key), value)

    def stage(self, where: str, stage) -> None:
        if self.obj(where, stage) is None:
            return
        self.string(f"{where}.name", stage.get("name"), limit=64, pattern=SAFE_ID)
        self.string(f"{where}.status", stage.get("status"), limit=32, pattern=SAFE_ID)
        self.number(f"{where}.duration", stage.get("duration", 0.0))
        self.number(f"{where}.returncode", stage.get("returncode"), integer=True, nullable=True, minimum=None)
        self.string(f"{where}.log", stage.get("log"), nullable=True)
        command = stage.get("command")
        if command is not None:
            for i, arg in enumerate(self.list_of(f"{where}.command", command)):
                self.string(f"{where}.command[{i}]", arg)
        cache = self.obj(f"{where}.cache", stage.get("cache"), nullable=True)
        if cache is not None:
            self.string(f"{where}.cache.config_cache", cache.get("config_cache"), limit=32, choices=CONFIG_CACHE_STATES)
            self.string(f"{where}.cache.reason", cache.get("reason"), nullable=True)
            self.free(f"{where}.cache", cache)
        self.unknown_fields(where, stage, _STAGE_FIELDS)

    def artifact(self, where: str, artifact) -> None:
        if self.obj(where, artifact) is None:
            return
        path = artifact.get("path")
        if self.string(f"{where}.path", path, limit=255) and not _safe_relative(path):
            self.problem(f"{where}.path", f"{_show(path)} is not a plain relative path")
        self.number(f"{where}.size", artifact.get("size"), integer=True)
        self.string(f"{where}.sha256", artifact.get("sha256"), limit=64, pattern=SHA256)
        self.string(f"{where}.url", artifact.get("url"), nullable=True, pattern=URL)
        self.unknown_fields(where, artifact, _ARTIFACT_FIELDS)

    def section(self, where: str, section) -> None:
        if self.obj(where, section) is None:
            return
        for i, name in enumerate(self.list_of(f"{where}.selection", section.get("selection", []),
                                              self.limits.max_files)):
            self.string(f"{where}.selection[{i}]", name, limit=self.limits.max_name)
        files = self.list_of(f"{where}.files", section.get("files", []), self.limits.max_files)
        self.files += len(files)
        if self.files > self.limits.max_files:
            self.problem(where, f"more than {self.limits.max_files:,} test files in all")
            return
        for i, test_file in enumerate(files):
            self.test_file(f"{where}.files[{i}]", test_file)
        for key, value in section.items():
            if key not in ("selection", "files"):
                self.free(f"{where}.{_key(key)}", value)

    def test_file(self, where: str, test_file) -> None:
        if self.obj(where, test_file) is None:
            return
        self.string(f"{where}.name", test_file.get("name"), limit=self.limits.max_name, pattern=TEST_FILE_NAME)
        self.string(f"{where}.outcome", test_file.get("outcome"), limit=32, choices=FILE_OUTCOMES)
        self.number(f"{where}.duration", test_file.get("duration"), nullable=True)
        for key in ("tests_run", "failures", "skipped", "errors", "expected_failures", "unexpected_successes"):
            self.number(f"{where}.{key}", test_file.get(key, 0), integer=True)
        self.number(f"{where}.attempts", test_file.get("attempts", 1), integer=True)
        for key in ("crash", "log_excerpt"):
            self.string(f"{where}.{key}", test_file.get(key), limit=self.limits.max_text, nullable=True)
        cases = self.list_of(f"{where}.cases", test_file.get("cases", []), self.limits.max_cases)
        self.cases += len(cases)
        if self.cases > self.limits.max_cases:
            self.problem(where, f"more than {self.limits.max_cases:,} test cases in all")
            return
        for i, case in enumerate(cases):
            self.case(f"{where}.cases[{i}]", case)
        self.unknown_fields(where, test_file, _FILE_FIELDS)

    def case(self, where: str, case) -> None:
        if self.obj(where, case) is None:
            return
        name = case.get("name")
        if self.string(f"{where}.name", name, limit=self.limits.max_name) and CONTROL.search(name):
            self.problem(f"{where}.name", f"{_show(name)} contains control characters")
        self.string(f"{where}.outcome", case.get("outcome"), limit=32, choices=CASE_OUTCOMES)
        self.number(f"{where}.duration", case.get("duration"), nullable=True)
        for key in ("message", "traceback"):
            self.string(f"{where}.{key}", case.get(key), limit=self.limits.max_text, nullable=True)
        self.unknown_fields(where, case, _CASE_FIELDS)


    # -- bisect.json (docs/bisect.rst): written by `bisect` on a worker, read back from an artifact
    def commit_of(self, where: str, value, *, nullable: bool = False) -> None:
        """{"commit": a hex sha, "subject": text, "author": text (optional)}."""
        if self.obj(where, value, nullable=nullable) is None:
            return
        self.string(f"{where}.commit", value.get("commit"), limit=64, pattern=COMMIT)
        self.line(f"{where}.subject", value.get("subject"))
        self.line(f"{where}.author", value.get("author"), limit=self.limits.max_name, nullable=True)
        self.unknown_fields(where, value, _COMMIT_FIELDS)

    def line(self, where: str, value, **options) -> None:
        """A string shown as a line of a page (a subject, a name): no control characters
        (git never writes them there; PostgreSQL's text refuses NUL)."""
        if self.string(where, value, **options) and value is not None and CONTROL.search(value):
            self.problem(where, f"{_show(value)} contains control characters")

    def bisection(self, data: dict) -> None:
        self.version("schema", data.get("schema"), BISECT_SCHEMAS)
        self.string("state", data.get("state"), limit=32, choices=BISECT_STATES)
        self.string("error", data.get("error"), nullable=True)
        self.string("source", data.get("source"), nullable=True)
        self.time("started", data.get("started"), nullable=True)
        origin = self.obj("origin", data.get("origin", {}))
        if origin is not None:
            self.string("origin.kind", origin.get("kind", "local"), limit=32, pattern=SAFE_ID)
            for key in ("builder", "branch"):
                self.line(f"origin.{key}", origin.get(key), limit=self.limits.max_name, nullable=True)
            self.string("origin.url", origin.get("url"), nullable=True, pattern=URL)
            self.unknown_fields("origin", origin, _BISECT_ORIGIN_FIELDS)
        for key in ("good", "bad"):
            self.commit_of(key, data.get(key))
        self.commit_of("first_bad", data.get("first_bad"), nullable=True)
        refs = self.obj("refs", data.get("refs", {}))
        if refs is not None:
            for key, value in refs.items():
                self.string("refs key", key, limit=32, pattern=SAFE_ID)
                self.string(f"refs.{_key(key)}", value, limit=self.limits.max_name)
        tests = self.list_of("tests", data.get("tests"))
        if not tests and isinstance(data.get("tests"), list):
            self.problem("tests", "no test file named")
        for i, name in enumerate(tests):
            self.string(f"tests[{i}]", name, limit=self.limits.max_name, pattern=TEST_FILE_NAME)
        self.string("failure", data.get("failure"), limit=16, nullable=True, choices=("fail", "crash"))
        for key in ("flaky_reruns", "commits", "builds"):
            self.number(key, data.get(key), integer=True)
        self.number("duration", data.get("duration"))
        for i, suspect in enumerate(self.list_of("suspects", data.get("suspects", []))):
            self.commit_of(f"suspects[{i}]", suspect)
        for i, step in enumerate(self.list_of("steps", data.get("steps", []))):
            self.bisect_step(f"steps[{i}]", step)
        # What the answer needs: a found one names its commit, an inconclusive one its range.
        if data.get("state") == "found" and not data.get("first_bad"):
            self.problem("first_bad", "state is found but no first bad commit is named")
        if data.get("state") == "inconclusive" and not data.get("suspects"):
            self.problem("suspects", "state is inconclusive but no suspect commit is named")
        if data.get("state") != "found" and data.get("first_bad"):
            self.problem("first_bad", f"a first bad commit is named but state is {_show(data.get('state'))}")
        self.unknown_fields("bisect.json", data, _BISECT_FIELDS)

    def bisect_step(self, where: str, step) -> None:
        if self.obj(where, step) is None:
            return
        self.number(f"{where}.number", step.get("number"), integer=True)
        self.string(f"{where}.role", step.get("role"), limit=16, choices=("bad", "good", "search"))
        self.string(f"{where}.commit", step.get("commit"), limit=64, pattern=COMMIT)
        self.string(f"{where}.subject", step.get("subject"))
        self.boolean(f"{where}.built", step.get("built"))
        self.string(f"{where}.verdict", step.get("verdict"), limit=16, nullable=True, choices=("good", "bad", "skip"))
        self.string(f"{where}.outcome", step.get("outcome"), limit=32, nullable=True, pattern=SAFE_ID)
        self.number(f"{where}.duration", step.get("duration"))
        self.string(f"{where}.results", step.get("results"), nullable=True)
        self.string(f"{where}.error", step.get("error"), limit=self.limits.max_text, nullable=True)
        self.free(f"{where}.runs", self.list_of(f"{where}.runs", step.get("runs", [])))
        self.unknown_fields(where, step, _BISECT_STEP_FIELDS)


_STAGE_FIELDS = frozenset({"name", "status", "duration", "returncode", "log", "command", "cache"})
_ARTIFACT_FIELDS = frozenset({"path", "size", "sha256", "url"})
_FILE_FIELDS = frozenset({"name", "outcome", "duration", "tests_run", "failures", "skipped", "attempts",
                          "cases", "crash", "log_excerpt", "errors", "expected_failures", "unexpected_successes"})
_CASE_FIELDS = frozenset({"name", "outcome", "duration", "message", "traceback"})
_COMMIT_FIELDS = frozenset({"commit", "subject", "author"})
_BISECT_ORIGIN_FIELDS = frozenset({"kind", "builder", "branch", "url"})
_BISECT_FIELDS = frozenset({"schema", "state", "error", "source", "started", "origin", "good", "bad", "refs", "tests",
                            "flaky_reruns", "failure", "commits", "first_bad", "suspects", "builds", "duration",
                            "steps"})
_BISECT_STEP_FIELDS = frozenset({"number", "role", "commit", "subject", "built", "runs", "verdict", "outcome",
                                 "duration", "results", "error"})


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _show(value, limit: int = 60) -> str:
    """A value quoted for an error message: short, one line, no control characters."""
    text = repr(value)
    text = CONTROL.sub("?", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _key(key) -> str:
    return key if isinstance(key, str) and SAFE_ID.match(key) and len(key) <= 40 else _show(key, 40)


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return (bool(path) and not path.startswith("/") and "\\" not in path and ":" not in path
            and not CONTROL.search(path) and all(p not in ("", ".", "..") for p in parts))


def validate_results(data, limits: Limits = Limits()) -> None:
    """Raise ResultsError (exit 40) listing, on one line, every way ``data`` breaks the schema
    or ``limits``."""
    if not isinstance(data, dict):
        raise ResultsError(f"results.json is not a JSON object (got {_kind(data)})")
    checker = _Checker(limits)
    checker.run(data)
    _raise_problems("results.json", checker, limits)


def _raise_problems(what: str, checker: _Checker, limits: Limits) -> None:
    if checker.problems:
        shown = checker.problems[:limits.max_problems]
        more = len(checker.problems) - len(shown)
        tail = f"; ... and {more} more" if more else ""
        raise ResultsError(f"{what} is not valid ({len(checker.problems)} problem"
                           f"{'s' if len(checker.problems) != 1 else ''}): " + "; ".join(shown) + tail)


def validate_bisect(data, limits: Limits = BISECT_LIMITS) -> None:
    """Raise ResultsError (exit 40) listing every way ``data`` is not a bisect.json
    (docs/bisect.rst) within ``limits``: the types, commits as hex shas, test files as
    regrtest names, a found bisection naming its commit, an inconclusive one its range."""
    if not isinstance(data, dict):
        raise ResultsError(f"bisect.json is not a JSON object (got {_kind(data)})")
    checker = _Checker(limits)
    checker.bisection(data)
    _raise_problems("bisect.json", checker, limits)


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


# A JSON string, its escapes included: brackets inside it do not nest.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")     # an opener 2, a closer 0


def _nesting_depth(raw: bytes) -> int:
    """How deep the brackets of ``raw`` (outside strings) nest, found without recursion: the
    depth after k brackets is the sum of their steps minus k (iterators in C, no Python loop)."""
    steps = _JSON_STRING.sub(b"", raw).translate(_STEP, _NOT_BRACKETS)
    return max(map(operator.sub, itertools.accumulate(steps), itertools.count(1)), default=0)


def parse_json(raw: bytes, label: str, limits: Limits = Limits()) -> object:
    """The JSON value in ``raw`` (any file from an untrusted side; ``label`` names it in
    messages) after the checks before and while decoding: size, UTF-8, nesting, no NaN or
    Infinity; ResultsError (exit 40) otherwise. Its shape is the caller's to check."""
    if len(raw) > limits.max_file_bytes:
        raise ResultsError(f"{label} is {len(raw):,} bytes, more than the limit of {limits.max_file_bytes:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{label} is not UTF-8: {exc}") from None
    depth = _nesting_depth(raw)
    if depth > limits.max_nesting:
        raise ResultsError(f"{label} nests {depth:,} levels deep, more than the limit of {limits.max_nesting}")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ResultsError(f"{label} is not valid JSON: {_show(str(exc), 200)[1:-1]}") from None


def parse_results(raw: bytes, label: str, limits: Limits = Limits()) -> Run:
    """The Run in ``raw`` (a results.json's bytes; ``label`` names it in messages) after every
    check of this module; ResultsError (exit 40) otherwise."""
    data = parse_json(raw, label, limits)
    try:
        validate_results(data, limits)
    except ResultsError as exc:
        raise ResultsError(f"{label} {str(exc).removeprefix('results.json ')}") from None
    return Run.from_dict(data)


def read_capped(path: Path, limits: Limits = Limits()) -> bytes:
    """The bytes of the file at ``path``, its size checked before it is read; ResultsError
    (exit 40) for a missing, unreadable or too large file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ResultsError(f"{path} is {size:,} bytes, more than the limit of {limits.max_file_bytes:,}")
        return path.read_bytes()
    except FileNotFoundError:
        raise ResultsError(f"{path} does not exist") from None
    except OSError as exc:
        raise ResultsError(f"{path} cannot be read: {exc.strerror or exc}") from None


def load_json(path: Path, limits: Limits = Limits()) -> object:
    """``parse_json`` of the file at ``path``, read as ``read_capped`` reads it."""
    return parse_json(read_capped(path, limits), str(path), limits)


def _file_in(path: Path, name: str) -> Path:
    """`path`, or the file `name` in it when it is a directory."""
    try:
        return path / name if path.is_dir() else path
    except OSError as exc:
        raise ResultsError(f"{path} cannot be read: {exc.strerror or exc}") from None


def load_bisect(path: Path, limits: Limits = BISECT_LIMITS) -> dict:
    """The bisect.json at ``path`` (a directory means the bisect.json in it), read as
    ``load_json`` reads a file and checked by ``validate_bisect``; ResultsError otherwise."""
    path = _file_in(Path(path), "bisect.json")
    data = load_json(path, limits)
    try:
        validate_bisect(data, limits)
    except ResultsError as exc:
        raise ResultsError(f"{path} {str(exc).removeprefix('bisect.json ')}") from None
    return data


def is_seconds(value) -> bool:
    """``value`` (from untrusted JSON) is a duration to use: a number above 0 and below 1e9
    seconds, not a boolean (NaN, infinity and huge integers are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e9


def load_validated(path: Path, limits: Limits = Limits()) -> Run:
    """The Run in the results.json at ``path`` (a directory means the results.json in it),
    size-checked before it is read, then as ``parse_results``; ResultsError otherwise."""
    path = _file_in(Path(path), "results.json")
    return parse_results(read_capped(path, limits), str(path), limits)


__all__ = ["BISECT_LIMITS", "Limits", "RUN_OUTCOMES", "SCHEMA_VERSIONS", "is_seconds", "load_json", "load_validated", "parse_json", "parse_results",
           "read_capped", "validate_results", "load_bisect", "validate_bisect"]
