"""Skip a configure step whose inputs have not changed since it last succeeded.

configure is the slowest part of a warm rebuild (the host configure alone takes ~3 min on
2 cores with emcc 3.1.69) and is deterministic in its inputs: the command, its environment,
the toolchain and the exact source. make steps always run: make itself knows what changed,
and a no-op make is cheap. The key is written next to the build (a stamp file in the
step's directory) only after the step succeeded, so a failed or interrupted configure is
never reused. `--rebuild` bypasses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from ..durable import MARKER, atomic_write, build_then_rename, heal, is_complete, remove
from ..errors import ResultsError
from ..results.artifacts import sha256_of
from ..results.validation import load_json
from .recipes import BuildStep
from .source import CPythonSource
from .toolchain import Toolchain

# Bump when the meaning of a stamp changes, so old stamps stop matching.
STAMP_REVISION = 1


def source_fingerprint(source: CPythonSource, spec: str) -> str | None:
    """What identifies the exact source: a commit (clean tree), a tarball's sha256, or None."""
    if source.commit:
        dirty = subprocess.run(["git", "-C", str(source.path), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True)
        return None if dirty.returncode or dirty.stdout.strip() else f"git:{source.commit}"
    tarball = Path(spec).expanduser()
    if tarball.is_file():
        return f"tarball:{sha256_of(tarball)}"
    return None


def step_key(step: BuildStep, toolchain: Toolchain, fingerprint: str | None) -> str | None:
    if fingerprint is None:
        return None     # an unidentifiable source (a plain directory) is never reused
    payload = {"rev": STAMP_REVISION, "argv": step.argv, "env": step.env, "cwd": str(step.cwd),
               "emcc": [str(toolchain.emcc), toolchain.version], "source": fingerprint}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _stamp(step: BuildStep) -> Path:
    # Next to the configure output, inside the build dir (not the tree root for 3.14+ drivers).
    where = step.reusable_when.parent if step.reusable_when is not None else step.cwd
    return where / f".emscripten-python-{step.name}.stamp"


def is_fresh(step: BuildStep, key: str | None) -> bool:
    if key is None or step.reusable_when is None or not step.reusable_when.exists():
        return False
    stamp = _stamp(step)
    return stamp.exists() and stamp.read_text().strip() == key


def record(step: BuildStep, key: str | None) -> None:
    if key is not None and step.reusable_when is not None and step.reusable_when.parent.is_dir():
        atomic_write(_stamp(step), key + "\n")


def forget(step: BuildStep) -> None:
    _stamp(step).unlink(missing_ok=True)


def _running(step: BuildStep) -> Path:
    # In the step's cwd (it exists before the step runs; the build dir may not).
    return step.cwd / f".emscripten-python-{step.name}.running"


def begin(step: BuildStep, log=print) -> None:
    """Before a step runs: its stamp goes, and a configure step gets a running marker.

    configure rewrites config.cache in place (autoconf's cache save is not atomic), and the
    configure steps run with --config-cache. A marker still there when the next run starts
    means a configure was killed mid-write: its config.cache may be torn and is removed, with
    one log line, so configure starts clean instead of sourcing half a cache.
    """
    forget(step)
    if step.reusable_when is None:
        return
    running, cache = _running(step), step.reusable_when.parent / "config.cache"
    if running.exists() and cache.exists():
        log(f"{step.name}: {cache} may be torn (the last {step.name} was killed before it ended): "
            "removing it; configure starts without a cache")
        cache.unlink()
    atomic_write(running, "")


def ended(step: BuildStep, key: str | None) -> None:
    """After the step's process ended by itself: key (when it succeeded) is its stamp."""
    record(step, key)
    _running(step).unlink(missing_ok=True)


# -- config.cache carried across commits ---------------------------------------------------------
#
# A new commit is a new source fingerprint, so the stamp above never matches and configure runs
# again; but most of its ~800 checks ask the compiler and the system, not the source, and give
# the same answers. autoconf's cache file (configure -C) is how those answers are meant to be
# reused. CPython's own CI does this (.github/workflows/reusable-*.yml in python/cpython keys an
# actions/cache of config.cache by the hash of configure, configure.ac and the workflow and the
# runner image). Here the key is everything that can change an answer:
#
# * the configure script and the config.site it is given (their sha256),
# * the compiler: emcc's path and version for the cross configures; for the build Python's
#   native configure, CC (or cc), its path and `--version`, and the OS release (system
#   headers and libraries come with the image),
# * the configure arguments (the tree's own path written as <tree>, so a new checkout of the
#   same commit series in another directory still matches),
# * the environment configure reads (CC, CFLAGS, CONFIG_SITE, PKG_CONFIG_PATH, ...).
#
# A cache from other inputs is never used: before every configure the tree's config.cache is
# replaced by the stored one for this key, or removed. The stored file's sha256 is kept in its
# completion marker, so a file changed after it was saved is dropped too. When configure fails
# with a carried cache, the build drops it and runs configure once more without one (cachepolicy.py).

CONFIG_CACHE_REVISION = 2       # 2: NOT_CARRIED left out
CONFIG_CACHE_DIR = "configure-cache"
TREE_PLACEHOLDER = b"@EMSCRIPTEN_PYTHON_TREE@"
CONFIG_CACHES_KEPT = 8          # per configure step: a few branches alternating on one worker
# What autoconf and CPython's configure read from the environment (autoconf's precious
# variables: a change to one makes a cached configure refuse to run, so it must be in the key).
CONFIGURE_ENV = ("CC", "CFLAGS", "CPP", "CPPFLAGS", "CXX", "CXXFLAGS", "LDFLAGS", "LIBS", "AR", "RANLIB",
                 "CONFIG_SITE", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "EMCC_CFLAGS",
                 "EM_CONFIG", "EM_CACHE", "HOSTRUNNER", "PROFILE_TASK", "LIBFFI_CFLAGS", "LIBFFI_LIBS",
                 "LIBMPDEC_CFLAGS", "LIBMPDEC_LIBS", "ZLIB_CFLAGS", "ZLIB_LIBS", "CROSS_BUILD_DIR")
# Answers never carried: CPython's configure.ac gives other results with them cached than
# without (3.13.15, measured: a seeded build-Python configure wrote another Makefile than a
# clean one, pyconfig.h the same). NO_AS_NEEDED is set inside the body of
# AC_CACHE_CHECK([for -Wl,--no-as-needed]) (configure.ac line 1209), which a cached answer
# skips, so it stays empty; the libmpdec machine is chosen (line 4253) from
# ac_cv_gcc_asm_for_x64 / _x87 before their checks run (lines 6015, 6061), so a clean
# configure picks uint128 (-DANSI=1) and a cached one x64 (-DASM=1). Without them in the
# cache these cheap checks run again and answer as in a clean configure.
NOT_CARRIED = ("ac_cv_wl_no_as_needed", "ac_cv_gcc_asm_for_x64", "ac_cv_gcc_asm_for_x87")
_NOT_CARRIED = re.compile(rb"^.*\b(?:" + b"|".join(n.encode() for n in NOT_CARRIED) + rb")\b.*\n?", re.M)
# What each part of the key is called in a log line and in results.json.
KEY_PARTS = {"configure": "the configure script", "scripts": "the build scripts", "config_site": "config.site", "compiler": "the compiler",
             "arguments": "the configure arguments", "environment": "the environment",
             "revision": "emscripten-python's cache format"}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def native_compiler(env: dict[str, str]) -> dict:
    """CC (without a ccache in front: it changes no answer), the file it is and the OS release.

    The compiler's file (symlinks followed: /usr/bin/gcc -> gcc-12) with its size and mtime
    changes when a package upgrade replaces it; the system headers and libraries come with
    the OS image, as in CPython's own CI key. No process is started for it.
    """
    words = (env.get("CC") or "cc").split()
    compiler = next((w for w in words if Path(w).name != "ccache"), "cc")
    found = shutil.which(compiler, path=env.get("PATH"))
    if found is None:
        return {"cc": compiler}
    real = Path(found).resolve()
    stat = real.stat()
    return {"cc": compiler, "file": str(real), "size": stat.st_size, "mtime": int(stat.st_mtime),
            "os": _digest(Path("/etc/os-release"))}


def config_cache_parts(step: BuildStep, tree: Path, toolchain: Toolchain, env: dict[str, str]) -> dict:
    """The inputs that can change configure's answers (see above); `env` is the step's environment."""
    site = env.get("CONFIG_SITE")
    tree_text = str(tree)
    native = step.name == "configure-build-python"
    return {
        "revision": CONFIG_CACHE_REVISION,
        "configure": _digest(tree / "configure"),
        "scripts": _scripts(step, tree),
        # Lexically: on a fresh checkout the build directory does not exist yet (the stage makes
        # it), and the kernel cannot resolve "../.." through a missing directory.
        "config_site": _digest(Path(os.path.normpath(step.cwd / site))) if site else None,
        "compiler": native_compiler(env) if native else {"emcc": str(toolchain.emcc), "version": toolchain.version},
        "arguments": [arg.replace(tree_text, "<tree>") for arg in step.argv],
        "environment": {name: env[name].replace(tree_text, "<tree>") for name in CONFIGURE_ENV if name in env},
    }


def _scripts(step: BuildStep, tree: Path) -> dict[str, str | None]:
    """Files of the tree the command runs (a 3.14+ driver's directory: its configure arguments
    and config.site live there)."""
    found = {}
    for arg in step.argv:
        path = (step.cwd / arg).resolve() if not Path(arg).is_absolute() else Path(arg)
        if not path.is_relative_to(tree.resolve()) or not path.exists():
            continue
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        found.update({str(f.relative_to(tree.resolve())): _digest(f) for f in files})
    return found


def _key_of(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _tree_cache(step: BuildStep) -> Path:
    return step.reusable_when.parent / "config.cache"


def _tree_key(step: BuildStep) -> Path:
    # Which inputs the tree's config.cache was made from (written after configure succeeded).
    return step.reusable_when.parent / ".emscripten-python-config-cache.json"


def _changed(old: dict, new: dict) -> str:
    names = [KEY_PARTS[part] for part in KEY_PARTS if old.get(part) != new.get(part)]
    return ", ".join(names) + " changed" if names else "same inputs"


def _read_json(path: Path) -> dict | None:
    """A record of ours, or None when it is missing, refused or not an object: it sits where a
    PR's configure or tests can write, so it is read through the shared checks of untrusted JSON."""
    try:
        data = load_json(path)
    except ResultsError:
        return None
    return data if isinstance(data, dict) else None


class ConfigCache:
    """The stored config.cache files of one configure step, under CACHE_DIR/configure-cache/STEP/KEY."""

    def __init__(self, cache_dir: Path, step: BuildStep, tree: Path, parts: dict, log=print):
        self.step, self.parts, self.key, self.log = step, parts, _key_of(parts), log
        # Stored with the tree's path as TREE_PLACEHOLDER: some answers are paths in the tree
        # (3.13's ac_cv_prog_PYTHON_FOR_REGEN is the build Python), and a next commit checked
        # out elsewhere must get its own.
        self.tree = str(tree).encode()
        self.root = Path(cache_dir) / CONFIG_CACHE_DIR / step.name
        self.entry = self.root / self.key[:24]

    def _stored(self) -> dict | None:
        """The entry's marker ({key, parts, sha256}) when the entry is whole."""
        if not is_complete(self.entry):
            return None
        return _read_json(self.entry / MARKER)

    def _latest_parts(self) -> dict | None:
        markers = sorted(self.root.glob(f"*/{MARKER}"), key=lambda p: p.stat().st_mtime, reverse=True)
        return next((m["parts"] for m in map(_read_json, markers) if m and isinstance(m.get("parts"), dict)), None)

    def prepare(self, fallback=None) -> dict:
        """Before configure: the tree's config.cache becomes the stored one for this key, or goes.

        fallback(): seeds the tree's config.cache another way when nothing is stored (the
        browser flavour from the node flavour's); True when it did. Returns the stage's
        `cache` record: {"config_cache": seeded|clean|dropped, "reason": ..., "key": ...}.
        """
        heal(self.entry, f"{self.step.name}: stored config.cache", log=self.log)
        cache, tree_key = _tree_cache(self.step), _tree_key(self.step)
        had = cache.is_file()
        had_parts = (_read_json(tree_key) or {}).get("parts") if had else None
        stored = self._stored()
        if stored is None and had and had_parts == self.parts:
            return self._say("seeded", "the tree's own config.cache, from the same inputs")
        cache.unlink(missing_ok=True)
        tree_key.unlink(missing_ok=True)
        if stored is not None:
            data = (self.entry / "config.cache").read_bytes()
            if hashlib.sha256(data).hexdigest() != stored.get("sha256") or stored.get("key") != self.key:
                remove(self.entry)
                return self._say("dropped", "the stored config.cache was changed after it was saved")
            atomic_write(cache, data.replace(TREE_PLACEHOLDER, self.tree))
            os.utime(self.entry / MARKER)      # most recently used: pruned last
            return self._say("seeded", f"from an earlier configure with the same inputs ({self.key[:12]})")
        dropped = None if not had else (
            f"the tree's config.cache came from other inputs ({_changed(had_parts, self.parts)})"
            if isinstance(had_parts, dict) else "the tree's config.cache has no record of the inputs it came from")
        if fallback is not None and fallback():
            return self._say("seeded", (f"{dropped}; " if dropped else "") + "from the node flavour's config.cache")
        if dropped:
            return self._say("dropped", dropped)
        latest = self._latest_parts()
        return self._say("clean", "no config.cache stored for these inputs"
                         + (f" ({_changed(latest, self.parts)} since the last one stored)" if latest else ""))

    def _say(self, status: str, reason: str) -> dict:
        self.log(f"{self.step.name}: config.cache {status}: {reason}")
        return {"config_cache": status, "reason": reason, "key": self.key[:24]}

    def save(self) -> None:
        """After configure succeeded: keep the tree's config.cache for the next commit, without
        NOT_CARRIED (left out of the tree's copy too: it seeds the next configure in this tree)."""
        cache = _tree_cache(self.step)
        if not cache.is_file():
            return
        kept = _NOT_CARRIED.sub(b"", cache.read_bytes())
        atomic_write(cache, kept)
        data = kept.replace(self.tree, TREE_PLACEHOLDER)
        digest = hashlib.sha256(data).hexdigest()
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f"{self.key[:24]}.lock")):
            stored = self._stored()
            if stored is None or stored.get("sha256") != digest:
                with build_then_rename(self.entry, json.dumps({"key": self.key, "sha256": digest, "parts": self.parts},
                                                              sort_keys=True)) as partial:
                    (partial / "config.cache").write_bytes(data)
        atomic_write(_tree_key(self.step), json.dumps({"key": self.key, "parts": self.parts}, sort_keys=True))
        self._prune()

    def drop(self) -> None:
        """configure failed with the carried cache: neither the stored nor the tree's copy is used again."""
        remove(self.entry)
        _tree_cache(self.step).unlink(missing_ok=True)
        _tree_key(self.step).unlink(missing_ok=True)

    def _prune(self) -> None:
        entries = sorted((p.parent for p in self.root.glob(f"*/{MARKER}")),
                         key=lambda p: (p / MARKER).stat().st_mtime, reverse=True)
        for old in entries[CONFIG_CACHES_KEPT:]:
            remove(old)
