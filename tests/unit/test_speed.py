"""Shard balancing and the configure cache (no processes)."""

from __future__ import annotations

from pathlib import Path

from emscripten_python.building import buildcache
from emscripten_python.building.recipes import BuildStep
from emscripten_python.testing.shards import balance
from emscripten_python.building.toolchain import Toolchain


def test_balance_longest_first_keeps_selection_order():
    selection = ["test_a", "test_b", "test_c", "test_d", "test_e"]
    durations = {"test_a": 10, "test_b": 1, "test_c": 9, "test_d": 1, "test_e": 1}
    groups = balance(selection, 2, durations)
    assert sorted(sum(groups, [])) == sorted(selection)
    assert not any({"test_a", "test_c"} <= set(g) for g in groups)   # the two long ones are split
    loads = [sum(durations[n] for n in g) for g in groups]
    assert max(loads) - min(loads) <= 2
    for group in groups:
        assert group == sorted(group, key=selection.index)


def test_balance_without_durations_spreads_evenly_and_never_makes_empty_shards():
    groups = balance(["test_a", "test_b", "test_c"], 8, {})
    assert len(groups) == 3 and all(len(g) == 1 for g in groups)
    groups = balance([f"test_{i}" for i in range(10)], 3, {})
    assert sorted(len(g) for g in groups) == [3, 3, 4]


def _step(tmp_path: Path) -> BuildStep:
    return BuildStep("configure-host", ["emconfigure", "../../configure"], tmp_path,
                     {"CONFIG_SITE": "x"}, reusable_when=tmp_path / "config.status")


def _toolchain(version: str = "3.1.69") -> Toolchain:
    return Toolchain(kind="system", emcc=Path("/usr/bin/emcc"), version=version)


def test_configure_is_reused_only_with_the_same_inputs(tmp_path):
    step = _step(tmp_path)
    key = buildcache.step_key(step, _toolchain(), "tarball:abc")
    assert not buildcache.is_fresh(step, key)          # never ran
    buildcache.record(step, key)
    assert not buildcache.is_fresh(step, key)          # stamp but no config.status
    (tmp_path / "config.status").write_text("#!/bin/sh\n")
    assert buildcache.is_fresh(step, key)
    assert not buildcache.is_fresh(step, buildcache.step_key(step, _toolchain("3.1.70"), "tarball:abc"))
    assert not buildcache.is_fresh(step, buildcache.step_key(step, _toolchain(), "tarball:def"))
    changed = BuildStep(step.name, [*step.argv, "--with-pydebug"], tmp_path, step.env, step.reusable_when)
    assert not buildcache.is_fresh(changed, buildcache.step_key(changed, _toolchain(), "tarball:abc"))
    buildcache.forget(step)
    assert not buildcache.is_fresh(step, key)


def test_unidentifiable_source_is_never_reused(tmp_path):
    step = _step(tmp_path)
    (tmp_path / "config.status").write_text("")
    assert buildcache.step_key(step, _toolchain(), None) is None
    buildcache.record(step, None)
    assert not buildcache.is_fresh(step, None)


def test_make_steps_are_never_skipped(tmp_path):
    step = BuildStep("make-host", ["make"], tmp_path)
    key = buildcache.step_key(step, _toolchain(), "git:123")
    buildcache.record(step, key)
    assert not buildcache.is_fresh(step, key)
