"""durable: atomic writes and cache entries under SIGKILL at every fault point, in real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emscripten_python import durable
from emscripten_python.errors import DiskFull

WRITER = """
import sys
from pathlib import Path
from emscripten_python.durable import atomic_write
atomic_write(Path(sys.argv[1]), sys.argv[2] * 200000)
"""

ENTRY = """
import sys
from pathlib import Path
from emscripten_python.durable import build_then_rename
with build_then_rename(Path(sys.argv[1]), "v1\\n") as partial:
    for index in range(50):
        (partial / f"file{index}").write_text("x" * 1000)
"""


def _killed_at(point: int, script: str, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, durable.FAULT_ENV: str(point)}
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_atomic_write_killed_at_each_point_leaves_old_or_new(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old" * 200000)
    seen = set()
    for point in range(1, 4):         # write, replace, written
        done = _killed_at(point, WRITER, target, "new")
        assert done.returncode == -signal.SIGKILL, done.stderr
        content = target.read_text()
        assert content in ("old" * 200000, "new" * 200000)
        seen.add(content[:3])
        target.write_text("old" * 200000)
    assert seen == {"old", "new"}      # killed before the rename: old; after it: new
    # A killed writer's temporary file is swept by the next write of the same file.
    assert _killed_at(2, WRITER, target, "new").returncode == -signal.SIGKILL
    assert list(tmp_path.glob(".results.json.*.tmp"))
    durable.atomic_write(target, "final")
    assert target.read_text() == "final"
    assert not list(tmp_path.glob(".results.json.*.tmp"))


def test_atomic_write_not_killed_writes_the_file(tmp_path):
    done = _killed_at(99, WRITER, tmp_path / "a.json", "z")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.json").read_text() == "z" * 200000
    assert oct((tmp_path / "a.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_cache_entry_killed_anywhere_is_healed(tmp_path):
    entry = tmp_path / "emcache-1.0"
    points = 0
    for point in range(1, 10):
        done = _killed_at(point, ENTRY, entry)
        if done.returncode == 0:
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        points += 1
        # Killed before the rename: no entry at all, only the .partial the next build removes.
        assert not entry.exists() or durable.is_complete(entry)
        assert not durable.heal(entry, "test entry", log=lambda line: None) or not entry.exists()
    assert points >= 4                # mark, write, replace, written, rename
    assert durable.is_complete(entry) and len(list(entry.glob("file*"))) == 50
    assert not entry.with_name(entry.name + ".partial").exists()


def test_heal_removes_an_entry_without_its_marker(tmp_path):
    entry = tmp_path / "emsdk"
    (entry / "upstream").mkdir(parents=True)
    lines = []
    assert durable.heal(entry, "emsdk 4.0.12:", log=lines.append)
    assert not entry.exists()
    assert len(lines) == 1 and str(entry) in lines[0] and "incomplete" in lines[0]
    entry.mkdir()
    durable.mark_complete(entry, "4.0.12\n")
    assert not durable.heal(entry, "emsdk", log=lines.append) and entry.exists() and len(lines) == 1


def test_disk_full_message_names_path_free_space_and_need(tmp_path):
    error = durable.disk_full(tmp_path / "out" / "results.json", needed=3 * 1024 * 1024)
    assert isinstance(error, DiskFull) and isinstance(error, OSError) and error.exit_code == 52
    text = str(error)
    assert str(tmp_path / "out" / "results.json") in text and "3.0 MiB" in text and "free there" in text
    assert "\n" not in text


def test_space_for_converts_only_enospc(tmp_path):
    with pytest.raises(DiskFull):
        with durable.space_for(tmp_path / "x", 10):
            raise OSError(28, "No space left on device")
    with pytest.raises(PermissionError):
        with durable.space_for(tmp_path / "x", 10):
            raise PermissionError(13, "denied")
