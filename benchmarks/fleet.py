#!/usr/bin/env python3
"""What a fleet pays per commit: a sequence of commits on the real 3.13.15 tree (issue 22).

Not a test: it prints per-commit wall times and ratios measured in one run on this machine,
on the real-toolchain harness (Debian root, emcc 3.1.69, node 20; see benchmarks/speed.py).

Commits, each the previous one plus one change:
  1. the tarball as it is;
  2. a one-line C change (a line added to Python/getcopyright.c);
  3. a Lib-only change (a line added to Lib/json/__init__.py);
  4. a configure-affecting change (a line added to configure, which changes its hash).

Each commit is built and tested two ways:
  (a) CPython's own recipe as raw commands: a clean configure and make of the build Python and
      of the host (the commands of Tools/wasm/README.md for 3.13, as our recipe runs them),
      then regrtest in one process with the tree's arguments over the selection. CPython's
      buildbot builds every commit clean, so each commit costs a cold build.
  (b) emscripten-python `run` with its caches: the checkout updated in place (a worker's
      checkout between two builds), the carried config.cache, ccache when the root has it,
      `--test-jobs 2`. Its cache directory is the benchmark's own and starts empty at
      commit 1, as on a new worker: commit 1 also pays the writable Emscripten cache copy,
      the ports' build and a cold ccache. (a) uses the e2e run's Emscripten cache, whose
      ports are built already.

Usage (as root on Debian): benchmarks/fleet.py [--tests A,B,...] [--raw-once]
  --tests: the selection (default: the tree's own full selection, `all`)
  --raw-once: time (a) on commit 1 only and use that figure for every commit (it is a clean
              build each time); saves three cold builds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
sys.path.insert(0, str(PROJECT))
from debian_root import DebianRoot, SourceMirror  # noqa: E402
from real_build import compile_commands  # noqa: E402

from emscripten_python.building.source import DRIVER_ERA_TEST_ARGS  # noqa: E402
sys.path.insert(0, str(PROJECT / "benchmarks"))
from speed import COLD, ENV, raw_commands, timed  # noqa: E402  (benchmarks/speed.py)

BENCH = "/var/lib/ep-fleet"
TREE = f"{BENCH}/checkout/Python-3.13.15"          # (b): one checkout, updated commit by commit
CACHE_DIR = f"{BENCH}/cache"                        # (b): its caches, empty at commit 1
# (a) is CPython's recipe: no compiler cache (its Emscripten buildbot's ccache is not part of
# the recipe in the tree, and a warm ccache would make "clean" builds look cheap).
RAW_ENV = COLD
CHANGES = [
    ("tarball", None, None),
    ("one-line C change", "Python/getcopyright.c", "/* fleet benchmark: a one-line C change */"),
    ("Lib-only change", "Lib/json/__init__.py", "# fleet benchmark: a Lib-only change"),
    ("configure-affecting change", "configure", "# fleet benchmark: a configure-affecting change"),
]
BUILD_STAGES = ("configure-build-python", "make-build-python", "configure-host", "make-host")


def apply_changes(tree: str, upto: int) -> str:
    """Shell lines that turn the tarball's tree into commit `upto` (1-based)."""
    return "\n".join(f"echo '{line}' >> {tree}/{path}" for _, path, line in CHANGES[1:upto])


def raw_commit(root: DebianRoot, tarball: str, commit: int, tests: str) -> float:
    """CPython's recipe on a fresh tree of this commit: clean configure + make, regrtest serially."""
    selection = "" if tests == "all" else " ".join(tests.split(","))
    return timed(root, raw_commands(f"{BENCH}/raw", tarball, " ".join(DRIVER_ERA_TEST_ARGS), selection,
                                    apply_changes(f"{BENCH}/raw/Python-3.13.15", commit)), RAW_ENV)


def product_commit(root: DebianRoot, cli: str, tarball: str, commit: int, tests: str) -> tuple[float, dict]:
    """emscripten-python run on the worker's checkout, updated to this commit, with its caches."""
    if commit == 1:
        prepare = f"""rm -rf {BENCH}/checkout {BENCH}/out {CACHE_DIR} && mkdir -p {BENCH}/checkout && cd {BENCH}/checkout
            python3 -c 'import tarfile, sys; tarfile.open(sys.argv[1]).extractall(".", filter="data")' {tarball}"""
    else:
        _, path, line = CHANGES[commit - 1]
        prepare = f"echo '{line}' >> {TREE}/{path}"
    root.chroot(prepare, env=ENV)
    elapsed = timed(root, f"mkdir -p {BENCH}/out && {cli} run --toolchain system --mirror /mirror --source {TREE} "
                          f"--out {BENCH}/out --cache-dir {CACHE_DIR} --tests {tests} --test-jobs 2", ENV)
    return elapsed, json.loads((root.path / BENCH.lstrip("/") / "out" / "results.json").read_text())


def stage_table(results: dict, out: Path) -> dict:
    """Each stage's seconds; a configure's config.cache and how many of its outputs kept their
    mtime; a make stage's compile commands (from its log)."""
    table = {}
    for s in results["stages"]:
        row = {"s": round(s["duration"], 1), "status": s["status"]}
        if s.get("cache"):
            row["config_cache"] = s["cache"]["config_cache"]
            row["outputs_restored"] = len((s["cache"].get("outputs") or {}).get("restored", []))
        if s["name"].startswith("make-") and s.get("log") and (out / s["log"]).is_file():
            row["compiles"] = compile_commands((out / s["log"]).read_text(errors="replace"))
        table[s["name"]] = row
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default="all", help="the test selection (default: the tree's full selection)")
    parser.add_argument("--raw-once", action="store_true", help="time (a) on commit 1 only (a clean build each time)")
    args = parser.parse_args()
    root, mirror = DebianRoot().ensure(), SourceMirror().ensure()
    report: dict = {"cores": os.cpu_count(), "load_before": os.getloadavg(), "tests": args.tests, "commits": []}
    with root.mounted(), root.bind(mirror.path, "/mirror"):
        cli = root.install_project(PROJECT)
        root.set_noderawfs_stdio_fix(True)
        tarball = f"/mirror/{mirror.cpython_tarball().name}"
        raw_first = None
        for commit, (label, _, _) in enumerate(CHANGES, start=1):
            print(f"commit {commit} ({label}): (a) CPython's recipe ...", flush=True)
            raw = raw_first if args.raw_once and raw_first is not None else raw_commit(root, tarball, commit, args.tests)
            raw_first = raw_first or raw
            print(f"commit {commit} ({label}): (b) emscripten-python ...", flush=True)
            product, results = product_commit(root, cli, tarball, commit, args.tests)
            build = sum(s["duration"] for s in results["stages"] if s["name"] in BUILD_STAGES)
            report["commits"].append({
                "commit": commit, "change": label, "raw_s": round(raw, 1),
                "raw_measured": not (args.raw_once and commit > 1), "product_s": round(product, 1),
                "product_build_s": round(build, 1), "ratio_product_vs_raw": round(product / raw, 3),
                "ccache": (results.get("cache") or {}).get("ccache"), "stages": stage_table(results, root.path / BENCH.lstrip("/") / "out")})
            print(json.dumps(report["commits"][-1]), flush=True)
    cold_build = report["commits"][0]["product_build_s"]
    for entry in report["commits"][1:]:
        entry["build_vs_cold_build"] = round(entry["product_build_s"] / cold_build, 3) if cold_build else None
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
