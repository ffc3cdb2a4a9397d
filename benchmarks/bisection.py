#!/usr/bin/env python3
"""What `bisect` costs on the real 3.13.15 tree: a 16-commit range, one test file (issue 23).

Not a test: it prints the figures of one run on this machine, on the real-toolchain harness
(Debian root, emcc 3.1.69, node 20; docs/e2e.rst). Goals: the bisection under 10 minutes, at
most ceil(log2 16) + 2 = 6 builds, each step's build at most 0.25 of a cold build.

1. The tarball's tree, unpacked in the root, becomes commit c0 of a git history with 16 commits
   after it (tests/e2e/git_history.py, shared with tests/e2e/test_bisect_real.py): Lib comments,
   C changes (a line of code added to a core C file; the link changes too) and, at c11,
   Lib/textwrap.py expanding tabs one column too far, so test_textwrap fails from c11 on.
2. c0 is checked out and built from nothing with `emscripten-python build` in a cache directory
   of the benchmark's own (empty ccache and configure-cache; the Emscripten cache, ports built,
   copied from the e2e run's, since a worker keeps it across commits): the cold build, and
   the caches a worker has after building the good commit (the tree's build directories, the
   carried config.cache, ccache for this tree's path).
3. `emscripten-python bisect --good c0 --bad c16 --tests test_textwrap` on that checkout with
   that cache directory, timed. Each step's build is the sum of its build stages (everything
   between the toolchain and the test stage) in its kept results.json, set against the cold
   build's.

Usage (as root on Debian; EP_E2E_CACHE picks the harness's cache): benchmarks/bisection.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
from debian_root import DebianRoot, SourceMirror  # noqa: E402
from git_history import (PATH_WITH_GIT, break_textwrap, comment, commit_history, git,  # noqa: E402
                         git_in_root, run_bisect)

BENCH = "/var/lib/ep-bisect-bench"
TREE = f"{BENCH}/checkout/Python-3.13.15"
CACHE_DIR = f"{BENCH}/cache"
E2E_EMCACHE = "/var/cache/emscripten-python/emcache-3.1.69"   # the e2e run's Emscripten cache
TEST = "test_textwrap"
CULPRIT = 11
NOT_BUILD = {"toolchain", "bundle"}     # and test*: the rest of a step's stages are its build


def _c_line(relative: str, number: int):
    """A line of C code added to a core file (a comment would leave the object the same)."""
    def change(tree: Path) -> None:
        with (tree / relative).open("a") as handle:
            handle.write(f'\nconst char _Py_bisect_bench_{number}[] = "bisect benchmark change {number}";\n')
    return change


def history() -> list[tuple[str, object]]:
    """(subject, change) for c1..c16."""
    c_files = {2: "Objects/floatobject.c", 5: "Python/getcopyright.c", 8: "Objects/listobject.c",
               12: "Objects/rangeobject.c", 15: "Objects/floatobject.c"}
    lib_files = ["Lib/colorsys.py", "Lib/json/__init__.py", "Lib/fractions.py"]
    changes = []
    for n in range(1, 17):
        if n == CULPRIT:
            changes.append(("Lib: textwrap expands tabs one column too far", break_textwrap))
        elif n in c_files:
            changes.append((f"C: {c_files[n]} change {n}", _c_line(c_files[n], n)))
        else:
            lib = lib_files[n % len(lib_files)]
            changes.append((f"Lib: {lib} comment {n}", lambda t, lib=lib, n=n: comment(t / lib, n)))
    return changes


def build_seconds(results: dict) -> float:
    return sum(s["duration"] for s in results["stages"]
               if s["name"] not in NOT_BUILD and not s["name"].startswith("test"))


def stage_table(results: dict) -> dict:
    return {s["name"]: {"s": round(s["duration"], 1), "status": s["status"],
                        **({"config_cache": s["cache"]["config_cache"]} if s.get("cache") else {})}
            for s in results["stages"]}


def ccache_of(results: dict) -> dict:
    record = (results.get("cache") or {}).get("ccache") or {}
    return {k: record.get(k) for k in ("used", "hits", "misses")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    root, mirror = DebianRoot().ensure(), SourceMirror().ensure()
    report: dict = {"cores": os.cpu_count(), "load_start": os.getloadavg(), "test": TEST, "commits": 16}
    env = {"EMSCRIPTEN_PYTHON_NO_RECORD": "1"}
    with root.mounted(), root.bind(mirror.path, "/mirror"), git_in_root(root):
        cli = root.install_project(PROJECT)
        root.set_noderawfs_stdio_fix(True)
        print("history: c0 = the tarball's tree, 16 commits after it ...", flush=True)
        root.chroot(f"""set -e; rm -rf {BENCH} && mkdir -p {BENCH}/checkout {CACHE_DIR} && cd {BENCH}/checkout
            python3 -c 'import tarfile, sys; tarfile.open(sys.argv[1]).extractall(".", filter="data")' \\
                /mirror/{mirror.cpython_tarball().name}
            cp -a {E2E_EMCACHE} {CACHE_DIR}/""")
        tree = root.path / TREE.lstrip("/")
        c = commit_history(tree, "CPython 3.13.15 (tarball)", history())
        git(tree, "checkout", "-q", "--detach", c[0])

        print("cold build of c0 (empty build directories, ccache and configure-cache) ...", flush=True)
        started = time.monotonic()
        cold = root.chroot(f"cd {BENCH} && {cli} build --toolchain system --mirror /mirror --source {TREE} "
                           f"--out {BENCH}/cold --cache-dir {CACHE_DIR} --jobs 2",
                           check=False, capture=True, env={**env, "PATH": PATH_WITH_GIT})
        cold_wall = time.monotonic() - started
        if cold.returncode != 0:
            sys.exit(f"the cold build failed (rc {cold.returncode}):\n{cold.stdout[-3000:]}")
        cold_results = json.loads((root.path / BENCH.lstrip("/") / "cold" / "results.json").read_text())
        cold_build = build_seconds(cold_results)
        report["cold_build"] = {"wall_s": round(cold_wall, 1), "build_stages_s": round(cold_build, 1),
                                "ccache": ccache_of(cold_results), "stages": stage_table(cold_results)}
        print(json.dumps(report["cold_build"]), flush=True)
        report["load_after_cold_build"] = os.getloadavg()

        print(f"bisect --good c0 --bad c16 --tests {TEST} ...", flush=True)
        done, result, wall = run_bisect(root, cli, tree=TREE, out=f"{BENCH}/out", good=c[0], bad=c[16], tests=TEST,
                                        env=env, extra=f"--cache-dir {CACHE_DIR}")
        print(done.stdout[-4000:], flush=True)
        if not result:
            sys.exit(f"bisect wrote no bisect.json (rc {done.returncode})")
        steps = []
        for step in result["steps"]:
            results = json.loads((root.path / BENCH.lstrip("/") / "out" / step["results"]).read_text())
            build = build_seconds(results)
            steps.append({"number": step["number"], "role": step["role"], "commit": f"c{c.index(step['commit'])}",
                          "verdict": step["verdict"], "outcome": step["outcome"], "test_runs": len(step["runs"]),
                          "step_s": round(step["duration"], 1), "build_s": round(build, 1),
                          "build_vs_cold_build": round(build / cold_build, 3), "ccache": ccache_of(results),
                          "stages": stage_table(results)})
            print(json.dumps(steps[-1]), flush=True)
        named = (result.get("first_bad") or {}).get("commit")
        report["bisect"] = {
            "rc": done.returncode, "wall_s": round(wall, 1), "duration_s": result["duration"],
            "builds": result["builds"], "builds_goal": math.ceil(math.log2(16)) + 2,
            "named": f"c{c.index(named)}" if named in c else named, "right_commit": named == c[CULPRIT],
            "max_build_vs_cold_build": max(s["build_vs_cold_build"] for s in steps),
            "back_on_c0": git(tree, "rev-parse", "HEAD") == c[0], "steps": steps}
    report["load_end"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
