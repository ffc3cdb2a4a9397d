"""ccache as a first-class cache of the build: for emcc and for the build Python's compiler.

emcc compiles through ccache when it is installed (EM_COMPILER_WRAPPER; CPython's own
buildbot does the same; emcc execv()s the wrapper, so it is an absolute path), and so does
the native compiler of the build Python (CC="ccache gcc" for configure-build-python, which
writes it into that Makefile). Its directory is under the cache directory (CACHE_DIR/ccache,
what a worker or the action keeps between builds) unless CCACHE_DIR is set, with a size cap
(CCACHE_MAXSIZE, default DEFAULT_MAX_SIZE; ccache evicts the least recently used files
beyond it). The hits and misses of the build are ccache's counters after the build less
those before (`ccache --print-stats`), recorded as results.json's cache.ccache: a second
build sharing the directory at the same time adds its own to them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .recipes import BuildStep

DEFAULT_MAX_SIZE = "5G"      # a cold 3.13 build (build Python + emcc objects) fills ~0.6 GB
# `ccache --print-stats` counters (ccache >= 4.4): a hit in either mode, and a miss.
HITS = ("direct_cache_hit", "preprocessed_cache_hit")
MISSES = ("cache_miss",)


def setup(env: dict[str, str], cache_dir: Path) -> str | None:
    """Put ccache in env (in place) when it is installed; its absolute path, or None."""
    found = shutil.which("ccache", path=env.get("PATH"))
    if not found:
        return None
    env.setdefault("CCACHE_DIR", str(Path(cache_dir) / "ccache"))
    env.setdefault("CCACHE_MAXSIZE", DEFAULT_MAX_SIZE)
    env.setdefault("EM_COMPILER_WRAPPER", found)
    return found


def native_cc(found: str, env: dict[str, str]) -> dict[str, str]:
    """CC for the build Python's configure: the compiler it would pick, behind ccache."""
    compiler = env.get("CC") or ("gcc" if shutil.which("gcc", path=env.get("PATH")) else "cc")
    if Path(compiler.split()[0]).name == "ccache":
        return {}
    return {"CC": f"{found} {compiler}"}


def stats(found: str | None, env: dict[str, str] | None = None) -> dict[str, int] | None:
    """ccache's counters (`--print-stats`: one `name<TAB>value` a line), None when unreadable."""
    if not found:
        return None
    try:
        done = subprocess.run([found, "--print-stats"], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode:
        return None
    counters = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("\t")
        if value.strip().isdigit():
            counters[name] = int(value)
    return counters


def record(found: str | None, before: dict | None, after: dict | None, env: dict[str, str] | None = None) -> dict:
    """results.json's cache.ccache: where, the cap, and this build's hits and misses."""
    if not found:
        return {"used": False, "reason": "ccache is not installed (every compile runs)"}
    env = env or {}
    section = {"used": True, "path": found, "dir": env.get("CCACHE_DIR"), "max_size": env.get("CCACHE_MAXSIZE")}
    if before is None or after is None:
        return {**section, "hits": None, "misses": None}
    hits = sum(after.get(n, 0) - before.get(n, 0) for n in HITS)
    misses = sum(after.get(n, 0) - before.get(n, 0) for n in MISSES)
    return {**section, "hits": hits, "misses": misses}


class CompilerCache:
    """ccache around one build: put in the build's environment, the build Python's compiler
    behind it too, and the build's hits and misses counted from when it started."""

    def __init__(self, env: dict[str, str], cache_dir: Path) -> None:
        self.env = env
        self.found = setup(env, cache_dir)
        self.before = stats(self.found, env)

    def wrap(self, step: BuildStep) -> None:
        """configure-build-python configures a native compiler, which EM_COMPILER_WRAPPER
        does not reach: its CC goes through ccache instead (written into that Makefile)."""
        if step.name == "configure-build-python" and self.found:
            step.env = {**step.env, **native_cc(self.found, self.env)}

    def record(self) -> dict:
        return record(self.found, self.before, stats(self.found, self.env), self.env)
