"""The runner's re-run of files a dead segment left failed, with the real regrtest of every
CPython on this machine (Debian's 3.11.2: same-process `-w`; pyenv's 3.11.7 and 3.12.1: a
worker per file matching its failed cases; 3.13.0 both with and without --single-process).

Small purpose-written files (--testdir): a flaky file (fails the first time it runs in a run:
a mark in $EP20_RUN_DIR, which regrtest's worker processes inherit too), then a file that kills the interpreter (os.abort()), so serially regrtest
never reaches its re-run phase for the flaky file and the runner re-runs it; on 3 processes
(round robin) regrtest re-runs it itself. Serial and sharded runs must agree file by file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emscripten_python.building.host import HostPython
from emscripten_python.testing.runner import TestOptions
from emscripten_python.testing.shards import run_sharded

from rerun_test_files import EXPECTED, SELECTION, rerun_test_files

TEST_FILES = rerun_test_files('os.path.join(os.environ["EP20_RUN_DIR"], "flaky-mark")')
CASES = [
    ("3.11.2", "/usr/bin/python3.11", ["-v", "-w"]),
    ("3.11.7", "/root/.pyenv/versions/3.11.7/bin/python", ["-v", "--rerun"]),
    ("3.12.1", "/root/.pyenv/versions/3.12.1/bin/python", ["-vw"]),
    ("3.13.0", "/root/.pyenv/versions/3.13.0/bin/python", ["-v", "--rerun"]),
    ("3.13.0", "/root/.pyenv/versions/3.13.0/bin/python", ["-v", "--rer", "--single-process"]),
]


def _host(python: str, cwd: Path) -> HostPython:
    if not Path(python).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{python} is not installed")
        pytest.skip(f"{python} is not installed")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return HostPython(argv=[python], cwd=cwd, env={**env, "EP20_RUN_DIR": str(cwd)})


@pytest.mark.parametrize("version, python, args", CASES, ids=[f"{v}{''.join(a)}" for v, _, a in CASES])
def test_serial_and_three_processes_agree_with_real_regrtest(tmp_path, version, python, args):
    testdir = tmp_path / "tests"
    testdir.mkdir()
    for name, text in TEST_FILES.items():
        (testdir / f"{name}.py").write_text(text)
    runs = {}
    for name, shards in (("serial", 1), ("sharded", 3)):
        out = tmp_path / name
        (out / "tmp").mkdir(parents=True)
        options = TestOptions(selection=SELECTION, cpython_version=version, file_timeout=120,
                              regrtest_args=[*args, "--testdir", str(testdir), "--tempdir", str(out / "tmp")])
        runs[name] = run_sharded(_host(python, out), options, out, shards, log=lambda message: None)
    commands = [line for line in (tmp_path / "serial" / "logs" / "test.log").read_text().splitlines()
                if line.startswith("$ ")]
    assert len(commands) == 3 and commands[-1].endswith(" test_ep20_flaky")      # the runner's re-run
    if "--single-process" not in args and version != "3.11.2":
        assert " -m test_once " in commands[-1]       # only its failed case, as regrtest's worker
    logs = [p.read_text() for p in (tmp_path / "sharded" / "logs").glob("test-shard*.log")]
    assert any("test_ep20_flaky" in text and "Re-running" in text for text in logs)   # regrtest's own

    def rows(files):
        return [(f.name, f.outcome, f.attempts, f.failures, None if f.outcome == "crashed" else f.tests_run)
                for f in files]
    assert rows(runs["serial"]) == rows(runs["sharded"])
    assert {f.name: (f.outcome, f.attempts) for f in runs["serial"]} == EXPECTED
