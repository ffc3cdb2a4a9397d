"""Helpers shared by the Buildbot plugin tests (a plain module: tests/ has no packages)."""

from __future__ import annotations

import json

from emscripten_python.results.model import Artifact, Run, Stage, TestCase, TestFile


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


# -- the test step's stdio as CPython's buildmaster reads it ----------------------------------
# Written from what python/buildmaster-config's master/custom/testsuite_utils.py does (commit
# 6c43b74, Logs._get_test_results; its code is not copied): the first log of the step named
# "test" is split with str.splitlines, each line stripped of every leading "e"/"o" (the channel
# letter and more), and a block starts at a line "<digits><one whitespace><header>:" and runs to
# the next line starting with a digit, "test" or "Total", or the end. The distinct blocks go
# through a set and the extraction reads whichever the set lists last: an arbitrary one.
FAILED_HEADER, RERUN_HEADER = r"tests?\sfailed", r"re-run\stests?"


def cpython_blocks(stdio: str, header: str = FAILED_HEADER) -> set[frozenset[str]]:
    """The distinct blocks the extraction picks from, each as the test names it holds; a stdio
    is read right for every build only when there is exactly one."""
    import re
    text = "\n".join(line.lstrip("eo") for line in stdio.splitlines())
    start = re.compile(rf"^\d+\s{header}:", re.M)
    end = re.compile(r"^(?:\d|test|Total)", re.M)
    blocks = set()
    for match in start.finditer(text):
        stop = end.search(text, match.end())
        blocks.add(text[match.start():stop.start() if stop else len(text)])
    return {frozenset(name for line in block.split("\n")[1:] for name in line.split(" ") if name) for block in blocks}


def stdio_as_stored(log) -> str:
    """A step's stdio log as Buildbot stores and serves it: one channel letter per line."""
    return "".join(f"o{line}\n" for line in log.stdout.splitlines()) + "".join(
        f"e{line}\n" for line in log.stderr.splitlines())
