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
import subprocess
from pathlib import Path

from .artifacts import sha256_of
from .durable import atomic_write
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
