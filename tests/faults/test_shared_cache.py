"""Several runs at once on one --cache-dir (real processes, the real file locks), with the same and
with different Emscripten versions; and a run killed while it holds the install lock."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fault_rig import EXPECTED_FILES, EXPECTED_RC, Rig, Tally, check_caches, kill_tree, make_fault_tree  # noqa: E402

from emscripten_python import durable  # noqa: E402
from emscripten_python.building.toolchain.emcache import COPIED  # noqa: E402

pytestmark = pytest.mark.timeout(600)


def _together(rig: Rig, versions: list[str]) -> list[tuple[str, int, str, dict]]:
    """One run per version, all started at once, each on its own tree and --out, one cache."""
    processes = []
    for index, version in enumerate(versions):
        tree = rig.root / f"tree{index}"
        if not tree.exists():
            make_fault_tree(tree)
        rig.repo = tree
        processes.append((version, rig.root / f"out{index}",
                          rig.start(out=rig.root / f"out{index}", toolchain=f"emsdk:{version}")))
    finished = []
    for version, out, process in processes:
        try:
            _, stderr = process.communicate(timeout=300)
        finally:
            kill_tree(process)
        results = json.loads((out / "results.json").read_text())
        finished.append((version, process.returncode, stderr, results))
    return finished


def _installs(rig: Rig) -> list[str]:
    log = Path(rig.env["FAKE_EMSDK_LOG"])
    return sorted(line.split()[0] for line in log.read_text().splitlines()) if log.exists() else []


@pytest.mark.parametrize("versions", [["4.0.12", "4.0.12"], ["4.0.12", "4.0.12", "4.0.13", "4.0.13"]])
def test_runs_at_once_share_one_cache(tmp_path, versions):
    rig = Rig.make(tmp_path / "rig")
    rig.env["EMSCRIPTEN_PYTHON_NO_RECORD"] = "1"
    for round_ in ("cold", "warm"):
        for version, rc, stderr, results in _together(rig, versions):
            assert rc == EXPECTED_RC, (round_, version, stderr[-2000:])
            assert results["toolchain"]["emcc_version"] == version
            assert {f["name"]: f["outcome"] for f in results["tests"]["files"]} == EXPECTED_FILES
            em_cache = Path(results["toolchain"]["em_cache"])
            assert em_cache == rig.cache / f"emcache-{version}" and durable.is_complete(em_cache, COPIED)
            if round_ == "warm":
                assert f"emsdk {version}: cached in" in stderr.replace("\n", " ")
        # Each version was installed once, however many runs wanted it at the same moment.
        assert _installs(rig) == sorted(set(versions))
        tally = Tally()
        check_caches(rig, tally)
        assert tally.violations == [] and tally.checks >= 2 * len(set(versions))


def test_a_run_killed_holding_the_install_lock_does_not_stop_the_others(tmp_path):
    rig = Rig.make(tmp_path / "rig")
    rig.env["EMSCRIPTEN_PYTHON_NO_RECORD"] = "1"
    # Each run its own tree: two builds of one tree at once would clash in its build directory.
    trees = [make_fault_tree(rig.root / f"tree{index}") for index in range(2)]
    first = rig.start(out=rig.root / "killed")
    partial = rig.cache / "emsdk" / "4.0.12" / "emsdk.partial"
    deadline = time.monotonic() + 60
    while not (partial / "upstream").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (partial / "upstream").exists(), "the first run never got into the install"
    others = []
    for tree in trees:
        rig.repo = tree
        others.append(rig.start(out=rig.root / f"other{tree.name}"))
    time.sleep(0.2)                   # the others now wait for the lock the first one holds
    kill_tree(first)
    for index, process in enumerate(others):
        try:
            _, stderr = process.communicate(timeout=300)
        finally:
            kill_tree(process)
        assert process.returncode == EXPECTED_RC, stderr[-2000:]
    assert _installs(rig) == ["4.0.12", "4.0.12"]       # the killed install, then one more
    tally = Tally()
    check_caches(rig, tally)
    assert tally.violations == [] and not partial.exists()
