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

from ...durable import atomic_write, build_then_rename, disk_full, heal, is_complete, mark_complete, space_for
from ...errors import ToolchainNotFound
from .base import Toolchain, emcc_version

DEFAULT_EMSDK_REPO = "https://github.com/emscripten-core/emsdk.git"
INSTALLED_STAMP = ".emscripten-python-installed"


def _run(argv: list[str], cwd: Path, log) -> None:
    log(f"$ {' '.join(argv)}")
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode and "No space left on device" in done.stdout + done.stderr:
        raise disk_full(cwd)
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
    """Install (or reuse) Emscripten `version`; safe when several builds start at once.

    The install is made in emsdk.partial and renamed to emsdk only when complete, with its
    stamp inside (durable.build_then_rename): a killed install leaves emsdk.partial, which the
    next install removes. An emsdk without the stamp and without a working emcc is what an
    interrupted install of another tool left: removed, with one log line, and installed again.
    """
    repo = repo or os.environ.get("EMSDK_REPO", DEFAULT_EMSDK_REPO)
    version_dir = cache_root / version
    emsdk = version_dir / "emsdk"
    with space_for(version_dir):
        version_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(version_dir) + ".lock"):
        if is_complete(emsdk, INSTALLED_STAMP):
            log(f"emsdk {version}: cached in {emsdk}")
            return emsdk_toolchain(emsdk, cache_root)
        if (emsdk / "upstream" / "emscripten" / "emcc").exists():
            # Installed by CPython's own `install-emscripten`: trust it only if it runs.
            try:
                toolchain = emsdk_toolchain(emsdk, cache_root)
            except ToolchainNotFound:
                pass
            else:
                mark_complete(emsdk, version + "\n", INSTALLED_STAMP)
                return toolchain
        heal(emsdk, f"emsdk {version}:", log, INSTALLED_STAMP)
        if shutil.which("git") is None:
            raise ToolchainNotFound("git is needed to install emsdk")
        log(f"emsdk {version}: installing into {emsdk}")
        with build_then_rename(emsdk, version + "\n", INSTALLED_STAMP) as partial:
            _run(["git", "clone", "--quiet", "--depth", "1", repo, str(partial)], version_dir, log)
            _run([str(partial / "emsdk"), "install", version], partial, log)
            _run([str(partial / "emsdk"), "activate", version], partial, log)
            # emsdk writes absolute paths into .emscripten; point them at the final directory.
            config = partial / ".emscripten"
            if config.exists():
                atomic_write(config, config.read_text().replace(str(partial), str(emsdk)))
        return emsdk_toolchain(emsdk, cache_root)
