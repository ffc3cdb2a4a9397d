"""The project's master (master/master.cfg, EP_SHARDS=2) and 2 real workers run a sharded build
(steps/sharding.py) of the stand-in tree.

The parent builds once and bundles; the Trigger step starts 2 shard builds through a
Triggerable scheduler; each runs on its own worker (its own directory), downloads the bundle
from the master and tests its shard from the bundle alone; the parent's `test` step merges
their results.json and carries the merged verdict, properties and summary.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from emscripten_python.results.artifacts import sha256_of

from test_integration import BIN, FAILURE, READY, SUCCESS, Fleet, wait_for

sys.path.insert(0, str(Path(__file__).parents[1] / "shards"))
from stand_in import SELECTION, make_relocatable_repo  # noqa: E402

pytestmark = pytest.mark.timeout(900)
PARENT, SHARDS = "Emscripten main", "Emscripten main shards"

class ShardFleet(Fleet):
    def __init__(self, root: Path):
        super().__init__(root)
        repo = make_relocatable_repo(root / "cpython-relocatable")
        # The project's master.cfg with EP_SHARDS: every builder tests as 2 shard builds;
        # EP_MAX_BUILDS 2 lets the worker running the (waiting) parent also run a shard.
        self.env.update({"EP_WORKERS": "w1:secret-pw w2:secret-pw", "EP_REPO_URL": f"file://{repo}",
                         "EP_TESTS": ",".join(SELECTION), "EP_SHARDS": "2", "EP_MAX_BUILDS": "2", "EP_JOBS": "1"})
        self.worker2_dir, self.worker2 = root / "worker2", None

    def create_worker(self, name="w1", basedir=None):
        # Buildbot's own worker layout (test_integration.py covers `emscripten-python worker create`).
        done = subprocess.run([BIN / "buildbot-worker", "create-worker", basedir or self.worker_dir,
                               f"127.0.0.1:{self.pb}", name, "secret-pw"], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    def start_workers(self):
        self.create_worker()
        self.start_worker()
        self.create_worker("w2", self.worker2_dir)
        self.worker2 = subprocess.Popen([BIN / "buildbot-worker", "start", "--nodaemon", self.worker2_dir],
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: any(w["connected_to"] for w in self.get("workers")["workers"] if w["name"] == "w2"),
                 READY, "worker w2 to connect")

    def processes(self) -> list:
        return [self.worker2, *super().processes()]

    def builds_of(self, builder: str) -> list[dict]:
        builderid = next(b["builderid"] for b in self.get("builders")["builders"] if b["name"] == builder)
        return self.get(f"builders/{builderid}/builds?property=*")["builds"]


@contextmanager
def shards_explained(fleet: ShardFleet):
    """A failed assertion also shows the shard builds' steps and their test step's stdio tail."""
    try:
        yield
    except AssertionError as exc:
        lines = [str(exc)]
        for build in fleet.builds_of(SHARDS):
            lines.append(f"shard build {build['number']}: {build['state_string']}")
            for step in fleet.get(f"builds/{build['buildid']}/steps")["steps"]:
                lines.append(f"  {step['name']} {step['results']} {step['state_string']}")
                if step["results"] not in (None, SUCCESS):
                    for log in fleet.get(f"steps/{step['stepid']}/logs")["logs"]:
                        content = fleet.get(f"logs/{log['logid']}/contents")["logchunks"]
                        text = "".join(chunk["content"] for chunk in content)
                        lines.append("\n".join(text.splitlines()[-15:]))
        raise AssertionError("\n".join(lines)) from None


@pytest.fixture(scope="module")
def shard_fleet(tmp_path_factory):
    fleet = ShardFleet(tmp_path_factory.mktemp("shard-fleet"))
    try:
        fleet.start_master()
        fleet.start_workers()
        yield fleet
    finally:
        fleet.stop()


def test_sharded_build_on_two_workers_merges_in_the_parent(shard_fleet):
    fleet = shard_fleet
    fleet.force()
    build = fleet.finished_build(1)
    with fleet.explained(build), shards_explained(fleet):
        assert build["results"] == FAILURE, build["state_string"]
        steps = fleet.steps(build)
        names = list(steps)
        assert {"pythoninfo-host", "upload-results"} <= set(names), names
        # The unsharded factory's steps, with `test` + `bundle` replaced by the sharded four.
        assert names[names.index("pythoninfo-host"):names.index("upload-results")] == [
            "pythoninfo-host", "bundle", "upload-bundle-for-shards", "shards", "test"]
        assert steps["test"]["state_string"] == "3 passed, 1 failed, 1 crashed, 1 flaky, 1 skipped (failure)"
        assert steps["test"]["results"] == FAILURE and steps["shards"]["state_string"].startswith("triggered")
        assert steps["upload-results"]["results"] == SUCCESS

        parent_props = {k: v for k, (v, _) in build["properties"].items()}
        shard_builds = wait_for(lambda: len(b := fleet.builds_of(SHARDS)) == 2 and all(x["complete"] for x in b) and b,
                                READY, "the 2 shard builds")
        props = [{k: v for k, (v, _) in b["properties"].items()} for b in shard_builds]
        assert sorted(p["shard"] for p in props) == ["1/2", "2/2"]
        assert sorted(p["workername"] for p in props) == ["w1", "w2"]        # 2 workers, one shard each
        for shard_build, shard_props in zip(shard_builds, props):
            shard_steps = fleet.steps(shard_build)
            assert list(shard_steps) == ["worker_preparation", "clean-previous", "download-bundle", "test",
                                         "upload-shard-results", "clean"]
            assert shard_steps["upload-shard-results"]["results"] == SUCCESS
            assert "results_path" not in shard_props          # only the parent's merged run is reported
        # The shards ran from the bundle (no checkout, no toolchain step): their record says so.
        shard_runs = [json.loads(path.read_text()) for path in sorted((fleet.artifacts / "Emscripten-main" / "1"
                                                                         / "shards").glob("*.json"))]
        bundle = fleet.artifacts / "Emscripten-main" / "1" / Path(parent_props["emscripten_bundle"]).name
        assert [run["shard"]["build"]["bundle_sha256"] for run in shard_runs] == [sha256_of(bundle)] * 2
        assert all("/emscripten-main-shard/emscripten-python-out/bundle/tree" in run["source"]["path"]
                   for run in shard_runs)

        assert parent_props["test_files_total"] == len(SELECTION)
        assert parent_props["crashed_tests"] == ["test_crash_c"]
        assert parent_props["failed_tests"] == ["test_fail_b"]
        assert parent_props["flaky_tests"] == ["test_flaky_d"]
        uploaded = fleet.artifacts / "Emscripten-main" / "1"
        merged = json.loads((uploaded / "results.json").read_text())
        assert [f["name"] for f in merged["tests"]["files"]] == SELECTION
        assert merged["shard"]["count"] == 2 and [s["index"] for s in merged["shard"]["merged"]] == [1, 2]
        assert merged["run_id"] == merged["shard"]["build"]["run_id"]
        assert {s["origin"]["url"].rsplit("/", 1)[0] for s in merged["shard"]["merged"]} == \
            {f"{fleet.url}#/builders/{shard_builds[0]['builderid']}/builds"}
        stage_names = [s["name"] for s in merged["stages"]]
        assert "make-host" in stage_names and "test-shard-1-of-2" in stage_names and "merge" in stage_names
        assert sorted(p.name for p in (uploaded / "shards").iterdir()) == ["1.json", "2.json"]
