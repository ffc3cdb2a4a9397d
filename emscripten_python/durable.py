"""Writes that survive a hard fault: SIGKILL, the OOM killer, a reboot, a full disk.

Three rules, used by every output and cache entry (docs/faults.rst):

* An output file is replaced whole (:func:`atomic_write`): the new content goes to a temporary
  file in the same directory, is flushed and fsync'ed, renamed over the old name (``os.replace``
  is atomic on POSIX), and the directory is fsync'ed so the rename itself survives a crash. A
  reader sees the old complete file or the new complete file, never a torn one.
* A cache entry (a directory) counts only when its completion marker is there, and the marker
  is written last (:func:`mark_complete`), or the entry is built under a temporary name and
  renamed into place (:func:`build_then_rename`). An entry without its marker is what a killed
  run left: :func:`heal` removes it, with one log line, before anything uses it.
* ``ENOSPC`` becomes :class:`~emscripten_python.errors.DiskFull` (:func:`disk_full`): one line
  naming the path, the free space there and the space the write needed; the temporary file is
  removed, so what was on disk before stays as it was.

The fault-injection hook (:func:`fault_point`) lets tests/faults and scripts/fault-injection
kill the process at an exact write: with ``EMSCRIPTEN_PYTHON_FAULT_KILL_AT=N`` the process
SIGKILLs itself at the Nth fault point it reaches (0: count only), and with
``EMSCRIPTEN_PYTHON_FAULT_LOG=FILE`` it appends each point's label to FILE first. Unset (every
real run), a fault point is one comparison of a module constant.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from .errors import DiskFull
from .untrusted import actions_safe

FAULT_ENV = "EMSCRIPTEN_PYTHON_FAULT_KILL_AT"
FAULT_LOG_ENV = "EMSCRIPTEN_PYTHON_FAULT_LOG"
MARKER = ".emscripten-python-complete"

_KILL_AT = os.environ.get(FAULT_ENV)
_FAULT_LOG = os.environ.get(FAULT_LOG_ENV)
_points = 0


def fault_point(label: str) -> None:
    """A place where a hard fault is injected under test (see the module docstring)."""
    if _KILL_AT is None:
        return
    global _points
    _points += 1
    if _FAULT_LOG:
        with open(_FAULT_LOG, "a") as log:
            log.write(f"{os.getpid()} {_points} {label}\n")
    if _points == int(_KILL_AT or 0):
        os.kill(os.getpid(), signal.SIGKILL)


def free_bytes(path: Path) -> int | None:
    """Free space for an unprivileged writer on the filesystem that holds path (or its parent)."""
    for candidate in (Path(path), *Path(path).parents):
        try:
            stat = os.statvfs(candidate)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize
    return None


def human_size(amount: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(amount)


def disk_full(path: Path, needed: int | None = None) -> DiskFull:
    """The one-line error for ENOSPC while writing path; needed: bytes the write wanted."""
    free = free_bytes(path)
    wants = f"; it needs {human_size(needed)}" if needed else ""
    return DiskFull(f"no space left on the device writing {path}: {human_size(free or 0)} free there{wants}. "
                    "Free some space (or point --out / --cache-dir elsewhere) and run it again; "
                    "earlier results are intact")


_FULL = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, shutil.Error):       # copytree gathers its errors as (src, dst, text)
        return any(isinstance(e, tuple) and any(full in str(e[-1]) for full in _FULL) for e in exc.args[0])
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


LOW_SPACE = 64 * 1024


def disk_full_behind(log: Path, *places: Path) -> DiskFull | None:
    """A failed child process's DiskFull: its log says ENOSPC, or a place it writes has (almost) no room.

    A compiler or configure that meets a full disk exits non-zero with its own message (when it
    can still write one); without this the run would report a build failure, not the disk.
    """
    try:
        said = "No space left on device" in Path(log).read_text(errors="replace")[-20000:]
    except OSError:
        said = False
    room = {place: free_bytes(place) for place in (Path(log), *map(Path, places))}
    fullest = min(room, key=lambda place: room[place] if room[place] is not None else float("inf"))
    if said or (room[fullest] is not None and room[fullest] < LOW_SPACE):
        return disk_full(fullest)
    return None


def report_disk_full(exc: OSError, fallback: Path | None) -> int:
    """For the CLI: print a full disk met outside the durable writes as one line; re-raise anything else."""
    if not is_disk_full(exc):
        raise exc
    error = disk_full(Path(exc.filename or fallback or "."))
    print(f"error: {actions_safe(error)}", file=sys.stderr)     # the path may name a file from the tree
    return error.exit_code


@contextmanager
def space_for(path: Path, needed: int | None = None):
    """Turn ENOSPC (or a quota) inside the block into DiskFull naming path."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(path, needed) from None
        raise


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in path survive a crash (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


_TEMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$")
_swept: set[Path] = set()


def _sweep_temps(directory: Path) -> None:
    """Remove the temporary files killed writers left in directory (their process is gone);
    once per directory and process, so writing many files into one directory stays linear."""
    if directory in _swept:
        return
    _swept.add(directory)
    with os.scandir(directory) as entries:
        for entry in entries:
            match = _TEMP.match(entry.name)
            if match and not _alive(int(match.group(1))):
                Path(entry.path).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_file(path: Path, mode: str = "wb", needed: int | None = None):
    """atomic_write for writers that want a file object (tarfile, ElementTree): the new file
    takes path's name only when the block ends without an exception. needed: the size
    expected, for the message if the disk fills."""
    path = Path(path)
    with space_for(path, needed):
        path.parent.mkdir(parents=True, exist_ok=True)
        _sweep_temps(path.parent)
        temp = _temp_name(path)
        try:
            with open(temp, mode) as handle:
                fault_point(f"write {path.name}")
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            fault_point(f"replace {path.name}")
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
        fault_point(f"written {path.name}")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace path with data: a reader sees the old file or the new one, never a part."""
    payload = data.encode() if isinstance(data, str) else data
    with atomic_file(path, needed=len(payload)) as handle:
        handle.write(payload)


# -- cache entries ------------------------------------------------------------------------------

def is_complete(entry: Path, marker: str = MARKER) -> bool:
    return (Path(entry) / marker).is_file()


def mark_complete(entry: Path, content: str = "", marker: str = MARKER) -> None:
    """Written last, once everything else in entry is on disk."""
    fault_point(f"mark {Path(entry).name}")
    # One sync() rather than an fsync per file: entries are emsdk installs and cache copies of
    # thousands of files, made once per version, and the marker must never outlive their content.
    os.sync()
    atomic_write(Path(entry) / marker, content)


def heal(entry: Path, what: str, log=print, marker: str = MARKER) -> bool:
    """Remove entry if a killed run left it incomplete (no marker); True when it did."""
    entry = Path(entry)
    if not entry.exists() and not entry.is_symlink() or is_complete(entry, marker):
        return False
    log(f"{what} {entry} is incomplete (an earlier run was interrupted while making it): "
        "removing it and making it again")
    remove(entry)
    return True


def remove(path: Path) -> None:
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def build_then_rename(entry: Path, content: str = "", marker: str = MARKER, needed: int | None = None):
    """Yield a temporary directory next to entry; on success mark it complete and rename it to
    entry. A killed build leaves only the temporary directory, which the next one removes.
    The caller holds entry's lock. needed: the size expected, for the message if the disk fills."""
    entry = Path(entry)
    partial = entry.with_name(entry.name + ".partial")
    remove(partial)
    with space_for(entry, needed):
        partial.mkdir(parents=True)
        try:
            yield partial
            mark_complete(partial, content, marker)
            remove(entry)
            fault_point(f"rename {entry.name}")
            os.replace(partial, entry)
        except BaseException:
            remove(partial)
            raise
        fsync_dir(entry.parent)
