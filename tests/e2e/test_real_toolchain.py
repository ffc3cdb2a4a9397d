"""The real thing: Debian's emcc 3.1.69 builds CPython 3.13.15 and regrtest runs under node 20.

Slow on a fresh machine (provisioning + a ~6 minute build), a few minutes warm. Prints the
measured stage timings. See docs/e2e.rst.
"""

from __future__ import annotations

import json
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emscripten_python.results.artifacts import verify_bundle

pytestmark = pytest.mark.e2e

from real_build import OUT, SELECTION, _cli, _source  # noqa: E402  (the shared real build)


def test_smoke_check_catches_broken_noderawfs(real_run):
    broken = real_run["broken"]
    assert broken.returncode == 13, broken.stdout
    assert "smoke check" in broken.stdout and "fstat" in broken.stdout


def test_run_exit_code_reports_failures(real_run):
    # test_os really fails and test_compile really crashes: exit 30 (tests failed).
    assert real_run["run"].returncode == 30, real_run["run"].stdout[-2000:]
    assert real_run["results"]["outcome"] == "failure"


def test_every_selected_file_has_observed_outcome(real_run):
    files = {f["name"]: f for f in real_run["results"]["tests"]["files"]}
    assert list(files) == SELECTION
    for name in ("test_math", "test_zlib", "test_json", "test_list", "test_bool", "test_int"):
        assert files[name]["outcome"] == "passed", (name, files[name])
    assert files["test_subprocess"]["outcome"] == "skipped"
    assert files["test_os"]["outcome"] == "failed"
    assert files["test_os"]["failures"] >= 1
    assert any(c["outcome"] in ("failed", "error") and c["traceback"] for c in files["test_os"]["cases"])


def test_case_counts_plausible(real_run):
    files = {f["name"]: f for f in real_run["results"]["tests"]["files"]}
    assert files["test_math"]["tests_run"] >= 80
    assert files["test_zlib"]["tests_run"] >= 50
    assert files["test_os"]["tests_run"] >= 300
    assert real_run["results"]["counts"]["tests"]["run"] >= 600


def test_runtime_crash_recorded_and_run_continued(real_run):
    assert real_run["results"]["tests"]["shards"] == 1
    files = {f["name"]: f for f in real_run["results"]["tests"]["files"]}
    crashed = files["test_compile"]
    assert crashed["outcome"] == "crashed"
    assert "RuntimeError" in crashed["crash"] or "RangeError" in crashed["crash"], crashed["crash"]
    # Files after the crash ran in a new node process.
    assert files["test_bool"]["tests_run"] > 0 and files["test_int"]["tests_run"] > 0


def test_junit_valid(real_run):
    tree = ET.parse(real_run["out"] / "junit.xml")
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    assert int(suites.get("tests")) >= 600
    names = [s.get("name") for s in suites.iter("testsuite")]
    assert names == SELECTION
    assert int(suites.get("errors")) >= 1     # the crash


def test_bundle_manifest_matches(real_run):
    artifacts = real_run["results"]["artifacts"]
    assert len(artifacts) == 1
    bundle = real_run["out"] / artifacts[0]["path"]
    assert verify_bundle(bundle) == []
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
    assert "python/python.wasm" in names and "python/python.js" in names and "results.json" in names


def test_python_wasm_runnable(real_run):
    env = real_run["env"]
    source_dir = real_run["results"]["source"]["path"]
    done = env["root"].chroot(
        f"cd {source_dir}/builddir/emscripten-node && node python.js -c 'import sys; print(sys.platform)'",
        capture=True)
    assert done.stdout.strip().splitlines()[-1] == "emscripten"
    wasm = env["root"].path / source_dir.lstrip("/") / "builddir/emscripten-node/python.wasm"
    assert wasm.stat().st_size > 5_000_000


def test_toolchain_recorded(real_run):
    toolchain = real_run["results"]["toolchain"]
    assert toolchain["kind"] == "system" and toolchain["emcc_version"] == "3.1.69"
    assert toolchain["matches_pin"] is True and toolchain["smoke_check"] == "passed"
    assert {p["port"] for p in toolchain["ports"]} == {"zlib", "bzip2"}
    assert real_run["results"]["node"]["version"].startswith("20.")
    assert real_run["results"]["source"]["cpython_version"] == "3.13.15"


def test_pythoninfo_of_the_real_build(real_run):
    """pythoninfo-build and pythoninfo-host ran (warn-only stages, as in CPython's CI) and their
    key: value lines are in results.json: the native build Python is linux, the wasm one emscripten."""
    results = real_run["results"]
    stages = {s["name"]: s for s in results["stages"]}
    assert stages["pythoninfo-build"]["status"] == "succeeded", stages["pythoninfo-build"]
    assert stages["pythoninfo-host"]["status"] == "succeeded", stages["pythoninfo-host"]
    build, host = results["pythoninfo"]["build"], results["pythoninfo"]["host"]
    assert build["info"]["sys.platform"] == "linux"
    assert host["info"]["sys.platform"] == "emscripten"
    assert host["info"]["sys.version"].startswith("3.13.15")
    assert host["log"] == "logs/pythoninfo-host.log" and (real_run["out"] / host["log"]).is_file()
    assert len(host["info"]) >= 50
    # The tree's era defaults reached regrtest (3.13: CPython's 3.14 test-args shape, without -W,
    # which holds output back: see pipeline._CAPTURING_ARGS).
    assert results["tests"]["regrtest_args"][:4] == ["-v", "-uall", "--rerun", "--single-process"]
    assert results["tests"]["tree_test_args"][-1] == "-W" and results["tests"]["dropped_args"] == ["-W"]
    assert results["node"]["wanted"] == "22" and results["node"]["python_sh_flags"] == []


def test_sharded_run_matches_serial(real_run):
    """The same selection on 2 node processes: same per-file outcomes, nothing lost to the crash."""
    env, results = real_run["env"], real_run["results"]
    sharded_out = "/var/lib/ep-e2e/out-sharded"
    env["root"].chroot(f"rm -rf {sharded_out} && mkdir -p {sharded_out} && cp {OUT}/results.json {sharded_out}/")
    done = _cli(env, f"test --source {results['source']['path']} --out {sharded_out} --jobs 2 "
                     f"--tests {','.join(SELECTION)} --timeout 900")
    assert done.returncode == 30, done.stdout[-2000:]
    sharded = json.loads((env["root"].path / sharded_out.lstrip("/") / "results.json").read_text())
    assert sharded["tests"]["shards"] == 2
    serial_files = {f["name"]: (f["outcome"], f["tests_run"]) for f in results["tests"]["files"]}
    sharded_files = {f["name"]: (f["outcome"], f["tests_run"]) for f in sharded["tests"]["files"]}
    assert list(sharded_files) == SELECTION
    for name in SELECTION:
        outcome, run = sharded_files[name]
        assert outcome == serial_files[name][0], name
        if outcome != "crashed":       # a crashed file's partial count depends on nothing else
            assert run == serial_files[name][1], name
    logs = sorted(p.name for p in (env["root"].path / sharded_out.lstrip("/") / "logs").glob("test-shard*.log"))
    assert logs == ["test-shard0.log", "test-shard1.log"]


def test_warm_rebuild_skips_configure(real_run):
    """A cache hit is shown by what ran: configure is not re-run, its log is untouched."""
    env = real_run["env"]
    log = real_run["out"] / "logs" / "configure-host.log"
    before = log.stat().st_mtime_ns if log.exists() else None   # absent when the run itself reused it
    done = _cli(env, f"build --toolchain system --source {_source(env)} --out {OUT}")
    assert done.returncode == 0, done.stdout[-2000:]
    stages = {s["name"]: s for s in json.loads((real_run["out"] / "results.json").read_text())["stages"]}
    assert stages["configure-build-python"]["status"] == "cached"
    assert stages["configure-host"]["status"] == "cached"
    assert (log.stat().st_mtime_ns if log.exists() else None) == before
    # make still runs (it decides itself) and finds nothing to do.
    assert stages["make-host"]["status"] == "succeeded" and stages["make-host"]["duration"] < 30


INJECTED = '''

class EmscriptenPythonInjectedRegression(unittest.TestCase):
    def test_injected_regression(self):
        self.assertEqual(1 + 1, 3, "injected by the e2e comparison test")
'''


def test_comparison_names_exactly_the_injected_regression(real_run):
    """Two real test runs of the real build, the second with one failing test added to a
    copy of a small test file of the tree: the delta names exactly that test, nothing else."""
    env, results = real_run["env"], real_run["results"]
    root, tree = env["root"], results["source"]["path"]
    copy = root.path / tree.lstrip("/") / "Lib" / "test" / "test_ep_compare.py"
    copy.write_text((root.path / tree.lstrip("/") / "Lib" / "test" / "test_bool.py").read_text())
    started = time.monotonic()
    selection = "test_ep_compare,test_int"
    outs = {name: f"/var/lib/ep-e2e/out-compare-{name}" for name in ("base", "head")}
    try:
        for name, out in outs.items():
            if name == "head":
                copy.write_text(copy.read_text() + INJECTED)
            root.chroot(f"rm -rf {out} && mkdir -p {out} && cp {OUT}/results.json {out}/")
            extra = f" --baseline {outs['base']}/results.json" if name == "head" else ""
            done = _cli(env, f"test --source {tree} --out {out} --jobs 1 --tests {selection} --timeout 600{extra}")
            assert done.returncode == (30 if name == "head" else 0), (done.stdout or "")[-3000:] + (done.stderr or "")[-2000:]
        compared = _cli(env, f"compare {outs['base']}/results.json {outs['head']}/results.json --format json")
    finally:
        copy.unlink(missing_ok=True)
    assert compared.returncode == 30, (compared.stdout or "")[-2000:] + (compared.stderr or "")[-2000:]
    delta = json.loads(compared.stdout)
    name = "test.test_ep_compare.EmscriptenPythonInjectedRegression.test_injected_regression"
    assert [(c["kind"], c["test"], c["base"], c["head"]) for c in delta["changes"]] == [
        ("new-failure", name, "absent", "failed")]
    assert delta["verdict"].startswith("1 new failure vs ")
    # `test --baseline` wrote the same delta into the head run, and its summary leads with it.
    head = json.loads((root.path / outs["head"].lstrip("/") / "results.json").read_text())
    assert [c["test"] for c in head["comparison"]["changes"] if c["kind"] == "new-failure"] == [name]
    assert head["comparison"]["base"]["run_id"] == delta["base"]["run_id"]
    env["report"].append(f"comparison (2 test runs of {selection} + compare): {time.monotonic() - started:.0f} s")


def test_shards_from_bundle_on_two_machines_merge_to_serial(real_run):
    """Two "machines" (own directories, node only on PATH, the build tree's stdlib hidden) each
    test one shard from the bundle alone; the merge equals the serial run file by file, crash included."""
    env, results = real_run["env"], real_run["results"]
    root, cli = env["root"], env["cli"]
    bundle = f"{OUT}/{results['artifacts'][0]['path']}"
    base = "/var/lib/ep-e2e/machines"
    tree = results["source"]["path"]
    root.chroot(f"rm -rf {base} && mkdir -p {base}/node-only && ln -s /usr/bin/node {base}/node-only/node && "
                f"for i in 1 2; do mkdir -p {base}/m$i && cp {bundle} {OUT}/test-durations.json {base}/m$i/; done && "
                f"mv {tree}/Lib {tree}/Lib.hidden-by-shard-test")
    started = time.monotonic()
    try:
        shard = (f"cd {base}/m$i && PATH={base}/node-only {cli} test --from-bundle {Path(bundle).name} "
                 f"--shard $i/2 --durations test-durations.json --tests {','.join(SELECTION)} --jobs 1 "
                 f"--timeout 900 --out out > console.txt 2>&1; echo $? > rc")
        root.chroot(f"for i in 1 2; do ( {shard} ) & done; wait", env={"EMSCRIPTEN_PYTHON_NO_RECORD": "1"})
    finally:
        root.chroot(f"mv {tree}/Lib.hidden-by-shard-test {tree}/Lib")
    wall = time.monotonic() - started
    machines = root.path / base.lstrip("/")
    shards = []
    for i in (1, 2):
        console = (machines / f"m{i}" / "console.txt").read_text()
        assert (machines / f"m{i}" / "rc").read_text().strip() in ("0", "30"), console[-3000:]
        shards.append(json.loads((machines / f"m{i}" / "out" / "results.json").read_text()))
    assert [s["shard"]["method"] for s in shards] == ["durations", "durations"]
    assert all(s["shard"]["files"] for s in shards), [s["shard"]["files"] for s in shards]
    merged = _cli(env, f"merge {base}/merged {base}/m2/out/results.json {base}/m1/out/results.json")
    assert merged.returncode == 30, merged.stdout[-2000:]
    merged_results = json.loads((machines / "merged" / "results.json").read_text())
    serial = {f["name"]: f for f in results["tests"]["files"]}
    files = merged_results["tests"]["files"]
    assert [f["name"] for f in files] == SELECTION
    for f in files:
        assert f["outcome"] == serial[f["name"]]["outcome"], f["name"]
        if f["outcome"] != "crashed":
            assert (f["tests_run"], f["failures"], f["skipped"]) == \
                (serial[f["name"]]["tests_run"], serial[f["name"]]["failures"], serial[f["name"]]["skipped"]), f["name"]
    crashed = next(f for f in files if f["name"] == "test_compile")
    assert crashed["outcome"] == "crashed" and "RuntimeError" in crashed["crash"], crashed["crash"]
    assert merged_results["run_id"] == results["run_id"] and merged_results["outcome"] == "failure"
    shard_walls = [next(st["duration"] for st in s["stages"] if st["name"] == "test") for s in shards]
    env["report"].append(f"2 shards from the bundle (durations-balanced {[len(s['shard']['files']) for s in shards]} "
                         f"files): wall {wall:.0f} s, shard test stages {shard_walls}, serial test stage "
                         f"{next(s['duration'] for s in results['stages'] if s['name'] == 'test'):.0f} s")
