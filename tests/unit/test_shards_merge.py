"""Shards across machines: the split (`test --shard I/N`), the merge, the bundle's layout."""

from __future__ import annotations

import copy
import io
import json
import tarfile

import pytest

from emscripten_python.results.artifacts import BundleError, bundle_layout, make_bundle, unpack_bundle
from emscripten_python.errors import ResultsError, TestRunError
from emscripten_python.cli.merge import merge_runs
from emscripten_python.results.model import Run, Stage, TestCase, TestFile
from emscripten_python.testing.shards import parse_shard, selection_digest, shard_slice

NAMES = [f"test_mod{n}" for n in range(40)]


# -- the split --------------------------------------------------------------------------------
def test_parse_shard():
    assert parse_shard("1/4") == (1, 4) and parse_shard(" 4 / 4 ") == (4, 4)
    for bad in ("0/4", "5/4", "1", "a/b", "", "1/0"):
        with pytest.raises(TestRunError):
            parse_shard(bad)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_hash_split_covers_selection_once_in_order(count):
    parts = [shard_slice(NAMES, i, count)[0] for i in range(1, count + 1)]
    flat = [name for part in parts for name in part]
    assert sorted(flat) == sorted(NAMES) and len(flat) == len(NAMES)
    for part in parts:
        assert part == [name for name in NAMES if name in part]     # selection order kept
    assert shard_slice(NAMES, 1, count) == (parts[0], "hash")       # deterministic


def test_hash_split_is_stable_when_one_file_is_added():
    before = {i: set(shard_slice(NAMES, i, 4)[0]) for i in range(1, 5)}
    after = {i: set(shard_slice(NAMES + ["test_new"], i, 4)[0]) for i in range(1, 5)}
    moved = [name for name in NAMES if not any(name in before[i] and name in after[i] for i in before)]
    assert moved == []
    assert sum("test_new" in part for part in after.values()) == 1
    # A modulo over the index would move files; the hash spreads them over every shard.
    assert all(len(part) >= 4 for part in before.values())


def test_duration_split_balances_and_agrees_between_machines():
    durations = {name: (100.0 if name == "test_mod0" else 1.0) for name in NAMES}
    one, method = shard_slice(NAMES, 1, 2, durations)
    two, _ = shard_slice(NAMES, 2, 2, durations)
    assert method == "durations" and set(one) | set(two) == set(NAMES) and not set(one) & set(two)
    heavy, light = (one, two) if "test_mod0" in one else (two, one)
    assert heavy == ["test_mod0"] and len(light) == 39
    assert shard_slice(NAMES, 1, 2, dict(durations)) == (one, method)


def test_more_shards_than_files_leaves_some_empty():
    parts = [shard_slice(["test_a", "test_b"], i, 3, {"test_a": 1.0, "test_b": 2.0})[0] for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == ["test_a", "test_b"] and [] in parts
    with pytest.raises(TestRunError):
        shard_slice(NAMES, 3, 2)


# -- the merge --------------------------------------------------------------------------------
SELECTION = ["test_ok_a", "test_crash_c", "test_fail_b", "test_flaky_d", "test_asyncio", "test_skip_e"]
BUILD = {"run_id": "build0001", "bundle_sha256": "ab" * 32}


def _result(name: str) -> TestFile:
    if name.startswith("test_crash"):
        return TestFile(name, "crashed", 1.5, tests_run=2, crash="RuntimeError: memory access out of bounds",
                        cases=[TestCase(f"test.{name}.T.test_deep", "error", traceback="RuntimeError")])
    if name.startswith("test_flaky"):
        return TestFile(name, "flaky", 2.0, tests_run=3, failures=1, attempts=2)
    if name.startswith("test_fail"):
        return TestFile(name, "failed", 0.5, tests_run=3, failures=1)
    if name.startswith("test_skip"):
        return TestFile(name, "skipped", 0.1)
    return TestFile(name, "passed", 1.0, tests_run=3)


def _expand(name: str) -> list[TestFile]:
    if name == "test_asyncio":      # regrtest runs a package as its parts
        return [TestFile("test.test_asyncio.test_tasks", "passed", 3.0, tests_run=5),
                TestFile("test.test_asyncio.test_locks", "passed", 1.0, tests_run=4)]
    return [_result(name)]


def _shard(index: int, count: int, *, build=BUILD, selection=SELECTION, files=None) -> Run:
    mine = files if files is not None else shard_slice(selection, index, count)[0]
    run = Run(source={"cpython_version": "3.13.15", "era": "configure"}, node={"version": "20.19.2"},
              stages=[Stage("make-host", "succeeded", 60.0), Stage("test", "succeeded", 10.0 * index)])
    run.tests = {"selection": mine, "regrtest_args": ["-v"], "files": [r for n in mine for r in _expand(n)]}
    run.shard = {"index": index, "count": count, "method": "hash", "selection": list(selection),
                 "selection_digest": selection_digest(selection), "files": mine, "build": build}
    return run


def _serial() -> list[TestFile]:
    return [r for n in SELECTION for r in _expand(n)]


def test_merge_equals_serial_file_by_file():
    shards = [(f"s{i}", _shard(i, 3)) for i in (3, 1, 2)]      # any order
    merged = merge_runs(shards)
    assert [(f.name, f.outcome, f.tests_run, f.attempts, f.crash) for f in merged.test_files] == \
        [(f.name, f.outcome, f.tests_run, f.attempts, f.crash) for f in _serial()]
    assert merged.run_id == BUILD["run_id"] and merged.outcome == "failure"
    names = [s.name for s in merged.stages]
    assert names == ["make-host", "test-shard-1-of-3", "test-shard-2-of-3", "test-shard-3-of-3", "test"]
    assert merged.stages[-1].duration == 30.0          # the wall time of the slowest shard
    assert [s["index"] for s in merged.shard["merged"]] == [1, 2, 3]
    assert merged.tests["selection"] == SELECTION and merged.tests["shards"] == 3
    assert Run.from_dict(json.loads(json.dumps(merged.to_dict()))).shard["build"] == BUILD


def test_merge_continues_the_builds_own_record():
    base = Run(run_id=BUILD["run_id"], stages=[Stage("toolchain", "succeeded"), Stage("bundle", "succeeded")],
               source=dict(_shard(1, 2).source))
    merged = merge_runs([("a", _shard(1, 2)), ("b", _shard(2, 2))], base)
    assert [s.name for s in merged.stages][:2] == ["toolchain", "bundle"] and len(merged.test_files) == 7
    with pytest.raises(ResultsError, match="not this run"):
        merge_runs([("a", _shard(1, 2)), ("b", _shard(2, 2))], Run(run_id="other"))
    base.source["commit"] = "c" * 40
    with pytest.raises(ResultsError, match="the run in OUT is of another commit"):
        merge_runs([("a", _shard(1, 2)), ("b", _shard(2, 2))], base)


def test_merge_refuses_a_shard_of_another_commit():
    """Issue 21: the build identity is written by the shard itself; its source must agree too."""
    one, two = _shard(1, 2), _shard(2, 2)
    one.source["commit"], two.source["commit"] = "a" * 40, "b" * 40
    with pytest.raises(ResultsError, match="b is of another commit than a"):
        merge_runs([("a", one), ("b", two)])
    two.source["commit"], two.source["cpython_version"] = "a" * 40, "3.13.14"
    with pytest.raises(ResultsError, match="another cpython version"):
        merge_runs([("a", one), ("b", two)])


@pytest.mark.parametrize("shards, message", [
    ([("a", _shard(1, 2))], r"shard\(s\) 2 of 2 missing"),
    ([("a", _shard(1, 2)), ("b", _shard(1, 2))], "given twice"),
    ([("a", _shard(1, 2)), ("b", _shard(2, 2, build={"run_id": "x", "bundle_sha256": "cd" * 32}))], "another build"),
    ([("a", _shard(1, 2)), ("b", _shard(2, 2, selection=SELECTION + ["test_more"]))], "another test selection"),
    ([("a", _shard(1, 2)), ("b", _shard(2, 3))], "another shard count"),
    ([("a", _shard(1, 2)), ("b", Run())], "not a shard's results.json"),
])
def test_merge_refuses_what_is_not_one_run(shards, message):
    with pytest.raises(ResultsError, match=message):
        merge_runs(shards)


def test_merge_refuses_duplicated_or_missing_file_results():
    one, two = _shard(1, 2), _shard(2, 2)
    stolen = copy.deepcopy(one.test_files[0])
    two.tests["files"].append(stolen)
    with pytest.raises(ResultsError, match="not one of its files"):
        merge_runs([("a", one), ("b", two)])
    one, two = _shard(1, 2), _shard(2, 2)
    lost = one.tests["files"].pop()
    with pytest.raises(ResultsError, match=f"without results for {lost.name}"):
        merge_runs([("a", one), ("b", two)])
    # A shard whose test stage failed says why; the merge keeps that instead of refusing.
    one.errors.append("the interpreter died 3 times before running a test file")
    merged = merge_runs([("a", one), ("b", two)])
    assert merged.outcome == "error" and merged.errors[0].startswith("shard 1/2: the interpreter died")


def test_merge_refuses_a_tampered_selection():
    one, two = _shard(1, 2), _shard(2, 2)
    two.shard["selection"] = SELECTION[:-1]
    with pytest.raises(ResultsError, match="selection_digest"):
        merge_runs([("a", one), ("b", two)])


# -- the bundle's layout ------------------------------------------------------------------------
def _built_tree(tmp_path):
    tree = tmp_path / "built" / "cpython"
    host = tree / "cross-build" / "wasm32-emscripten" / "build" / "python"
    (host / "build" / "lib.emscripten-wasm32-3.15").mkdir(parents=True)
    (host / "build" / "lib.emscripten-wasm32-3.15" / "_sysconfigdata.py").write_text("x = 1\n")
    (host / "python.wasm").write_bytes(b"\0asm")
    (host / "python.sh").write_text(f'#!/bin/sh\nexec node {host}/python.mjs "$@"\n')
    (tree / "Lib").mkdir()
    (tree / "Lib" / "os.py").write_text("# os\n")
    members = {"python/python.wasm": host / "python.wasm", "python/python.sh": host / "python.sh",
               "python/lib.emscripten-wasm32-3.15": host / "build" / "lib.emscripten-wasm32-3.15",
               "python/Lib": tree / "Lib", "results.json": tmp_path / "results.json"}
    Run(run_id="build0001", source={"cpython_version": "3.15.0", "era": "platforms-emscripten"}).save(
        tmp_path / "results.json")
    return tree, members


def test_unpacked_bundle_puts_files_where_the_build_had_them(tmp_path):
    tree, members = _built_tree(tmp_path)
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members, layout=bundle_layout(members, tree))
    unpacked = unpack_bundle(bundle, tmp_path / "elsewhere")
    host = unpacked.tree / "cross-build" / "wasm32-emscripten" / "build" / "python"
    assert (host / "build" / "lib.emscripten-wasm32-3.15" / "_sysconfigdata.py").read_text() == "x = 1\n"
    assert (unpacked.tree / "Lib" / "os.py").exists() and (host / "python.wasm").read_bytes() == b"\0asm"
    # The launcher names the build machine's tree: it now names the unpacked one.
    assert f"{host}/python.mjs" in (host / "python.sh").read_text() and str(tree) not in (host / "python.sh").read_text()
    assert unpacked.results["run_id"] == "build0001" and len(unpacked.sha256) == 64


def _rewrite(bundle, tmp_path, change):
    """A copy of the bundle with member contents changed by change(name, data) (None drops it)."""
    copy_path = tmp_path / "changed.tar.gz"
    with tarfile.open(bundle) as source, tarfile.open(copy_path, "w:gz") as target:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
    return copy_path


def test_unpack_refuses_tampered_or_layoutless_bundles(tmp_path):
    tree, members = _built_tree(tmp_path)
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members, layout=bundle_layout(members, tree))
    tampered = _rewrite(bundle, tmp_path, lambda name, data: b"evil" if name == "python/python.wasm" else data)
    with pytest.raises(BundleError, match="sha256 manifest: python/python.wasm"):
        unpack_bundle(tampered, tmp_path / "x")
    make_bundle(bundle, members)     # no layout: an older bundle
    with pytest.raises(BundleError, match="no layout"):
        unpack_bundle(bundle, tmp_path / "y")
    escaping = _rewrite(bundle, tmp_path, lambda name, data: json.dumps(
        {**json.loads(data), "layout": {"source_root": "/", "paths": {"python/Lib": "../../etc"}}}).encode()
        if name == "MANIFEST.json" else data)
    with pytest.raises(BundleError, match="leaves the tree"):
        unpack_bundle(escaping, tmp_path / "z")
    with pytest.raises(BundleError, match="no such bundle"):
        unpack_bundle(tmp_path / "missing.tar.gz", tmp_path / "w")


def test_merge_combines_further_runtimes_section_by_section():
    one, two = _shard(1, 2), _shard(2, 2)
    for run in (one, two):
        run.runtimes = [{"runtime": {"kind": "node", "version": "24.1.0"},
                         "files": [copy.deepcopy(f) for f in run.test_files]}]
    two.runtimes[0]["error"] = "node 24 is not installed"
    merged = merge_runs([("a", one), ("b", two)])
    [section] = merged.runtimes
    assert [f.name for f in section["files"]] == [f.name for f in _serial()]
    assert section["runtime"]["version"] == "24.1.0" and section["error"] == "shard 2: node 24 is not installed"
    two.runtimes = []
    with pytest.raises(ResultsError, match="further runtimes"):
        merge_runs([("a", one), ("b", two)])


@pytest.mark.parametrize("results", [b'{"schema_version": 2, "run_id": "build0001", "x": NaN}',
                                     b'{"schema_version": 1}', b"[" * 100_000 + b"]" * 100_000])
def test_a_bundle_whose_results_json_is_not_valid_is_refused(tmp_path, results):
    """Issue 21: the bundle's results.json goes through the checks of every other reader (exit 41)."""
    tree, members = _built_tree(tmp_path)
    members["results.json"].write_bytes(results)     # the manifest is made over it: not tampering
    bundle = tmp_path / "b.tar.gz"
    make_bundle(bundle, members, layout=bundle_layout(members, tree))
    with pytest.raises(BundleError, match="its results.json") as caught:
        unpack_bundle(bundle, tmp_path / "x")
    assert caught.value.exit_code == 41 and "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"[" * 10_000, b'{"test_os": 1e400}', b'{"test_os": ' + b"9" * 400 + b"}",
                                     b'{"test_os": NaN}', b'{"test_os": true}', b'{"tests": {"files": 5}}',
                                     b'{"tests": {"files": [{"name": "test_os", "duration": 1e999}]}}', b"\xff"])
def test_hostile_durations_are_refused_or_ignored(tmp_path, content):
    # test-durations.json in --out (next to the checkout a PR's code ran in) and a --durations
    # file are read through the shared checks of untrusted JSON: --durations refuses a bad
    # file with one line (exit 21), the pipeline's own history ignores it; no value that is not
    # a duration (infinite, huge, a boolean) is ever taken.
    from emscripten_python.testing.shards import DURATIONS, load_durations, load_durations_file

    (tmp_path / DURATIONS).write_bytes(content)
    assert load_durations(tmp_path) == {}
    try:
        assert load_durations_file(tmp_path / DURATIONS) == {}
    except TestRunError as exc:
        assert str(exc).startswith(f"--durations {tmp_path / DURATIONS}") and "\n" not in str(exc)
