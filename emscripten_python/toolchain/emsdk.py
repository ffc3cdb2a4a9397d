"""emsdk mode: install the pinned Emscripten into a per-version cache, once, under a lock.

The layout is CPython's own `$EMSDK_CACHE/<version>/emsdk`, so `Platforms/emscripten
install-emscripten` sees our install as present and the driver reuses it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from ..errors import ToolchainNotFound
from .base import Toolchain, emcc_version

DEFAULT_EMSDK_REPO = "https://github.com/emscripten-core/emsdk.git"
INSTALLED_STAMP = ".emscripten-python-installed"


def _run(argv: list[str], cwd: Path, log) -> None:
    log(f"$ {' '.join(argv)}")
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise ToolchainNotFound(f"emsdk step `{' '.join(argv)}` failed (rc {done.returncode}):\n{tail}")


def emsdk_toolchain(emsdk: Path, cache_root: Path) -> Toolchain:
    emscripten = emsdk / "upstream" / "emscripten"
    node_dirs = sorted((emsdk / "node").glob("*/bin"))
    toolchain = Toolchain(
        kind="emsdk", emcc=emscripten / "emcc", version="",
        env={"EMSDK": str(emsdk), "EM_CONFIG": str(emsdk / ".emscripten"),
             # CPython's driver reads EMSDK_CACHE; one mirrored workflow revision uses PY_EMSDK_CACHE.
             "EMSDK_CACHE": str(cache_root), "PY_EMSDK_CACHE": str(cache_root)},
        path_prefix=[str(emscripten), str(emsdk), *map(str, node_dirs[-1:])],
        emsdk_cache=cache_root,
    )
    toolchain.version = emcc_version(toolchain.emcc, toolchain.environ())
    return toolchain


def install_emsdk(version: str, cache_root: Path, *, repo: str | None = None, log=print) -> Toolchain:
    """Install (or reuse) Emscripten `version`; safe when several builds start at once."""
    repo = repo or os.environ.get("EMSDK_REPO", DEFAULT_EMSDK_REPO)
    version_dir = cache_root / version
    emsdk = version_dir / "emsdk"
    version_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(version_dir) + ".lock"):
        if (emsdk / INSTALLED_STAMP).exists():
            log(f"emsdk {version}: cached in {emsdk}")
            return emsdk_toolchain(emsdk, cache_root)
        if (emsdk / "upstream" / "emscripten" / "emcc").exists():
            # Installed by CPython's own `install-emscripten`: trust it only if it runs.
            toolchain = emsdk_toolchain(emsdk, cache_root)
            (emsdk / INSTALLED_STAMP).write_text(version + "\n")
            return toolchain
        if shutil.which("git") is None:
            raise ToolchainNotFound("git is needed to install emsdk")
        partial = version_dir / "emsdk.partial"
        shutil.rmtree(partial, ignore_errors=True)
        log(f"emsdk {version}: installing into {emsdk}")
        _run(["git", "clone", "--quiet", "--depth", "1", repo, str(partial)], version_dir, log)
        _run([str(partial / "emsdk"), "install", version], partial, log)
        _run([str(partial / "emsdk"), "activate", version], partial, log)
        shutil.rmtree(emsdk, ignore_errors=True)
        # Rename last: a crash mid-install leaves only emsdk.partial, never a half emsdk.
        partial.rename(emsdk)
        # emsdk writes absolute paths into .emscripten; point them at the final directory.
        config = emsdk / ".emscripten"
        if config.exists():
            config.write_text(config.read_text().replace(str(partial), str(emsdk)))
        (emsdk / INSTALLED_STAMP).write_text(version + "\n")
        return emsdk_toolchain(emsdk, cache_root)
