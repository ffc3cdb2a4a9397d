"""SIGKILL at fault points and at random moments across every stage and write of the stand-in
pipeline; after each kill the invariants (tests/faults/fault_rig.py) hold and the next run succeeds.

The budget is fixed (seeded choices) so CI stays within ~2 minutes; scripts/fault-injection
runs the same with a larger one and can kill at every fault point in turn.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fault_rig import EXPECTED_RC, Rig, Tally, check_all, check_next_run, git, inject, kill_tree  # noqa: E402

from emscripten_python import durable  # noqa: E402
from emscripten_python.building.toolchain.emcache import COPIED  # noqa: E402
from emscripten_python.building.toolchain.emsdk import INSTALLED_STAMP  # noqa: E402

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def rig(tmp_path):
    return Rig.make(tmp_path / "rig")


def test_kills_across_the_pipeline_lose_nothing(rig):
    tally = inject(rig, Tally(), point_kills=10, time_kills=5, seed=24)
    print(tally.line(), sorted(tally.labels))
    assert tally.violations == []
    assert tally.kills >= 10 and tally.point_kills >= 7 and tally.recoveries >= 5
    assert tally.checks >= 150
    # The kills landed in more than one kind of write (results.json, stamps, entries, bundle ...).
    assert len(tally.labels) >= 5, tally.labels


def test_a_configure_killed_mid_config_cache_is_redone_from_scratch(rig):
    rc, _, stderr = rig.run()
    assert rc == EXPECTED_RC, stderr[-2000:]
    # A new commit: the configure stamps no longer match, configure runs again over its old cache.
    (rig.repo / "Lib" / "changed.py").write_text("# a change\n")
    git(rig.repo, "add", "-A")
    git(rig.repo, "commit", "-q", "-m", "change")
    cache = rig.repo / "cross-build" / "build" / "config.cache"
    process = rig.start()
    deadline = time.monotonic() + 60
    torn = False
    while time.monotonic() < deadline and process.poll() is None:
        text = cache.read_text() if cache.exists() else ""
        if text and not text.endswith("# complete\n"):
            torn = True
            break
        time.sleep(0.002)
    kill_tree(process)
    assert torn, "never saw config.cache half written"
    assert not cache.read_text().endswith("# complete\n")
    rc, _, stderr = rig.run()
    assert rc == EXPECTED_RC, stderr[-2000:]
    assert stderr.count("may be torn") == 1 and str(cache) in stderr.replace("\n", "")
    assert cache.read_text().endswith("# complete\n")
    tally = Tally()
    check_all(rig, tally)
    assert tally.violations == [] and tally.checks >= 5


def test_half_cache_entries_left_by_other_tools_are_healed_with_one_line_each(rig):
    emsdk = rig.cache / "emsdk" / "4.0.12" / "emsdk"
    (emsdk / "upstream" / "emscripten").mkdir(parents=True)          # a clone cut short: no emcc
    copy = rig.cache / "emcache-4.0.12"
    (copy / "sysroot" / "lib").mkdir(parents=True)
    (copy / "sysroot" / "lib" / "lib0.a").write_bytes(b"\0" * 10)         # a copy cut short: no marker
    rc, _, stderr = rig.run()
    assert rc == EXPECTED_RC, stderr[-2000:]
    flat = stderr.replace("\n", " ")
    assert flat.count("is incomplete") == 2, flat
    assert durable.is_complete(emsdk, INSTALLED_STAMP) and durable.is_complete(copy, COPIED)
    tally = Tally()
    check_next_run(rig, tally)
    assert tally.violations == []
    assert "is incomplete" not in (rig.root / "emsdk-installs.log").read_text()


def test_kill_between_install_and_its_stamp_never_exposes_a_half_emsdk(rig):
    labels = rig.count_points(rig.root / "labels.log")
    durable.remove(rig.cache)
    marks = [at for at, label in enumerate(labels, 1) if label.startswith(("mark emsdk", "rename emsdk",
                                                                             "mark emcache", "rename emcache"))]
    assert len(marks) == 4, labels[:20]
    tally = Tally()
    for at in marks:
        rc, _, _ = rig.run(kill_at=at)
        assert rc == -signal.SIGKILL
        tally.kills += 1
        check_all(rig, tally)
        check_next_run(rig, tally)
        durable.remove(rig.cache)
    assert tally.violations == [], tally.violations

