"""On the real CPython 3.13.15 wasm build: a file's outcome does not depend on which files shared
its node process (issue 20).

Six small purpose-written files (--testdir) run serially and on 3 node processes. Serially
test_ep20_flaky fails, then test_ep20_abort kills the runtime (os.abort()) before regrtest's
re-run phase, so the runner re-runs test_ep20_flaky as regrtest would have; on 3 processes
(round robin: the flaky file shares its process with test_ep20_fail only) regrtest re-runs it
itself. Both must give the same result for every file. A few node starts; seconds when warm.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from real_build import OUT, _cli

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from rerun_test_files import EXPECTED, SELECTION, rerun_test_files  # noqa: E402

pytestmark = pytest.mark.e2e

TESTDIR = "/var/lib/ep-e2e/ep20-tests"
# The flaky file's mark is in the regrtest temp dir (--tempdir, the parent of its work dir):
# each run gives its own, and a --single-process re-run runs in the same work dir.
TEST_FILES = rerun_test_files('os.path.join(os.path.dirname(os.getcwd()), "ep20-flaky-mark")')


def test_serial_and_three_processes_agree_when_a_crash_follows_a_flaky_file(real_run):
    env, results = real_run["env"], real_run["results"]
    root = env["root"]
    testdir = root.path / TESTDIR.lstrip("/")
    testdir.mkdir(parents=True, exist_ok=True)
    for name, text in TEST_FILES.items():
        (testdir / f"{name}.py").write_text(text)
    runs = {}
    for name, jobs in (("serial", 1), ("sharded", 3)):
        out = f"/var/lib/ep-e2e/out-ep20-{name}"
        root.chroot(f"rm -rf {out} && mkdir -p {out}/tmp && cp {OUT}/results.json {out}/")
        done = _cli(env, f"test --source {results['source']['path']} --out {out} --jobs {jobs} "
                         f"--tests {','.join(SELECTION)} --timeout 600 --regrtest-arg=--testdir={TESTDIR} "
                         f"--regrtest-arg=--tempdir={out}/tmp")
        assert done.returncode == 30, done.stdout[-3000:]
        runs[name] = root.path / out.lstrip("/")
    serial, sharded = (json.loads((runs[name] / "results.json").read_text())["tests"]["files"]
                       for name in ("serial", "sharded"))
    serial_log = (runs["serial"] / "logs" / "test.log").read_text()
    commands = [line for line in serial_log.splitlines() if line.startswith("$ ")]
    assert len(commands) == 3 and commands[-1].endswith(" test_ep20_flaky")     # the runner's re-run
    shard_logs = [p.read_text() for p in (runs["sharded"] / "logs").glob("test-shard*.log")]
    assert any("test_ep20_flaky" in text and "Re-running" in text for text in shard_logs)   # regrtest's
    env["report"].append("issue 20 serial: " + ", ".join(f"{f['name']} {f['outcome']}/{f['attempts']}"
                                                         for f in serial))

    def rows(files):
        return [(f["name"], f["outcome"], f["attempts"], f["failures"],
                 None if f["outcome"] == "crashed" else f["tests_run"]) for f in files]
    assert rows(serial) == rows(sharded)
    assert {f["name"]: (f["outcome"], f["attempts"]) for f in serial} == EXPECTED
