"""Runs for the status tests, built with the real result model."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from emscripten_python.results.model import Artifact, Run, Stage, TestCase, TestFile

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def make_run(*, branch: str = "3.13", builder: str = "emscripten node", outcome: str | None = None,
             hours: float = 0, files: dict[str, str] | None = None, run_id: str | None = None,
             commit: str = "4b1c0a7d9e2f", commit_message: str | None = None, duration: float = 600.0,
             crash: str = "RuntimeError: memory access out of bounds\n    at wasm://wasm/022be2e2",
             case_name: str = "test.test_os.WalkTests.test_walk_symlink",
             build_url: str | None = "https://ci.invalid/builds/1") -> Run:
    """A run `hours` after T0 whose test files have the given outcomes (default: all pass)."""
    files = files if files is not None else {"test_math": "passed", "test_os": "passed"}
    run = Run(run_id=run_id or uuid.uuid4().hex, created=(T0 + timedelta(hours=hours)).isoformat(timespec="seconds"))
    run.origin = {"kind": "buildbot", "builder": builder, "url": build_url}
    run.source = {"cpython_version": "3.13.15", "branch": branch, "commit": commit}
    if commit_message is not None:
        run.source["commit_message"] = commit_message
    run.toolchain = {"emcc_version": "3.1.69"}
    run.node = {"version": "20.19.2"}
    run.stages = [Stage("build", "succeeded", duration * 0.7, 0, "logs/build.log"),
                  Stage("test", "succeeded", duration * 0.3, None, "logs/test.log")]
    for name, file_outcome in files.items():
        test_file = TestFile(name=name, outcome=file_outcome, duration=1.5, tests_run=10,
                             attempts=2 if file_outcome in ("flaky", "failed") else 1)
        test_file.cases = [TestCase(f"test.{name}.Tests.test_ok", "passed")]
        if file_outcome == "failed":
            test_file.failures = 1
            test_file.cases.append(TestCase(case_name, "failed", 0.01, "AssertionError: boom",
                                            "Traceback (most recent call last):\nAssertionError: boom"))
        if file_outcome == "crashed":
            test_file.crash = crash
        run.tests["files"].append(test_file)
    run.artifacts = [Artifact("emscripten-python-3.13.15.tar.gz", 1234, "ab" * 32, None)]
    if outcome is None:
        run.decide_outcome()
    else:
        run.outcome = outcome
    return run


def write_run(run: Run, directory: Path) -> Path:
    path = directory / f"{run.run_id}.json"
    run.save(path)
    return path
