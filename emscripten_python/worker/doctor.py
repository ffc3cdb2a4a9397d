"""`worker doctor`: does this machine have what an Emscripten build worker needs?

Each check says what it found and, when something is wrong, what to do about it. The
machine is reached through a Probe so the checks are tested without depending on it.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

GIB = 1 << 30
MIN_NODE = 18
MIN_FREE_GIB = 20          # one emsdk (~2 GiB per version) plus a few CPython build trees
MIN_STACK = 64 << 20       # node runs with --stack-size=30000 (KiB); the OS stack must hold it
MEMORY_PER_BUILD = 4 * GIB
CPUS_PER_BUILD = 4


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout or done.stderr).strip()


def _memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _writable(path: Path) -> str | None:
    """None when files can be created in path (created if missing), else why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            return None
    except OSError as exc:
        return str(exc)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@dataclass
class Probe:
    """The machine as the checks see it."""

    which: Callable[[str], str | None] = shutil.which
    run: Callable[[list[str]], tuple[int, str]] = _run
    disk_free: Callable[[Path], int] = lambda path: shutil.disk_usage(_existing(path)).free
    writable: Callable[[Path], str | None] = _writable
    stack_limits: Callable[[], tuple[int, int]] = lambda: resource.getrlimit(resource.RLIMIT_STACK)
    cpu_count: Callable[[], int | None] = os.cpu_count
    memory: Callable[[], int | None] = _memory
    python: tuple[str, tuple[int, ...]] = field(default_factory=lambda: (sys.executable, sys.version_info[:3]))


def check_python(probe: Probe) -> Check:
    path, version = probe.python
    text = ".".join(map(str, version))
    return Check("python", version >= (3, 11), f"{text} ({path})",
                 "run emscripten-python with Python 3.11 or newer; it also runs CPython's build scripts")


def check_node(probe: Probe, node: str) -> Check:
    fix = f"install Node.js {MIN_NODE} or newer (distribution package, Homebrew, or nvm) and put it on PATH"
    if not probe.which(node):
        return Check("node", False, f"{node} not found on PATH", fix)
    rc, out = probe.run([node, "--version"])
    match = re.match(r"v?(\d+)\.", out)
    if rc or not match:
        return Check("node", False, f"`{node} --version` failed: {out or rc}", fix)
    return Check("node", int(match.group(1)) >= MIN_NODE, out, fix)


def check_tool(probe: Probe, name: str, candidates: tuple[str, ...], fix: str) -> Check:
    for candidate in candidates:
        found = probe.which(candidate)
        if found:
            return Check(name, True, found)
    return Check(name, False, f"none of {', '.join(candidates)} on PATH", fix)


def check_ccache(probe: Probe) -> Check:
    """Optional: without ccache every build compiles every file again (emcc and the build Python)."""
    found = probe.which("ccache")
    return Check("ccache", bool(found), found or "not installed: every build compiles every file again",
                 "install ccache (apt-get install ccache / brew install ccache); builds then keep compiled "
                 "objects in <cache dir>/ccache (docs/toolchains.rst, 'Compiler cache')", required=False)


def check_buildbot_worker(probe: Probe) -> Check:
    beside = Path(sys.executable).with_name("buildbot-worker")
    found = str(beside) if beside.exists() else probe.which("buildbot-worker")
    return Check("buildbot-worker", bool(found), found or "not installed",
                 "pip install 'emscripten-python[buildbot]' (in the environment that runs the worker)")


def check_disk(probe: Probe, label: str, path: Path, min_free_gib: float) -> Check:
    free = probe.disk_free(path) / GIB
    return Check(f"disk ({label})", free >= min_free_gib, f"{free:.1f} GiB free at {path}",
                 f"free at least {min_free_gib:g} GiB there, or choose another directory")


def check_writable(probe: Probe, label: str, path: Path) -> Check:
    problem = probe.writable(path)
    return Check(f"writable {label}", problem is None, str(path) if problem is None else f"{path}: {problem}",
                 f"make {path} writable by the worker's user (or set EMSCRIPTEN_PYTHON_CACHE elsewhere)")


def check_stack(probe: Probe) -> Check:
    soft, hard = probe.stack_limits()
    if hard == resource.RLIM_INFINITY or hard >= MIN_STACK:
        shown = "unlimited" if hard == resource.RLIM_INFINITY else f"{hard >> 20} MiB"
        return Check("stack ulimit", True, f"hard limit {shown} (the test runner raises the soft limit to it)",
                     required=False)
    return Check("stack ulimit", False, f"hard limit {hard >> 20} MiB: deep-recursion tests will crash node",
                 "raise the hard stack limit: LimitSTACK=infinity in the systemd unit, or "
                 "`ulimit -Hs unlimited` where the worker starts", required=False)


def check_slots(probe: Probe) -> Check:
    cpus, memory = probe.cpu_count() or 1, probe.memory()
    by_memory = memory // MEMORY_PER_BUILD if memory else cpus
    slots = max(1, min(cpus // CPUS_PER_BUILD, by_memory))
    memory_text = f"{memory / GIB:.0f} GiB" if memory else "unknown memory"
    detail = (f"{cpus} CPUs, {memory_text}: up to {slots} parallel build(s) "
              f"(max_builds={slots}), jobs={max(1, cpus // slots)} each")
    enough = cpus >= 2 and (memory is None or memory >= MEMORY_PER_BUILD)
    return Check("parallel slots", enough, detail,
                 f"a build wants at least 2 CPUs and {MEMORY_PER_BUILD // GIB} GiB of memory", required=False)


def run_checks(basedir: Path, cache_dir: Path, *, node: str = "node", min_free_gib: float = MIN_FREE_GIB,
               probe: Probe | None = None) -> list[Check]:
    probe = probe or Probe()
    return [
        check_python(probe),
        check_node(probe, node),
        check_tool(probe, "git", ("git",), "install git"),
        check_tool(probe, "make", ("make", "gmake"), "install make (build-essential / Xcode command line tools)"),
        check_tool(probe, "C compiler", ("cc", "gcc", "clang"),
                   "install a C compiler for the native build Python (build-essential / Xcode command line tools)"),
        check_ccache(probe),
        check_buildbot_worker(probe),
        check_disk(probe, "worker", basedir, min_free_gib),
        check_disk(probe, "cache", cache_dir, min_free_gib / 4),
        check_writable(probe, "worker dir", basedir),
        check_writable(probe, "cache dir", cache_dir),
        check_stack(probe),
        check_slots(probe),
    ]


def render(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        status = "ok" if check.ok else ("FAIL" if check.required else "warn")
        lines.append(f"{status:<5} {check.name:<20} {check.detail}")
        if not check.ok:
            lines.append(f"{'':<5} {'':<20} fix: {check.fix}")
    missing = [c.name for c in checks if c.required and not c.ok]
    lines.append(f"\n{len(missing)} required check(s) failed: {', '.join(missing)}" if missing
                 else "\nEverything required is there.")
    return "\n".join(lines)


def failed(checks: list[Check]) -> bool:
    return any(c.required and not c.ok for c in checks)
