"""The toolchain a run asks for (`--toolchain emsdk[:VERSION]|system`), made ready for the build.

Ready means: found or installed, compared with the tree's pin, its Emscripten cache writable
and, with a mirror, the ports the recipe needs seeded and the tree's dependencies checked.
What was done is returned as the run's `toolchain` record (docs/results-schema.rst).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ToolchainNotFound
from ..source import CPythonSource
from .base import Toolchain, compare_with_pin
from .emcache import check_dependencies, ensure_writable_cache, seed_ports
from .emsdk import install_emsdk
from .system import find_system_toolchain


def provide(spec: str, source: CPythonSource, cache_dir: Path, *, ports: list[str], mirror: Path | None,
            strict: bool, log) -> tuple[Toolchain, dict]:
    """spec: `--toolchain`; ports: the recipe's ports to seed from the mirror."""
    kind, _, version = spec.partition(":")
    if kind == "system":
        toolchain = find_system_toolchain()
    elif kind == "emsdk":
        wanted = version or source.pin.version or source.pin.minimum
        if not wanted:
            raise ToolchainNotFound("no Emscripten version to install: pass --toolchain emsdk:VERSION")
        toolchain = install_emsdk(wanted, cache_dir / "emsdk", log=log)
    else:
        raise ToolchainNotFound(f"--toolchain {spec!r}: use emsdk, emsdk:VERSION or system")
    comparison = compare_with_pin(toolchain.version, source.pin, strict=strict)
    if comparison["mismatch"]:
        log(f"warning: {comparison['mismatch']}")
    em_cache = ensure_writable_cache(toolchain, cache_dir, log=log)
    seeded, dependencies = [], []
    if mirror:
        seeded = seed_ports(toolchain, em_cache, mirror, ports, log=log)
        dependencies = check_dependencies(source.tree_config.dependencies, mirror, log=log)
    record = {
        "kind": toolchain.kind, "emcc": str(toolchain.emcc), "emcc_version": toolchain.version,
        **comparison, "em_cache": str(em_cache), "ports": seeded,
        **({"dependencies": dependencies} if dependencies else {}),
        "env": toolchain.env, "path_prefix": toolchain.path_prefix,
        "emsdk_cache": str(toolchain.emsdk_cache) if toolchain.emsdk_cache else None,
    }
    return toolchain, record
