"""Unit tests: fast, hermetic, and never spawning a process.

Every unit test runs with subprocess.Popen / subprocess.run / os.posix_spawn (and friends)
replaced by a function that raises, so code that would shell out to emcc, git, node or make
fails loudly instead of silently depending on the machine. A test may replace one of them
with its own fake (monkeypatch) — that still spawns nothing. A test that truly needs a real
process must say so with ``@pytest.mark.allow_subprocess`` (none does today).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SPAWN_MESSAGE = "unit tests must not spawn processes"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allow_subprocess: this unit test may spawn real processes (opt-out of the guard)"
    )


def _forbidden(*args, **kwargs):
    raise AssertionError(SPAWN_MESSAGE)


@pytest.fixture(autouse=True)
def _no_processes(request, monkeypatch):
    if request.node.get_closest_marker("allow_subprocess"):
        yield
        return
    monkeypatch.setattr(subprocess, "Popen", _forbidden)
    monkeypatch.setattr(subprocess, "run", _forbidden)
    for name in ("posix_spawn", "posix_spawnp", "system", "fork"):
        monkeypatch.setattr(os, name, _forbidden, raising=False)
    yield


# -- synthetic CPython trees --------------------------------------------------------------

PATCHLEVEL = """\
/* Python version identification scheme. (synthetic, for tests) */
#define PY_MAJOR_VERSION        {major}
#define PY_MINOR_VERSION        {minor}
#define PY_MICRO_VERSION        0

/* Version as a string */
#define PY_VERSION              "{version}"
"""

PLATFORMS_MAIN = '''\
#!/usr/bin/env python3
import argparse
subcommands = ["install-emscripten", "configure-build-python", "make-build-python",
               "make-dependencies", "make-libffi", "make-mpdec", "configure-host", "make-host", "run"]
'''

TOOLS_WASM_MAIN_OLD = '''\
#!/usr/bin/env python3
import argparse
subcommands = ["configure-build-python", "make-build-python", "make-libffi", "make-mpdec",
               "configure-host", "make-host"]
'''


def write_tree(root: Path, layout: str, version: str = "3.14.0", *, main_text: str | None = None) -> Path:
    """A directory that looks like a CPython checkout of `layout`:

    platforms   Platforms/emscripten/__main__.py   (3.14.4+, 3.15, main)
    tools-wasm  Tools/wasm/emscripten/__main__.py  (3.14.0 - 3.14.3)
    configure   configure + Tools/wasm/            (3.11 - 3.13)
    none        just Include/patchlevel.h
    """
    major, minor = version.split(".")[:2]
    (root / "Include").mkdir(parents=True, exist_ok=True)
    (root / "Include" / "patchlevel.h").write_text(PATCHLEVEL.format(major=major, minor=minor, version=version))
    (root / "Lib").mkdir(exist_ok=True)
    (root / "Lib" / "os.py").write_text("# os\n")
    if layout == "platforms":
        driver = root / "Platforms" / "emscripten"
        driver.mkdir(parents=True)
        (driver / "__main__.py").write_text(main_text if main_text is not None else PLATFORMS_MAIN)
    elif layout == "tools-wasm":
        driver = root / "Tools" / "wasm" / "emscripten"
        driver.mkdir(parents=True)
        (driver / "__main__.py").write_text(main_text if main_text is not None else TOOLS_WASM_MAIN_OLD)
    elif layout == "configure":
        (root / "configure").write_text("#! /bin/sh\n# Guess values for system-dependent variables\n")
        (root / "Tools" / "wasm").mkdir(parents=True)
        (root / "Tools" / "wasm" / "wasm_build.py").write_text("# developer convenience\n")
        (root / "Tools" / "wasm" / "config.site-wasm32-emscripten").write_text("ac_cv_func_eventfd=no\n")
    elif layout != "none":
        raise ValueError(layout)
    return root


@pytest.fixture
def make_tree(tmp_path):
    """make_tree(layout, version="3.14.0", name="cpython", main_text=None) -> Path"""

    def make(layout: str, version: str = "3.14.0", *, name: str = "cpython", main_text: str | None = None) -> Path:
        return write_tree(tmp_path / name, layout, version, main_text=main_text)

    return make


@pytest.fixture
def tree_writer():
    """write_tree itself, for trees at a chosen path (tarball sources, fake clones)."""
    return write_tree
