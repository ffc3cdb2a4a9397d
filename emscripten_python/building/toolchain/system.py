"""An Emscripten that is already installed: $EMSDK, or emcc on PATH (distro, Homebrew)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ...errors import ToolchainNotFound
from .base import Toolchain, emcc_version


def find_system_toolchain(environ: dict[str, str] | None = None) -> Toolchain:
    environ = dict(os.environ if environ is None else environ)
    path_prefix: list[str] = []
    if environ.get("EMSDK"):
        emsdk = Path(environ["EMSDK"])
        emcc = emsdk / "upstream" / "emscripten" / "emcc"
        if not emcc.exists():
            raise ToolchainNotFound(f"$EMSDK is {emsdk} but {emcc} does not exist; run `emsdk activate`")
        path_prefix = [str(emcc.parent), str(emsdk)]
    else:
        found = shutil.which("emcc", path=environ.get("PATH"))
        if not found:
            raise ToolchainNotFound(
                "no emcc on PATH and $EMSDK is not set; install Emscripten (distro package, "
                "Homebrew, emsdk) or use --toolchain emsdk"
            )
        emcc = Path(found)
    toolchain = Toolchain(kind="system", emcc=emcc, version="", path_prefix=path_prefix)
    toolchain.version = emcc_version(emcc, toolchain.environ(environ))
    return toolchain
