"""One build, several runtimes: which runtimes a run tests under, and how each starts the build.

The results keep one test section per runtime (docs/results-schema.rst): `tests` is the
primary runtime (the first `--node`), `runtimes` holds the others (more node versions, the
browser smoke test), each with the same shape and a `runtime` record saying what ran it.

Node flags follow CPython, per node major:
- 3.14+ trees: `python.sh` adds `--experimental-wasm-jspi` when the node major is exactly 24
  ("Before node 24, --experimental-wasm-jspi uses different API, After node 24 JSPI is on by
  default"; python/cpython configure-host's python.sh, see docs/runtimes.rst). python.sh
  bakes in the node it was configured with, so another node starts `node_entry.mjs` itself
  with the flags python.sh would have used.
- 3.11-3.13: configure's HOSTRUNNER (flags it probed for the node it found) — those flags
  (`--experimental-wasm-bigint`, ...) are probes of one node, so another major gets none.
- Both: node's default JS stack overflows in deep-recursion tests, so `--stack-size=30000`
  (or the user's --node-flag list) comes first, as for the primary node.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess

from ..building.host import HostPython
from ..building.source import Era, jspi_flags, node_major
from ..errors import ToolchainNotFound


def node_version(node: str, env: dict[str, str] | None = None) -> str | None:
    """`node --version` without the leading v; raises ToolchainNotFound when node cannot start."""
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        raise ToolchainNotFound(f"node ({node}) is not installed or cannot start; "
                                "each --node must be a Node.js binary") from None
    return done.stdout.strip().lstrip("v") or None


def node_runtime(path: str, version: str | None, flags: list[str]) -> dict:
    return {"kind": "node", "name": "node", "version": version, "path": path, "flags": list(flags)}


def runtime_label(runtime: dict | None) -> str:
    """'node 20.19.2', 'chromium 142.0' — for tables, JUnit names and logs."""
    runtime = runtime or {}
    name = _plain(runtime.get("name") or runtime.get("kind") or "node")
    version = _plain(runtime.get("version") or "")
    return f"{name} {version}" if version else name


def _plain(text) -> str:
    """A runtime record may come from a fork's results.json: keep it to plain characters."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "", str(text))[:40]


def runtime_slug(runtime: dict | None) -> str:
    """A file-name-safe key: node-24, chromium (major only: one build is tested once per major)."""
    runtime = runtime or {}
    name = runtime.get("name") or runtime.get("kind") or "node"
    major = node_major(runtime.get("version")) if runtime.get("kind", "node") == "node" else None
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{name}-{major}" if major is not None else name)


def host_for_node(host: HostPython, node: str, version: str | None, base_flags: list[str]) -> HostPython:
    """The same built interpreter, started by another node binary with that major's flags.

    host is the primary runtime's HostPython (recipe.host_python): its argv is either
    [node, *configure-probed flags, *base_flags, "python.js"] (3.11-3.13) or [python.sh]
    (3.14+, which would start the node it was configured with).
    """
    entry = host.entry
    if entry is not None and entry.name == "python.sh":
        node_entry = entry.parent / "node_entry.mjs"
        argv = [node, *base_flags, *jspi_flags(Era.PLATFORMS, version), str(node_entry),
                f"--this-program={entry}"]
        env = {**host.env, "NODEFLAGS": ""}
        return dataclasses.replace(host, argv=argv, env=env)
    script = host.argv[-1] if host.argv else "python.js"
    return dataclasses.replace(host, argv=[node, *base_flags, script])


def section_files(section: dict) -> list:
    return section.setdefault("files", [])
