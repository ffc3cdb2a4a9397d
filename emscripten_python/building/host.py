"""How to start a built interpreter: what a recipe gives the test runner and the runtimes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class HostPython:
    """How to start the wasm interpreter: argv prefix before `-m test …`, cwd, environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    entry: Path | None = None     # the built file that must exist (python.js / python.sh)
