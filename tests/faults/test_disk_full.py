"""A real full disk: --out and --cache-dir on a small tmpfs mounted by the test (root only).

ENOSPC at whatever stage it comes gives one `error:` line naming a path on the full
filesystem and its free space (and the space needed where the write knows it), exit 52, and
leaves whole files: results.json validates, an earlier bundle still verifies, no temporary
file or half cache entry is left, and the run after space is freed succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fault_rig import EXPECTED_RC, FILL_ENV, FROZEN_FILES, Rig, Tally, check_caches, check_outputs, git  # noqa: E402

from emscripten_python import durable  # noqa: E402
from emscripten_python.errors import DiskFull  # noqa: E402
from emscripten_python.building.toolchain.emsdk import INSTALLED_STAMP  # noqa: E402

pytestmark = pytest.mark.timeout(600)


@contextmanager
def tmpfs(path: Path, size: str):
    if os.geteuid() != 0:
        message = "mounting a tmpfs needs root"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (and CI runs as root)")
        pytest.skip(message)
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(mount: Path, leave: int) -> Path:
    """Take all the free space on mount but `leave` bytes."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    with open(filler, "wb") as handle:
        free = durable.free_bytes(mount) - leave
        chunk = b"\0" * (1 << 16)
        while free > 0:
            try:
                written = handle.write(chunk[:min(free, len(chunk))])
                handle.flush()
            except OSError:
                break
            free -= written
    return filler


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return errors[0]


def _no_temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith((".tmp", ".partial")) and p.name != "filler"]


# Where the disk fills: before the run, or while a build stage runs (the stand-in driver fills
# it), leaving nothing or a little (then a later write, the test stage's or the bundle's, meets it).
@pytest.mark.parametrize("fill_at,leave_kib", [("before", 0), ("configure-build-python", 0), ("make-host", 0),
                                               ("make-host", 12)])
def test_full_out_directory(tmp_path, fill_at, leave_kib):
    rig = Rig.make(tmp_path / "rig")
    with tmpfs(tmp_path / "small", "2m") as mount:
        rig.out = mount / "out"
        rc, _, stderr = rig.run()
        assert rc == EXPECTED_RC, stderr[-2000:]
        earlier_bundle = next(rig.out.glob("emscripten-python-*.tar.gz"))
        # A new commit: the configure steps run again (their stamps no longer match).
        (rig.repo / "Lib" / "changed.py").write_text("# a change\n")
        git(rig.repo, "add", "-A")
        git(rig.repo, "commit", "-q", "-m", "change")
        if fill_at == "before":
            fill(mount, leave_kib * 1024)
        else:
            rig.env[FILL_ENV] = f"{fill_at}:{mount}:{leave_kib * 1024}"
        rc, _, stderr = rig.run()
        rig.env.pop(FILL_ENV, None)
        assert rc == DiskFull.exit_code, (rc, stderr[-3000:])
        line = _one_error_line(stderr)
        print(fill_at, leave_kib, line)
        assert "no space left on the device writing " + str(mount) in line, line
        assert "free there" in line and "Free some space" in line
        tally = Tally()
        check_outputs(rig.out, tally)                  # results.json validates, bundles verify
        assert tally.violations == [] and tally.checks >= 2, tally.violations
        assert earlier_bundle.exists(), "the earlier run's bundle went before a new one was whole"
        assert _no_temporaries(rig.out) == []
        (mount / "filler").unlink()
        rc, _, stderr = rig.run()
        assert rc == EXPECTED_RC, stderr[-2000:]


def test_full_cache_directory_during_the_cache_copy_and_the_emsdk_install(tmp_path):
    rig = Rig.make(tmp_path / "rig")
    with tmpfs(tmp_path / "small", "4m") as mount:
        rig.cache = mount / "cache"
        rc, _, stderr = rig.run()
        assert rc == EXPECTED_RC, stderr[-2000:]
        copy = rig.cache / "emcache-4.0.12"
        durable.remove(copy)
        filler = fill(mount, 200 * 1024)          # the copy of the frozen cache needs ~780 KiB
        rc, _, stderr = rig.run()
        assert rc == DiskFull.exit_code, (rc, stderr[-3000:])
        line = _one_error_line(stderr)
        needed = durable.human_size(FROZEN_FILES * 20000)
        assert f"writing {copy}:" in line and f"it needs {needed}" in line, line
        assert not copy.exists() and _no_temporaries(rig.cache) == []
        assert durable.is_complete(rig.cache / "emsdk" / "4.0.12" / "emsdk", INSTALLED_STAMP)

        durable.remove(rig.cache)                   # now the emsdk install meets the full disk
        rig.cache.mkdir()
        filler.unlink()
        filler = fill(mount, 40 * 1024)
        rc, _, stderr = rig.run()
        assert rc == DiskFull.exit_code, (rc, stderr[-3000:])
        line = _one_error_line(stderr)
        assert f"writing {rig.cache / 'emsdk'}" in line, line
        assert not (rig.cache / "emsdk" / "4.0.12" / "emsdk").exists()
        assert _no_temporaries(rig.cache) == []

        filler.unlink()
        rc, _, stderr = rig.run()
        assert rc == EXPECTED_RC, stderr[-2000:]
        tally = Tally()
        check_caches(rig, tally, rig.cache)
        assert tally.violations == [] and tally.checks >= 2
