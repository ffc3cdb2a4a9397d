"""`--node` given several times, through the real CLI process, on the stand-in CPython tree.

The stand-in tree (tests/buildbot/fake_cpython.py) is a 3.14+ driver tree whose python.sh
runs tests/integration's fake regrtest. The further "nodes" are stand-ins too: they answer
`--version` with their major and start the interpreter the way python.sh would
(node_entry.mjs --this-program=python.sh ...), logging the flags they were given. The
primary is the machine's real node (it also runs the toolchain smoke check).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "buildbot"))
from fake_cpython import make_cpython_repo, make_toolchain  # noqa: E402

pytestmark = pytest.mark.timeout(180)
CLI = Path(sys.executable).with_name("emscripten-python")

FAKE_NODE = '''import json, os, sys
if sys.argv[1:] == ["--version"]:
    print("vVERSION")
    sys.exit(0)
with open(LOG, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
at = next(i for i, arg in enumerate(sys.argv) if arg.startswith("--this-program="))
program = sys.argv[at].split("=", 1)[1]
os.execv(program, [program, *sys.argv[at + 1:]])
'''


def fake_node(directory: Path, version: str) -> tuple[Path, Path]:
    path, log = directory / f"node-{version}", directory / f"node-{version}.log"
    path.write_text(f"#!{sys.executable}\n" + FAKE_NODE.replace("VERSION", version).replace("LOG", repr(str(log))))
    path.chmod(0o755)
    return path, log


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    if not any((Path(d) / "node").exists() for d in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("needs node on PATH (the toolchain smoke check runs it)")
    root = tmp_path_factory.mktemp("matrix")
    toolchain = make_toolchain(root / "toolchain")
    source = make_cpython_repo(root / "cpython")
    env = {**os.environ, "PATH": os.pathsep.join([str(toolchain), os.environ["PATH"]]),
           "EMSCRIPTEN_PYTHON_NO_RECORD": "1", "EMSCRIPTEN_PYTHON_CACHE": str(root / "cache")}
    node24, log24 = fake_node(root, "24.11.1")
    node22, log22 = fake_node(root, "22.12.0")
    out = root / "out"
    done = subprocess.run([CLI, "run", "--source", source, "--out", out, "--toolchain", "system", "--test-jobs", "1",
                           "--tests", "test_ok_a,test_fail_b", "--node", "node", "--node", str(node24),
                           "--node", str(node22), "--node", str(root / "no-such-node")],
                          env=env, capture_output=True, text=True, timeout=150)
    return {"done": done, "results": json.loads((out / "results.json").read_text()), "out": out,
            "log24": log24, "log22": log22}


def test_every_node_has_its_section(matrix):
    results = matrix["results"]
    assert results["tests"]["runtime"]["kind"] == "node"
    assert [f["name"] for f in results["tests"]["files"]] == ["test_ok_a", "test_fail_b"]
    by_version = {s["runtime"]["version"]: s for s in results["runtimes"]}
    assert set(by_version) == {"24.11.1", "22.12.0", None}
    for version in ("24.11.1", "22.12.0"):
        files = {f["name"]: f["outcome"] for f in by_version[version]["files"]}
        assert files == {"test_ok_a": "passed", "test_fail_b": "failed"}, version
        assert not by_version[version].get("error")
    assert by_version["24.11.1"]["logs"] == ["runtimes/node-24/logs/test.log"]


def test_flags_follow_the_node_major(matrix):
    # 3.14+ tree: python.sh's rule, --experimental-wasm-jspi for node 24 only.
    runs24 = [json.loads(line) for line in matrix["log24"].read_text().splitlines()]
    runs22 = [json.loads(line) for line in matrix["log22"].read_text().splitlines()]
    assert runs24 and all(argv[:2] == ["--stack-size=30000", "--experimental-wasm-jspi"] for argv in runs24)
    assert runs22 and all(argv[0] == "--stack-size=30000" and "--experimental-wasm-jspi" not in argv
                          for argv in runs22)
    # python.sh would start its configured node: the further node starts node_entry.mjs itself.
    assert all(Path(argv[1]).name == "node_entry.mjs" and argv[2].endswith("/python.sh") for argv in runs22)
    sections = {s["runtime"]["version"]: s for s in matrix["results"]["runtimes"]}
    assert sections["24.11.1"]["runtime"]["flags"] == ["--stack-size=30000", "--experimental-wasm-jspi"]


def test_a_node_that_cannot_start_is_that_runtimes_error(matrix):
    results, done = matrix["results"], matrix["done"]
    [broken] = [s for s in results["runtimes"] if s["runtime"]["version"] is None]
    assert "no-such-node" in broken["error"] and broken["files"] == []
    # The others still ran; the run is an error (one runtime could not run), exit 1.
    assert results["outcome"] == "error" and done.returncode == 1, done.stderr[-2000:]
    stages = {s["name"]: s["status"] for s in results["stages"]}
    assert stages["test-node-24"] == "succeeded" and stages["test-node-22"] == "succeeded"
    assert stages["test-node"] == "failed"


def test_junit_and_summary_show_each_runtime(matrix):
    out = matrix["out"]
    names = [s.get("name") for s in ET.parse(out / "junit.xml").getroot().iter("testsuite")]
    assert "node-24/test_fail_b" in names and "node-22/test_ok_a" in names
    summary = (out / "summary.md").read_text()
    assert "node 24.11.1" in summary and "node 22.12.0" in summary and "no-such-node" in summary
