"""Helpers shared by the Buildbot plugin tests (a plain module: tests/ has no packages)."""

from __future__ import annotations

import json

from emscripten_python.results import Artifact, Run, Stage, TestCase, TestFile


def make_run(*outcomes: str, errors=(), artifacts=()) -> Run:
    """A run with one test file per outcome, named test_<outcome>_<n>."""
    run = Run(run_id="0123456789abcdef", source={"cpython_version": "3.15.0a0", "era": "platforms-emscripten"},
              toolchain={"kind": "system", "emcc_version": "4.0.12", "matches_pin": True},
              node={"version": "20.19.2"}, errors=list(errors),
              stages=[Stage("toolchain", "succeeded"), Stage("make-host", "succeeded"), Stage("test", "succeeded")])
    for n, outcome in enumerate(outcomes):
        failing = outcome in ("failed", "crashed")
        run.test_files.append(TestFile(
            name=f"test_{outcome.replace('-', '_')}_{n}", outcome=outcome, tests_run=3, failures=int(failing),
            attempts=2 if outcome == "flaky" else 1,
            cases=[TestCase(name=f"test.test_{n}.T.test_b", outcome="failed", traceback="AssertionError: 1 != 2")]
            if failing else [],
            crash="RuntimeError: memory access out of bounds" if outcome == "crashed" else None))
    run.artifacts = [Artifact(path=path, size=1, sha256="0" * 64) for path in artifacts]
    run.decide_outcome()
    return run


def results_json(run: Run) -> str:
    return json.dumps(run.to_dict())


class FakeMaster:
    """What a hook reporter reads of its master: the base directory."""

    def __init__(self, basedir):
        self.basedir = str(basedir)
