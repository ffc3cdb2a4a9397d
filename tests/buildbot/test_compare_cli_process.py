"""`test --baseline` as a process on the stand-in tree: results.json, summary.md and the exit status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from fake_cpython import make_cpython_repo, make_toolchain

CLI = Path(sys.executable).with_name("emscripten-python")


def test_test_with_baseline_writes_the_delta_everywhere_and_exits_by_policy(tmp_path):
    toolchain = make_toolchain(tmp_path / "toolchain")
    source = make_cpython_repo(tmp_path / "cpython")
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]),
           "EMSCRIPTEN_PYTHON_NO_RECORD": "1", "EMSCRIPTEN_PYTHON_CACHE": str(tmp_path / "cache")}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, *args, "--source", source, "--out", tmp_path / "out", "--toolchain", "system"],
                              env=env, capture_output=True, text=True, timeout=120)

    for command in ("toolchain", "build"):
        assert cli(command).returncode == 0
    base = cli("test", "--tests", "test_ok_one,test_fail_known", "--jobs", "1")
    assert base.returncode == 30, base.stderr
    shutil.copy(tmp_path / "out" / "results.json", tmp_path / "base.json")

    # Only the known failure: the default policy (new) accepts it.
    same = cli("test", "--tests", "test_ok_one,test_fail_known", "--jobs", "1", "--baseline", str(tmp_path / "base.json"))
    assert same.returncode == 0, same.stderr
    assert "compared: 0 new failures vs " in same.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["outcome"] == "failure" and results["comparison"]["fails"] is False

    # A second failing file: a new failure, exit 30, named first in summary.md.
    new = cli("test", "--tests", "test_ok_one,test_fail_known,test_fail_new", "--jobs", "1",
              "--baseline", str(tmp_path / "base.json"))
    assert new.returncode == 30, new.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [c["file"] for c in results["comparison"]["changes"] if c["kind"] == "new-failure"] == ["test_fail_new"]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.splitlines()[4].startswith("### Δ `1 new failure vs ")
    assert summary.index("test_fail_new") < summary.index("<details><summary>All results</summary>")
