"""The result model every face reads: results.json (schema in docs/results-schema.rst).

A run is written incrementally by each stage (toolchain, build, test, report) into the
same results.json, so a stage that fails leaves everything before it on disk. It is read
back only through validation.load_validated (size, depth, NaN and schema checks first).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from ..durable import atomic_write
from ..errors import ResultsError

SCHEMA_VERSION = 2
# Versions this code reads; older ones are migrated in memory by `_migrate` (docs/results-schema.rst).
READABLE_VERSIONS = (1, 2)

# Per-file outcomes. "flaky" = failed, then passed when re-run in the same run.
FILE_OUTCOMES = ("passed", "failed", "skipped", "resource-denied", "crashed", "timed-out",
                 "flaky", "env-changed", "no-tests")
CASE_OUTCOMES = ("passed", "failed", "error", "skipped", "expected-failure", "unexpected-success")
BAD_FILE_OUTCOMES = frozenset({"failed", "crashed", "timed-out", "env-changed"})


@dataclass
class TestCase:
    __test__ = False   # not a pytest test class
    name: str                 # unittest id, e.g. test.test_os.MakedirTests.test_mode
    outcome: str
    duration: float | None = None
    message: str | None = None
    traceback: str | None = None


@dataclass
class TestFile:
    __test__ = False   # not a pytest test class
    name: str                 # regrtest name, e.g. test_os or test.test_asyncio.test_tasks
    outcome: str
    duration: float | None = None
    # Case counts of the attempt whose verdict holds (the re-run's, when re-run): see
    # "Test case counts" in docs/results-schema.rst for each one's source per CPython era.
    tests_run: int = 0
    failures: int = 0         # failed + errors + unexpected successes: what makes unittest fail
    skipped: int = 0
    attempts: int = 1         # 2 when re-run
    cases: list[TestCase] = field(default_factory=list)
    crash: str | None = None  # JS/wasm error text when the runtime died in this file
    log_excerpt: str | None = None
    errors: int = 0                 # of `failures`, the ERROR cases
    expected_failures: int = 0      # not failures (unittest's wasSuccessful)
    unexpected_successes: int = 0   # of `failures`


@dataclass
class Stage:
    name: str
    status: str               # succeeded / failed / cached (skipped: inputs unchanged)
    duration: float = 0.0
    returncode: int | None = None
    log: str | None = None    # path relative to the output dir
    command: list[str] | None = None
    # A configure stage's carried config.cache (buildcache.ConfigCache):
    # {"config_cache": "seeded"|"clean"|"dropped", "reason": ..., "key": ...}
    cache: dict | None = None


@dataclass
class Artifact:
    path: str
    size: int
    sha256: str
    url: str | None = None


def _file_counts(files: list[TestFile]) -> dict:
    by_outcome = {name: 0 for name in FILE_OUTCOMES}
    for test_file in files:
        by_outcome[test_file.outcome] += 1
    return {
        "files": {"total": len(files), **by_outcome},
        "tests": {
            "run": sum(f.tests_run for f in files),
            "failures": sum(f.failures for f in files if f.outcome != "flaky"),
            "skipped": sum(f.skipped for f in files),
            "expected_failures": sum(f.expected_failures for f in files),
        },
    }


def _section_from_dict(data: dict) -> dict:
    section = dict(data)
    section["files"] = [TestFile(**{**f, "cases": [TestCase(**c) for c in f.get("cases", [])]})
                        for f in section.get("files", [])]
    return section


@dataclass
class Run:
    schema_version: int = SCHEMA_VERSION
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    origin: dict = field(default_factory=lambda: {"kind": "local"})
    source: dict = field(default_factory=dict)       # path, cpython_version, era, branch, commit
    toolchain: dict = field(default_factory=dict)    # kind, emcc, emcc_version, pinned_version, matches_pin...
    node: dict = field(default_factory=dict)         # version, flags
    stages: list[Stage] = field(default_factory=list)
    tests: dict = field(default_factory=lambda: {"selection": [], "files": []})
    # Further runtimes tested with the same build (node 24, chromium): sections shaped like
    # `tests`, each with its own `runtime` record; `tests` is the primary runtime's section.
    runtimes: list[dict] = field(default_factory=list)
    outcome: str = "pending"                         # pending/success/failure/warnings/error/cancelled
    artifacts: list[Artifact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Optional (docs/results-schema.rst): {"build"|"host": {"status", "log", "info": {key: value}}}
    pythoninfo: dict = field(default_factory=dict)
    # Set when a signal (SIGTERM from Buildbot's stop button, Ctrl-C) ended the run: the
    # command and signal, e.g. {"command": "test", "signal": "SIGTERM", "at": "2026-…"}.
    cancelled: dict | None = None
    # `test --shard I/N`: index, count, selection (+ digest), files, build identity; on a
    # merged run: count, build and the shards merged (docs/results-schema.rst).
    shard: dict | None = None
    # Optional: what changed since the baseline run, written by `--baseline` / `compare`
    # (emscripten_python/results/compare.py; "The comparison object" in docs/results-schema.rst).
    comparison: dict | None = None
    # Optional: the build's compiler cache, {"ccache": {"used", "dir", "max_size", "hits", "misses", ...}}
    cache: dict | None = None

    # -- tests --------------------------------------------------------------------------
    @property
    def test_files(self) -> list[TestFile]:
        return self.tests.setdefault("files", [])

    @property
    def sections(self) -> list[dict]:
        """Every runtime's test section, the primary (`tests`) first."""
        return [self.tests, *self.runtimes]

    def all_test_files(self) -> list[TestFile]:
        return [f for section in self.sections for f in section.get("files", [])]

    def counts(self) -> dict:
        """Totals over every runtime (a file run under two runtimes counts twice), and each
        runtime's own counts in `by_runtime` (primary first)."""
        totals = _file_counts(self.all_test_files())
        by_runtime = [{"runtime": section.get("runtime") or {}, **_file_counts(section.get("files", []))}
                      for section in self.sections]
        return {**totals, "by_runtime": by_runtime}

    def set_stage(self, stage: Stage) -> None:
        self.stages = [s for s in self.stages if s.name != stage.name] + [stage]

    def decide_outcome(self) -> str:
        if self.cancelled:
            # Neither a pass nor a failure of CPython: the run was stopped from outside.
            self.outcome = "cancelled"
        elif any(s.status == "failed" for s in self.stages) or self.errors:
            self.outcome = "error"
        elif any(section.get("error") for section in self.runtimes):
            self.outcome = "error"      # a further runtime could not run at all
        elif not self.all_test_files():
            self.outcome = "success" if self.stages else "pending"
        elif any(f.outcome in BAD_FILE_OUTCOMES for f in self.all_test_files()):
            self.outcome = "failure"
        elif any(f.outcome == "flaky" for f in self.all_test_files()):
            self.outcome = "warnings"
        else:
            self.outcome = "success"
        return self.outcome

    # -- (de)serialisation --------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["counts"] = self.counts()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Run":
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise ResultsError(f"results.json schema_version {version!r} is not supported "
                               f"(this emscripten-python reads {', '.join(map(str, READABLE_VERSIONS))})")
        data = _migrate(data)
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            kwargs["stages"] = [Stage(**s) for s in data.get("stages", [])]
            kwargs["artifacts"] = [Artifact(**a) for a in data.get("artifacts", [])]
            kwargs["tests"] = _section_from_dict(data.get("tests") or {})
            kwargs["runtimes"] = [_section_from_dict(section) for section in data.get("runtimes") or []]
            run = cls(**kwargs)
            unknown = {f.outcome for f in run.all_test_files()} - set(FILE_OUTCOMES)
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise ResultsError(f"results.json does not match schema {SCHEMA_VERSION}: {exc}") from None
        if unknown:
            raise ResultsError(f"results.json has unknown test file outcomes: {', '.join(sorted(unknown))}")
        return run

    def save(self, path: Path) -> None:
        """Atomic write: a reader (Buildbot, the status store) never sees half a file."""
        atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")


def _migrate(data: dict) -> dict:
    """A readable results.json of an older schema as the current one (in memory; the file is untouched).

    1 -> 2: version 2 added the `cancelled` outcome and the optional `cancelled` object; a
    version 1 file has neither, so only the version number changes.
    """
    if data.get("schema_version") == 1:
        data = {**data, "schema_version": 2}
    return data
