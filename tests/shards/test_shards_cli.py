"""`test --from-bundle --shard I/N` on "other machines" (separate dirs, node only) and `merge`.

The build runs once (stand-in tree and toolchain, through the CLI); each shard unpacks the
bundle into its own output directory with no emcc on PATH; the merge must equal the serial
run of the same selection file by file, crash and re-run included.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from stand_in import SELECTION, build_bundle, cli, node_only_env  # noqa: E402

pytestmark = pytest.mark.timeout(300)
TESTS = ",".join(SELECTION)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    bundle, out, env = build_bundle(root)
    serial = root / "serial"
    shutil.copytree(out, serial)
    done = cli("test", "--source", root / "cpython", "--out", serial, "--tests", TESTS, "--jobs", "1",
               "--toolchain", "system", env=env)
    assert done.returncode == 30, done.stdout + done.stderr
    return {"root": root, "bundle": bundle, "serial": json.loads((serial / "results.json").read_text()),
            "build": json.loads((out / "results.json").read_text()), "env": env}


def _shards(built, count, name, *extra, tests=TESTS):
    root, paths = built["root"], []
    env = node_only_env(root)
    for index in range(1, count + 1):
        out = root / f"{name}-{index}"
        done = cli("test", "--from-bundle", built["bundle"], "--shard", f"{index}/{count}", "--tests", tests,
                   "--out", out, "--jobs", "1", *extra, env=env, cwd=root)
        assert done.returncode in (0, 30), done.stdout[-2000:] + done.stderr[-2000:]
        assert "emcc" not in done.stderr
        paths.append(out / "results.json")
    return paths


def _files(results):
    return [(f["name"], f["outcome"], f["tests_run"], f["failures"], f["attempts"], f["crash"])
            for f in results["tests"]["files"]]


@pytest.mark.parametrize("count", [2, 3])
def test_shards_from_bundle_merge_to_the_serial_run(built, count):
    paths = _shards(built, count, f"hash{count}")
    shards = [json.loads(p.read_text()) for p in paths]
    for index, shard in enumerate(shards, 1):
        assert shard["shard"]["index"] == index and shard["shard"]["method"] == "hash"
        assert shard["shard"]["build"] == {"run_id": built["build"]["run_id"],
                                           "bundle_sha256": shard["artifacts"][0]["sha256"]}
        assert shard["toolchain"]["emcc_version"] == "4.0.12"        # the build's, for the record
        assert shard["source"]["cpython_version"] == "3.15.0a0"
    assert sorted(n for s in shards for n in s["shard"]["files"]) == sorted(SELECTION)
    merged_dir = built["root"] / f"merged{count}"
    done = cli("merge", merged_dir, *reversed(paths))
    assert done.returncode == 30, done.stdout + done.stderr
    merged = json.loads((merged_dir / "results.json").read_text())
    assert _files(merged) == _files(built["serial"])
    crashed = next(f for f in merged["tests"]["files"] if f["name"] == "test_crash_c")
    assert crashed["outcome"] == "crashed" and "memory access out of bounds" in crashed["crash"]
    assert merged["run_id"] == built["build"]["run_id"] and merged["outcome"] == "failure"
    stage_names = [s["name"] for s in merged["stages"]]
    assert "make-host" in stage_names and stage_names[-2:] == ["test", "merge"]
    assert [f"test-shard-{i}-of-{count}" for i in range(1, count + 1)] == [n for n in stage_names if "shard" in n]
    assert (merged_dir / "junit.xml").read_text().count("<testsuite ") == len(SELECTION)
    assert "test_crash_c" in (merged_dir / "summary.md").read_text()
    # A shard with no file of this small selection (3 shards by hash) ran nothing and has no log.
    ran = [s["shard"]["index"] for s in shards if s["shard"]["files"]]
    assert sorted(p.name for p in (merged_dir / "logs").iterdir()) == [f"shard-{i}" for i in ran]
    assert count == 2 or len(ran) < count


def test_duration_balanced_shards(built):
    durations = built["root"] / "durations.json"
    durations.write_text(json.dumps({name: (30.0 if name == "test_ok_a" else 1.0) for name in SELECTION}))
    paths = _shards(built, 2, "timed", "--durations", durations)
    shards = [json.loads(p.read_text()) for p in paths]
    assert {s["shard"]["method"] for s in shards} == {"durations"}
    assert ["test_ok_a"] in [s["shard"]["files"] for s in shards]
    done = cli("merge", built["root"] / "merged-timed", *paths)
    assert done.returncode == 30, done.stderr
    assert _files(json.loads((built["root"] / "merged-timed" / "results.json").read_text())) == _files(built["serial"])


def test_merge_errors_exit_40(built):
    paths = _shards(built, 2, "err")
    missing = cli("merge", built["root"] / "m1", paths[0])
    assert missing.returncode == 40 and "2 of 2 missing" in missing.stderr
    twice = cli("merge", built["root"] / "m2", paths[0], paths[0])
    assert twice.returncode == 40 and "given twice" in twice.stderr
    foreign = json.loads(paths[1].read_text())
    foreign["shard"]["build"]["bundle_sha256"] = "0" * 64
    other = built["root"] / "foreign.json"
    other.write_text(json.dumps(foreign))
    mixed = cli("merge", built["root"] / "m3", paths[0], other)
    assert mixed.returncode == 40 and "another build" in mixed.stderr
    assert not (built["root"] / "m3" / "results.json").exists()


def test_bundle_errors(built):
    env = node_only_env(built["root"])
    broken = built["root"] / "broken.tar.gz"
    data = bytearray(built["bundle"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    done = cli("test", "--from-bundle", broken, "--tests", TESTS, "--out", built["root"] / "b1", env=env)
    assert done.returncode == 41, done.stderr
    done = cli("test", "--tests", TESTS, "--out", built["root"] / "b2", env=env)
    assert done.returncode == 10 and "--from-bundle" in done.stderr
    done = cli("test", "--from-bundle", built["bundle"], "--shard", "3/2", "--out", built["root"] / "b3", env=env)
    assert done.returncode == 2 and "1 <= I <= N" in done.stderr


def test_shards_of_the_tree_itself_without_a_bundle(built):
    """`test --source TREE --shard I/N` in copies of the build's --out: the build run is the identity."""
    root, paths = built["root"], []
    for index in (1, 2):
        out = root / f"tree-shard-{index}"
        shutil.copytree(root / "build-out", out)
        done = cli("test", "--source", root / "cpython", "--out", out, "--shard", f"{index}/2", "--tests", TESTS,
                   "--jobs", "1", "--toolchain", "system", env=built["env"])
        assert done.returncode in (0, 30), done.stdout[-2000:] + done.stderr[-2000:]
        shard = json.loads((out / "results.json").read_text())
        assert shard["shard"]["build"]["run_id"] == built["build"]["run_id"] != shard["run_id"]
        paths.append(out / "results.json")
    done = cli("merge", root / "merged-tree", *paths)
    assert done.returncode == 30, done.stderr
    merged = json.loads((root / "merged-tree" / "results.json").read_text())
    assert _files(merged) == _files(built["serial"]) and merged["run_id"] == built["build"]["run_id"]


# A crash right after a flaky file. By name hash (3 shards) test_flaky_x goes to a shard of its
# own, whose regrtest reaches its re-run phase; serially test_crash_y kills the node process
# first, and the runner re-runs test_flaky_x as that regrtest would have (issue 20).
FLAKY_THEN_CRASH = ["test_ok_a", "test_flaky_x", "test_crash_y", "test_ok_z", "test_fail_w", "test_ok_v"]


def test_serial_and_three_shards_agree_when_a_crash_follows_a_flaky_file(built):
    from emscripten_python.testing.shards import shard_slice

    slices = [shard_slice(FLAKY_THEN_CRASH, index, 3)[0] for index in (1, 2, 3)]
    flaky_shard = next(files for files in slices if "test_flaky_x" in files)
    assert "test_crash_y" not in flaky_shard         # the two paths this test compares differ
    root, tests = built["root"], ",".join(FLAKY_THEN_CRASH)
    serial = root / "serial-flaky"
    shutil.copytree(root / "build-out", serial)
    done = cli("test", "--source", root / "cpython", "--out", serial, "--tests", tests, "--jobs", "1",
               "--toolchain", "system", env=built["env"])
    assert done.returncode == 30, done.stdout[-2000:] + done.stderr[-2000:]
    log = (serial / "logs" / "test.log").read_text()
    assert log.count(" -m test ") == 3          # the first files; the files after the crash; the re-run
    assert [line for line in log.splitlines() if line.startswith("$ ")][-1].endswith(" test_flaky_x")
    paths = _shards(built, 3, "flaky3", tests=tests)
    index = slices.index(flaky_shard) + 1
    assert "Re-running" in (root / f"flaky3-{index}" / "logs" / "test.log").read_text()
    done = cli("merge", root / "merged-flaky", *paths)
    assert done.returncode == 30, done.stdout + done.stderr
    merged = json.loads((root / "merged-flaky" / "results.json").read_text())
    serial_results = json.loads((serial / "results.json").read_text())
    assert _files(merged) == _files(serial_results)
    assert {f["name"]: (f["outcome"], f["attempts"]) for f in merged["tests"]["files"]} == {
        "test_ok_a": ("passed", 1), "test_flaky_x": ("flaky", 2), "test_crash_y": ("crashed", 1),
        "test_ok_z": ("passed", 1), "test_fail_w": ("failed", 2), "test_ok_v": ("passed", 1)}
