"""The interface every era's recipe implements: build steps, the host interpreter, outputs."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..host import HostPython
from ..source import CPythonSource
from ..toolchain import Toolchain

# node's default JS stack overflows in deep-recursion tests (test_list, test_json):
# `RangeError: Maximum call stack size exceeded`. 30000 (KB) is what was measured to work.
DEFAULT_NODE_FLAGS = ["--stack-size=30000"]


def guess_build_triplet(tree: Path) -> str:
    return subprocess.run([str(tree / "config.guess")], capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class BuildContext:
    source: CPythonSource
    toolchain: Toolchain
    jobs: int
    node: str = "node"
    node_flags: list[str] = field(default_factory=lambda: list(DEFAULT_NODE_FLAGS))
    configure_args: list[str] = field(default_factory=list)
    python: str = sys.executable            # runs CPython's own driver scripts
    mirror: Path | None = None              # --mirror: the driver's libffi/mpdecimal downloads come from here
    build_triplet: Callable[[Path], str] = guess_build_triplet


@dataclass
class BuildStep:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    # A configure step's output (config.status): with an unchanged input key the step can be
    # skipped on a warm rebuild (buildcache.py). None: always run.
    reusable_when: Path | None = None


class Recipe:
    """One era of CPython's Emscripten support."""

    #: emcc ports the build asks emcc for (seeded from --mirror when offline)
    ports: tuple[str, ...] = ("zlib", "bzip2")

    def steps(self, ctx: BuildContext) -> list[BuildStep]:
        raise NotImplementedError

    def host_python(self, ctx: BuildContext) -> HostPython:
        raise NotImplementedError

    def build_python(self, ctx: BuildContext) -> Path:
        """The native interpreter built by make-build-python (pythoninfo-build runs it)."""
        raise NotImplementedError

    def outputs(self, ctx: BuildContext) -> list[Path]:
        """Files and directories that make the built interpreter usable elsewhere."""
        raise NotImplementedError
