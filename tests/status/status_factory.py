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


def run_document(files: dict[str, str], **changes) -> dict:
    """make_run(files=...)'s results.json as a dict, `changes` applied (`a__0__b`: data["a"][0]["b"])."""
    data = make_run(files=files).to_dict()
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value
    return data


def write_run(run: Run, directory: Path) -> Path:
    path = directory / f"{run.run_id}.json"
    run.save(path)
    return path


def sha(n: int) -> str:
    """A commit id of its own for each n (hex, as git's)."""
    import hashlib
    return hashlib.sha1(f"commit {n}".encode()).hexdigest()


def make_bisection(*, tests: list[str] | None = None, state: str = "found", culprit: int = 7,
                   subject: str = "gh-1: os.walk() follows symlinks", author: str = "A. Author",
                   branch: str | None = "3.13", builder: str | None = "emscripten node", skipped: int = 0,
                   build_url: str | None = "https://ci.invalid/builds/9", from_run: str | None = None,
                   started: str | None = "2026-11-01T15:00:00+00:00") -> dict:
    """A bisect.json (docs/bisect.rst) as `bisect` writes it: GOOD sha(0), BAD sha(12), the
    first bad commit sha(culprit); inconclusive: sha(culprit - skipped)..sha(culprit) suspects."""
    described = lambda n, text="other change": {"commit": sha(n), "subject": text, "author": author}  # noqa: E731
    steps = [{"number": i + 1, "role": role, "commit": sha(n), "subject": "other change", "built": True,
              "runs": [{"kinds": ["fail"], "files": {}, "verdict": verdict}], "verdict": verdict,
              "outcome": "failed" if verdict == "bad" else "passed", "duration": 60.5, "results": None}
             for i, (role, n, verdict) in enumerate((("bad", 12, "bad"), ("good", 0, "good"),
                                                     ("search", 6, "good"), ("search", 9, "bad")))]
    return {
        "schema": 1, "state": state, "error": None, "source": "/work/cpython", "started": started,
        "origin": {k: v for k, v in (("kind", "buildbot"), ("builder", builder), ("branch", branch),
                                     ("url", build_url)) if v is not None},
        "good": described(0), "bad": described(12),
        "refs": {"good": "v3.13.0", "bad": "3.13", **({"from_run": from_run} if from_run else {})},
        "tests": tests or ["test_os"], "flaky_reruns": 2, "failure": "fail", "commits": 12,
        "first_bad": described(culprit, subject) if state == "found" else None,
        "suspects": ([described(n) for n in range(culprit - skipped, culprit)] + [described(culprit, subject)]
                     if state == "inconclusive" else []),
        "builds": len(steps), "duration": 250.25, "steps": steps,
    }


def write_bisection(data: dict, directory: Path, name: str = "bisect.json") -> Path:
    import json
    path = directory / name
    path.write_text(json.dumps(data))
    return path
