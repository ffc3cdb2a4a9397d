"""A toolchain smoke check: compile and run a tiny NODERAWFS program before building CPython.

Emscripten 3.1.69's NODERAWFS gives the standard streams no path, so fstat(1) fails and
CPython silently drops stdout: a test run then prints nothing and exits 0. This check
catches that class of breakage in seconds, before a 6-minute build and a "0 tests" report.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from ...errors import ToolchainBroken
from .base import Toolchain

STDOUT_MARKER = "emscripten-python smoke: stdout ok"
STDERR_MARKER = "emscripten-python smoke: stderr ok"


def smoke_check(toolchain: Toolchain, node: str = "node") -> dict:
    env = toolchain.environ()
    with tempfile.TemporaryDirectory(prefix="ep-smoke-") as scratch:
        source = Path(scratch) / "smoke.c"
        source.write_text(resources.files("emscripten_python").joinpath("data/smoke.c").read_text())
        compiled = subprocess.run(
            [str(toolchain.emcc), "-sNODERAWFS=1", "-sEXIT_RUNTIME=1", "-O0", str(source),
             "-o", str(Path(scratch) / "smoke.js")],
            capture_output=True, text=True, env=env, cwd=scratch, timeout=600,
        )
        if compiled.returncode:
            raise ToolchainBroken("emcc cannot compile a hello-world (smoke check):\n"
                                  + _tail(compiled.stderr or compiled.stdout))
        ran = subprocess.run([shutil.which(node, path=env.get("PATH")) or node, "smoke.js"],
                             capture_output=True, text=True, env=env, cwd=scratch, timeout=120)
    problems = []
    if ran.returncode == 3:
        problems.append("fstat() on stdout/stderr fails under NODERAWFS (CPython would set "
                        "sys.stdout to None and every print would vanish)")
    elif ran.returncode:
        problems.append(f"the program crashed (rc {ran.returncode}): {_tail(ran.stderr or ran.stdout)}")
    if ran.returncode == 0 and STDOUT_MARKER not in ran.stdout:
        problems.append("stdout vanished: the program exited 0 but printed nothing")
    if ran.returncode == 0 and STDERR_MARKER not in ran.stderr:
        problems.append("stderr vanished")
    if problems:
        raise ToolchainBroken(
            f"emcc {toolchain.version} ({toolchain.emcc}) fails the NODERAWFS smoke check: "
            + "; ".join(problems)
            + ". Known cause: Emscripten 3.1.69's library_noderawfs.js creates the standard "
              "streams with path '' and tty: true (fixed in newer Emscripten; see docs/toolchains.rst)."
        )
    return {"smoke_check": "passed"}


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
