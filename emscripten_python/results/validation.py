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

The schema is checked by one checker per section (``RunChecks``, ``StageChecks``,
``ArtifactChecks``, ``SectionChecks``, ``FileChecks``, ``CaseChecks``; for a bisect.json
``BisectChecks``, ``BisectStepChecks``, ``CommitChecks``), each saying which field gets
which of the field checks in ``fieldchecks.py`` (types, ranges, sizes, where the problems
are collected) and handing each entry it holds to its checker; ``validate_results`` and
``validate_bisect`` compose them and turn the problems into the one message.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from pathlib import Path

from ..errors import ResultsError
from .fieldchecks import CONTROL, SAFE_ID, FieldChecks, Limits, key_text, kind_of, show
from .model import CASE_OUTCOMES, FILE_OUTCOMES, Run

SCHEMA_VERSIONS = (1, 2)
CONFIG_CACHE_STATES = ("seeded", "clean", "dropped")
# Run outcomes; `cancelled` exists from schema 2 on (a v1 file never has it).
RUN_OUTCOMES = ("pending", "success", "failure", "warnings", "error", "cancelled")

# bisect.json (emscripten_python/bisect/runner.py writes it; docs/bisect.rst).
BISECT_SCHEMAS = (1,)
BISECT_STATES = ("running", "found", "inconclusive", "cancelled", "error")

# A regrtest name (test_os, test.test_asyncio.test_tasks): it becomes a Lib/test/ path.
TEST_FILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
COMMIT = re.compile(r"[0-9a-f]{7,64}\Z")
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/#?-]*)?\Z")

# A bisect.json is a summary (a few dozen steps, no logs): read with smaller bounds. Its size
# bound is the one the Buildbot bisect builder reads and uploads (steps/bisect.py).
BISECT_LIMITS = Limits(max_file_bytes=4 * 1024 * 1024, max_text=16 * 1024, max_list=1_000)


class RunChecks:
    """The top level: identity, outcome, origin, source, the free-form objects, and the
    lists of stages, artifacts, errors and test sections (each entry to its own checker)."""

    _KNOWN = frozenset({"schema_version", "run_id", "created", "outcome", "origin", "source", "toolchain", "node",
                        "pythoninfo", "cancelled", "comparison", "shard", "cache", "stages", "artifacts", "errors",
                        "tests", "runtimes"})

    def __init__(self, fields: FieldChecks, stages: StageChecks, artifacts: ArtifactChecks,
                 sections: SectionChecks) -> None:
        self.fields, self.stages, self.artifacts, self.sections = fields, stages, artifacts, sections

    def check(self, data: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        version = data.get("schema_version")
        fields.version("schema_version", version, SCHEMA_VERSIONS)
        fields.string("run_id", data.get("run_id"), limit=64, pattern=SAFE_ID)
        fields.time("created", data.get("created"))
        outcomes = RUN_OUTCOMES if version != 1 else tuple(o for o in RUN_OUTCOMES if o != "cancelled")
        fields.string("outcome", data.get("outcome"), limit=32, choices=outcomes)
        # Names (a builder, a branch, a version) are lines on a page and keys of the status
        # store: no control characters, no lone surrogates. Free text (a commit message, a
        # traceback) may hold anything a program printed.
        origin = fields.obj("origin", data.get("origin", {}))
        if origin is not None:
            fields.string("origin.kind", origin.get("kind", "local"), limit=32, pattern=SAFE_ID)
            fields.line("origin.builder", origin.get("builder"), limit=limits.max_name, nullable=True)
            fields.string("origin.url", origin.get("url"), nullable=True, pattern=URL)
            fields.free("origin", origin)
        source = fields.obj("source", data.get("source", {}))
        if source is not None:
            for key in ("cpython_version", "era", "branch"):
                fields.line(f"source.{key}", source.get(key), limit=limits.max_name, nullable=True)
            fields.string("source.commit", source.get("commit"), limit=64, nullable=True, pattern=COMMIT)
            fields.string("source.commit_message", source.get("commit_message"), limit=limits.max_text,
                          nullable=True)
            fields.free("source", source)
        for key in ("toolchain", "node", "pythoninfo"):
            fields.free(key, fields.obj(key, data.get(key, {})) or {})
        for key, name in (("toolchain", "emcc_version"), ("node", "version")):
            if isinstance(data.get(key), dict):
                fields.line(f"{key}.{name}", data[key].get(name), limit=limits.max_name, nullable=True)
        for key in ("cancelled", "comparison", "shard", "cache"):
            if fields.obj(key, data.get(key), nullable=True) is not None:
                fields.free(key, data[key])
        for i, stage in enumerate(fields.list_of("stages", data.get("stages", []))):
            self.stages.check(f"stages[{i}]", stage)
        for i, artifact in enumerate(fields.list_of("artifacts", data.get("artifacts", []))):
            self.artifacts.check(f"artifacts[{i}]", artifact)
        for i, error in enumerate(fields.list_of("errors", data.get("errors", []), limits.max_errors)):
            fields.string(f"errors[{i}]", error)
        self.sections.check("tests", data.get("tests", {"files": []}))
        for i, section in enumerate(fields.list_of("runtimes", data.get("runtimes", []))):
            self.sections.check(f"runtimes[{i}]", section)
        for key, value in data.items():
            if key not in self._KNOWN:
                fields.string("top-level key", key, limit=limits.max_name)
                fields.free(key_text(key), value)


class EntryChecks:
    """The checker of one kind of entry (a stage, an artifact, a test section, file or case,
    a bisection's step or commit):
    an entry that is not an object is that one problem, else its fields are checked, and the
    entries it holds (a section's files, a file's cases) go to the checker of those."""

    def __init__(self, fields: FieldChecks, entries: EntryChecks | None = None) -> None:
        self.fields, self.entries = fields, entries

    def check(self, where: str, entry, *, nullable: bool = False) -> None:
        if self.fields.obj(where, entry, nullable=nullable) is not None:
            self.check_fields(where, entry)

    def check_fields(self, where: str, entry: dict) -> None:
        raise NotImplementedError


class StageChecks(EntryChecks):
    """One entry of ``stages``: a build or test step, with its carried-configure record."""

    _KNOWN = frozenset({"name", "status", "duration", "returncode", "log", "command", "cache"})

    def check_fields(self, where: str, stage: dict) -> None:
        fields = self.fields
        fields.string(f"{where}.name", stage.get("name"), limit=64, pattern=SAFE_ID)
        fields.string(f"{where}.status", stage.get("status"), limit=32, pattern=SAFE_ID)
        fields.number(f"{where}.duration", stage.get("duration", 0.0))
        fields.number(f"{where}.returncode", stage.get("returncode"), integer=True, nullable=True, minimum=None)
        fields.string(f"{where}.log", stage.get("log"), nullable=True)
        command = stage.get("command")
        if command is not None:
            for i, arg in enumerate(fields.list_of(f"{where}.command", command)):
                fields.string(f"{where}.command[{i}]", arg)
        cache = fields.obj(f"{where}.cache", stage.get("cache"), nullable=True)
        if cache is not None:
            fields.string(f"{where}.cache.config_cache", cache.get("config_cache"), limit=32,
                          choices=CONFIG_CACHE_STATES)
            fields.string(f"{where}.cache.reason", cache.get("reason"), nullable=True)
            fields.free(f"{where}.cache", cache)
        fields.unknown_fields(where, stage, self._KNOWN)


class ArtifactChecks(EntryChecks):
    """One entry of ``artifacts``: a file the run produced, by relative path and digest."""

    _KNOWN = frozenset({"path", "size", "sha256", "url"})

    def check_fields(self, where: str, artifact: dict) -> None:
        fields = self.fields
        path = artifact.get("path")
        if fields.string(f"{where}.path", path, limit=255) and not _safe_relative(path):
            fields.problem(f"{where}.path", f"{show(path)} is not a plain relative path")
        fields.number(f"{where}.size", artifact.get("size"), integer=True)
        fields.string(f"{where}.sha256", artifact.get("sha256"), limit=64, pattern=SHA256)
        fields.string(f"{where}.url", artifact.get("url"), nullable=True, pattern=URL)
        fields.unknown_fields(where, artifact, self._KNOWN)


class SectionChecks(EntryChecks):
    """``tests`` or one entry of ``runtimes``: a selection and its test files."""

    def check_fields(self, where: str, section: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        for i, name in enumerate(fields.list_of(f"{where}.selection", section.get("selection", []),
                                                limits.max_files)):
            fields.string(f"{where}.selection[{i}]", name, limit=limits.max_name)
        files = fields.list_of(f"{where}.files", section.get("files", []), limits.max_files)
        if not fields.within_total(where, files, limits.max_files, "test files"):
            return
        for i, test_file in enumerate(files):
            self.entries.check(f"{where}.files[{i}]", test_file)
        for key, value in section.items():
            if key not in ("selection", "files"):
                fields.free(f"{where}.{key_text(key)}", value)


class FileChecks(EntryChecks):
    """One test file of a section: its regrtest name, outcome, counts and cases."""

    _KNOWN = frozenset({"name", "outcome", "duration", "tests_run", "failures", "skipped", "attempts", "cases",
                        "crash", "log_excerpt", "errors", "expected_failures", "unexpected_successes"})

    def check_fields(self, where: str, test_file: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        fields.string(f"{where}.name", test_file.get("name"), limit=limits.max_name, pattern=TEST_FILE_NAME)
        fields.string(f"{where}.outcome", test_file.get("outcome"), limit=32, choices=FILE_OUTCOMES)
        fields.number(f"{where}.duration", test_file.get("duration"), nullable=True)
        for key in ("tests_run", "failures", "skipped", "errors", "expected_failures", "unexpected_successes"):
            fields.number(f"{where}.{key}", test_file.get(key, 0), integer=True)
        fields.number(f"{where}.attempts", test_file.get("attempts", 1), integer=True)
        for key in ("crash", "log_excerpt"):
            fields.string(f"{where}.{key}", test_file.get(key), limit=limits.max_text, nullable=True)
        cases = fields.list_of(f"{where}.cases", test_file.get("cases", []), limits.max_cases)
        if not fields.within_total(where, cases, limits.max_cases, "test cases"):
            return
        for i, case in enumerate(cases):
            self.entries.check(f"{where}.cases[{i}]", case)
        fields.unknown_fields(where, test_file, self._KNOWN)


class CaseChecks(EntryChecks):
    """One test case of a file: a name without control characters, its outcome and text."""

    _KNOWN = frozenset({"name", "outcome", "duration", "message", "traceback"})

    def check_fields(self, where: str, case: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        fields.line(f"{where}.name", case.get("name"), limit=limits.max_name)
        fields.string(f"{where}.outcome", case.get("outcome"), limit=32, choices=CASE_OUTCOMES)
        fields.number(f"{where}.duration", case.get("duration"), nullable=True)
        for key in ("message", "traceback"):
            fields.string(f"{where}.{key}", case.get(key), limit=limits.max_text, nullable=True)
        fields.unknown_fields(where, case, self._KNOWN)


class BisectChecks:
    """A bisect.json (docs/bisect.rst), written by `bisect` on a worker and read back from an
    artifact: the range, the test files, the steps, and whether the answer names what its
    state says it found."""

    _KNOWN = frozenset({"schema", "state", "error", "source", "started", "origin", "good", "bad", "refs", "tests",
                        "flaky_reruns", "failure", "commits", "first_bad", "suspects", "builds", "duration", "steps"})
    _ORIGIN = frozenset({"kind", "builder", "branch", "url"})

    def __init__(self, fields: FieldChecks, steps: BisectStepChecks, commits: CommitChecks) -> None:
        self.fields, self.steps, self.commits = fields, steps, commits

    def check(self, data: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        fields.version("schema", data.get("schema"), BISECT_SCHEMAS)
        fields.string("state", data.get("state"), limit=32, choices=BISECT_STATES)
        fields.string("error", data.get("error"), nullable=True)
        fields.string("source", data.get("source"), nullable=True)
        fields.time("started", data.get("started"), nullable=True)
        origin = fields.obj("origin", data.get("origin", {}))
        if origin is not None:
            fields.string("origin.kind", origin.get("kind", "local"), limit=32, pattern=SAFE_ID)
            for key in ("builder", "branch"):
                fields.line(f"origin.{key}", origin.get(key), limit=limits.max_name, nullable=True)
            fields.string("origin.url", origin.get("url"), nullable=True, pattern=URL)
            fields.unknown_fields("origin", origin, self._ORIGIN)
        for key in ("good", "bad"):
            self.commits.check(key, data.get(key))
        self.commits.check("first_bad", data.get("first_bad"), nullable=True)
        refs = fields.obj("refs", data.get("refs", {}))
        if refs is not None:
            for key, value in refs.items():
                fields.string("refs key", key, limit=32, pattern=SAFE_ID)
                fields.string(f"refs.{key_text(key)}", value, limit=limits.max_name)
        tests = fields.list_of("tests", data.get("tests"))
        if not tests and isinstance(data.get("tests"), list):
            fields.problem("tests", "no test file named")
        for i, name in enumerate(tests):
            fields.string(f"tests[{i}]", name, limit=limits.max_name, pattern=TEST_FILE_NAME)
        fields.string("failure", data.get("failure"), limit=16, nullable=True, choices=("fail", "crash"))
        for key in ("flaky_reruns", "commits", "builds"):
            fields.number(key, data.get(key), integer=True)
        fields.number("duration", data.get("duration"))
        for i, suspect in enumerate(fields.list_of("suspects", data.get("suspects", []))):
            self.commits.check(f"suspects[{i}]", suspect)
        for i, step in enumerate(fields.list_of("steps", data.get("steps", []))):
            self.steps.check(f"steps[{i}]", step)
        # What the answer needs: a found one names its commit, an inconclusive one its range.
        if data.get("state") == "found" and not data.get("first_bad"):
            fields.problem("first_bad", "state is found but no first bad commit is named")
        if data.get("state") == "inconclusive" and not data.get("suspects"):
            fields.problem("suspects", "state is inconclusive but no suspect commit is named")
        if data.get("state") != "found" and data.get("first_bad"):
            fields.problem("first_bad", f"a first bad commit is named but state is {show(data.get('state'))}")
        fields.unknown_fields("bisect.json", data, self._KNOWN)


class BisectStepChecks(EntryChecks):
    """One entry of a bisect.json's ``steps``: a commit built and tested, and its verdict."""

    _KNOWN = frozenset({"number", "role", "commit", "subject", "built", "runs", "verdict", "outcome", "duration",
                        "results", "error"})

    def check_fields(self, where: str, step: dict) -> None:
        fields, limits = self.fields, self.fields.limits
        fields.number(f"{where}.number", step.get("number"), integer=True)
        fields.string(f"{where}.role", step.get("role"), limit=16, choices=("bad", "good", "search"))
        fields.string(f"{where}.commit", step.get("commit"), limit=64, pattern=COMMIT)
        fields.string(f"{where}.subject", step.get("subject"))
        fields.boolean(f"{where}.built", step.get("built"))
        fields.string(f"{where}.verdict", step.get("verdict"), limit=16, nullable=True,
                      choices=("good", "bad", "skip"))
        fields.string(f"{where}.outcome", step.get("outcome"), limit=32, nullable=True, pattern=SAFE_ID)
        fields.number(f"{where}.duration", step.get("duration"))
        fields.string(f"{where}.results", step.get("results"), nullable=True)
        fields.string(f"{where}.error", step.get("error"), limit=limits.max_text, nullable=True)
        fields.free(f"{where}.runs", fields.list_of(f"{where}.runs", step.get("runs", [])))
        fields.unknown_fields(where, step, self._KNOWN)


class CommitChecks(EntryChecks):
    """A commit a bisect.json names: {"commit": a hex sha, "subject": text, "author": text
    (optional)}."""

    _KNOWN = frozenset({"commit", "subject", "author"})

    def check_fields(self, where: str, commit: dict) -> None:
        fields = self.fields
        fields.string(f"{where}.commit", commit.get("commit"), limit=64, pattern=COMMIT)
        fields.line(f"{where}.subject", commit.get("subject"))
        fields.line(f"{where}.author", commit.get("author"), limit=fields.limits.max_name, nullable=True)
        fields.unknown_fields(where, commit, self._KNOWN)


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return (bool(path) and not path.startswith("/") and "\\" not in path and ":" not in path
            and not CONTROL.search(path) and all(p not in ("", ".", "..") for p in parts))


def validate_results(data, limits: Limits = Limits()) -> None:
    """Raise ResultsError (exit 40) listing, on one line, every way ``data`` breaks the schema
    or ``limits``."""
    if not isinstance(data, dict):
        raise ResultsError(f"results.json is not a JSON object (got {kind_of(data)})")
    fields = FieldChecks(limits)
    sections = SectionChecks(fields, entries=FileChecks(fields, entries=CaseChecks(fields)))
    RunChecks(fields, StageChecks(fields), ArtifactChecks(fields), sections).check(data)
    _raise_problems("results.json", fields.problems, limits)


def validate_bisect(data, limits: Limits = BISECT_LIMITS) -> None:
    """Raise ResultsError (exit 40) listing every way ``data`` is not a bisect.json
    (docs/bisect.rst) within ``limits``: the types, commits as hex shas, test files as
    regrtest names, a found bisection naming its commit, an inconclusive one its range."""
    if not isinstance(data, dict):
        raise ResultsError(f"bisect.json is not a JSON object (got {kind_of(data)})")
    fields = FieldChecks(limits)
    BisectChecks(fields, BisectStepChecks(fields), CommitChecks(fields)).check(data)
    _raise_problems("bisect.json", fields.problems, limits)


def _raise_problems(what: str, problems: list[str], limits: Limits) -> None:
    if problems:
        shown = problems[:limits.max_problems]
        more = len(problems) - len(shown)
        tail = f"; ... and {more} more" if more else ""
        raise ResultsError(f"{what} is not valid ({len(problems)} problem"
                           f"{'s' if len(problems) != 1 else ''}): " + "; ".join(shown) + tail)


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
        raise ResultsError(f"{label} is not valid JSON: {show(str(exc), 200)[1:-1]}") from None


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
