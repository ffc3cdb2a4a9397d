"""Stand-in CPython checkouts for the action's tests (no build ever starts from them)."""

from __future__ import annotations

from pathlib import Path

PATCHLEVEL = '#define PY_VERSION              "{version}"\n'


def stand_in_cpython(root: Path, version: str = "3.13.15", config_toml: str | None = None) -> Path:
    """A directory the CLI recognises as CPython: 3.11-3.13 layout, or Platforms/emscripten with
    config_toml (3.14+)."""
    (root / "Include").mkdir(parents=True, exist_ok=True)
    (root / "Include" / "patchlevel.h").write_text(PATCHLEVEL.format(version=version))
    if config_toml is None:
        (root / "configure").write_text("#! /bin/sh\n")
        (root / "Tools" / "wasm").mkdir(parents=True, exist_ok=True)
    else:
        driver = root / "Platforms" / "emscripten"
        driver.mkdir(parents=True, exist_ok=True)
        (driver / "__main__.py").write_text("# stand-in driver\n")
        (driver / "config.toml").write_text(config_toml)
        (driver / "make_libffi.sh").write_text("#!/bin/bash\n# stand-in\n")
    return root
