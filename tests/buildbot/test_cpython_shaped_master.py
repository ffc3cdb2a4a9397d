"""EmscriptenFactory dropped into a master.cfg shaped like python/buildmaster-config's
(tests/buildbot/cpython_master/master.cfg): `buildbot checkconfig` passes, and a real master
and worker run a build with the factory, the master's own checkout step first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_integration import BIN, REPO_ROOT, SUCCESS, Fleet

pytestmark = pytest.mark.timeout(900)
MASTER = Path(__file__).parent / "cpython_master"
BUILDER = "WASM Emscripten 3.x"


def test_checkconfig_and_the_builders_it_makes(tmp_path):
    master = tmp_path / "master"
    master.mkdir()
    shutil.copy(MASTER / "master.cfg", master / "master.cfg")
    shutil.copy(REPO_ROOT / "master" / "buildbot.tac", master / "buildbot.tac")
    env = {key: value for key, value in os.environ.items() if not key.startswith("EP_")}
    done = subprocess.run([BIN / "buildbot", "checkconfig", str(master)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Config file is good!" in done.stdout
    # What the loop made of the factory's class attributes (3.10 is not in its branches).
    import runpy
    config = runpy.run_path(str(master / "master.cfg"))["BuildmasterConfig"]
    builders = {b.name: b for b in config["builders"]}
    assert list(builders) == ["WASM Emscripten 3.x", "WASM Emscripten 3.14", "WASM Emscripten PR"]
    assert builders["WASM Emscripten 3.x"].builddir == "3.x.emscripten-shape.emscripten"
    assert builders["WASM Emscripten PR"].tags == ["PullRequest", "stable", "tier-3", "emscripten"]
    steps = [f.buildStep() for f in builders["WASM Emscripten 3.x"].factory.steps]
    assert steps[0].name == "git" and steps[0].branch == "main"
    test = next(step for step in steps if step.name == "test")
    assert test.command[-4:] == ["--jobs", "2", "--timeout", "2400"]      # the worker's parallel_tests, timeout_factor


@pytest.fixture(scope="module")
def cpython_fleet(tmp_path_factory):
    fleet = Fleet(tmp_path_factory.mktemp("cpython-fleet"), master_src=MASTER, builder=BUILDER,
                  worker_name="emscripten-shape")
    fleet.env["EP_TESTS"] = "test_ok_a,test_skip_e"
    fleet.env["EP_TOOLCHAIN"] = "system"
    with fleet.running():
        yield fleet


def test_runs_a_build_with_the_factory(cpython_fleet):
    fleet = cpython_fleet
    fleet.force()
    build = fleet.finished_build(1)
    with fleet.explained(build):
        assert build["results"] == SUCCESS, build["state_string"]
        steps = fleet.steps(build)
        assert list(steps)[:4] == ["worker_preparation", "git", "clean-previous", "toolchain"]
        assert steps["test"]["state_string"] == "1 passed, 1 skipped"
        test_log = fleet.step_log(steps["test"])
        assert "] test_ok_a" in test_log and "== Tests result: SUCCESS ==" in test_log
        results = json.loads((fleet.artifacts / "WASM-Emscripten-3.x" / "1" / "results.json").read_text())
        assert results["origin"]["builder"] == BUILDER and results["outcome"] == "success"
        assert not fleet.leftover_processes()
