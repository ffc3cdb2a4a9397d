#!/usr/bin/env python3
"""Speed benchmark on the real-toolchain harness (Debian root, emcc 3.1.69, CPython 3.13.15).

Not a test: it prints ratios measured in one run on this machine.
  (a) emscripten-python build+test vs the raw commands for the same build   (aim <= 1.02)
  (b) warm rebuild vs cold                                                    (aim <= 0.2)
  (c) the same test selection on N shards vs 1                              (aim <= 1/(0.8 N))
  (d) regrtest-output parsing throughput on a large real log (benchmarks/parser.py)  (aim >= 50 MB/s)

Usage (as root on Debian): benchmarks/speed.py [--skip-cold] [--shards N]
A full run does two cold builds (~7 min each on 2 cores) and takes about 20 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
sys.path.insert(0, str(PROJECT))
from debian_root import DebianRoot, SourceMirror  # noqa: E402

from emscripten_python.building.recipes.configure_era import LINKFORSHARED  # noqa: E402
sys.path.insert(0, str(PROJECT / "benchmarks"))
import parser as parser_bench  # noqa: E402  (benchmarks/parser.py)

BENCH = "/var/lib/ep-bench"
# Mid-sized files; none dominates (test_math with -u cpu alone takes ~45 s, which would cap
# what any number of shards can gain).
SELECTION = ["test_json", "test_list", "test_bool", "test_int", "test_float", "test_dict", "test_set",
             "test_tuple", "test_string", "test_bytes", "test_re", "test_itertools", "test_functools",
             "test_collections", "test_fractions", "test_zlib", "test_os", "test_operator", "test_str",
             "test_enum", "test_array", "test_struct", "test_random", "test_heapq", "test_copy",
             "test_textwrap", "test_grammar", "test_types"]
REGRTEST = "-v -u all,-network --rerun --single-process"
ENV = {"EMSCRIPTEN_PYTHON_CACHE": "/var/cache/emscripten-python"}
# Cold means cold: ccache (which the product uses when present) would otherwise serve the
# "cold" product build from earlier runs while the raw commands compile everything.
COLD = {**ENV, "CCACHE_DISABLE": "1"}


def timed(root: DebianRoot, script: str, env: dict | None = None) -> float:
    started = time.monotonic()
    done = root.chroot(script, check=False, capture=True, env=env or ENV)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 30):
        sys.exit(f"benchmark step failed (rc {done.returncode}):\n{script}\n{done.stdout[-3000:]}")
    return elapsed


def raw_commands(workdir: str, tarball: str, regrtest: str, selection: str, changes: str = "") -> str:
    """The commands CPython's docs and our recipe use, typed by hand: the tarball unpacked in
    workdir (then the shell lines `changes`), configure and make of the build Python and the
    host, regrtest in one process. No checks, no results."""
    return f"""set -e
        rm -rf {workdir} && mkdir -p {workdir} && cd {workdir}
        python3 -c 'import tarfile, sys; tarfile.open(sys.argv[1]).extractall(".", filter="data")' {tarball}
        {changes}
        cd {workdir}/Python-3.13.15 && mkdir -p builddir/build builddir/emscripten-node
        export EM_CACHE=/var/cache/emscripten-python/emcache-3.1.69 EM_FROZEN_CACHE=0
        cd builddir/build && ../../configure -C >/dev/null && make -j2 >/dev/null
        cd ../emscripten-node
        CONFIG_SITE=../../Tools/wasm/config.site-wasm32-emscripten emconfigure ../../configure -C \\
          --host=wasm32-unknown-emscripten --build=$(../../config.guess) --with-emscripten-target=node \\
          --enable-wasm-dynamic-linking --with-build-python=$(pwd)/../build/python >/dev/null 2>&1
        emmake make -j2 LINKFORSHARED="{LINKFORSHARED}" >/dev/null 2>&1
        ulimit -s unlimited
        node --stack-size=30000 python.js -m test {regrtest} {selection} >/dev/null 2>&1 || true
    """


def raw_build_and_test(root: DebianRoot, tarball: str) -> float:
    return timed(root, raw_commands(f"{BENCH}/raw", tarball, REGRTEST, " ".join(SELECTION)), env=COLD)


def product(root: DebianRoot, cli: str, args: str, env: dict | None = None) -> tuple[float, dict]:
    elapsed = timed(root, f"mkdir -p {BENCH}/out && {cli} {args}", env)
    results = json.loads((root.path / BENCH.lstrip("/") / "out" / "results.json").read_text())
    return elapsed, results


def stage_sum(results: dict, names: set[str]) -> float:
    return sum(s["duration"] for s in results["stages"] if s["name"] in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="only (b)'s warm half, (c) and (d)")
    parser.add_argument("--shards", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    root, mirror = DebianRoot().ensure(), SourceMirror().ensure()
    report: dict[str, object] = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
                                 "selection": len(SELECTION)}
    with root.mounted(), root.bind(mirror.path, "/mirror"):
        cli = root.install_project(PROJECT)
        root.set_noderawfs_stdio_fix(True)
        tarball = f"/mirror/{mirror.cpython_tarball().name}"
        common = (f"run --toolchain system --mirror /mirror --source {tarball} --out {BENCH}/out "
                  f"--tests {','.join(SELECTION)} --test-jobs 1")
        if not args.skip_cold:
            print("(a) raw commands, cold ...", flush=True)
            raw = raw_build_and_test(root, tarball)
            print("(a) emscripten-python run, cold ...", flush=True)
            root.chroot(f"rm -rf {BENCH}/out")
            cold, cold_results = product(root, cli, common, COLD)
            build_test = {"configure-build-python", "make-build-python", "configure-host", "make-host", "test"}
            report["a_raw_s"], report["a_product_s"] = round(raw, 1), round(cold, 1)
            report["a_product_build_test_s"] = round(stage_sum(cold_results, build_test), 1)
            report["a_ratio_whole_run"] = round(cold / raw, 3)
            report["a_ratio_build_test"] = round(stage_sum(cold_results, build_test) / raw, 3)
        print("(b) emscripten-python run, warm ...", flush=True)
        warm, warm_results = product(root, cli, common)
        report["b_warm_s"] = round(warm, 1)
        report["b_warm_cached_stages"] = [s["name"] for s in warm_results["stages"] if s["status"] == "cached"]
        if not args.skip_cold:
            report["b_ratio_warm_vs_cold"] = round(warm / report["a_product_s"], 3)
            # The build alone: tests take the same time warm or cold.
            build = {"configure-build-python", "make-build-python", "configure-host", "make-host"}
            report["b_ratio_build_only"] = round(stage_sum(warm_results, build) / stage_sum(cold_results, build), 3)
        source = warm_results["source"]["path"]
        print(f"(c) test stage, 1 vs {args.shards} shards ...", flush=True)
        test_args = f"test --source {source} --out {BENCH}/out --tests {','.join(SELECTION)}"
        serial, _ = product(root, cli, f"{test_args} --jobs 1")
        sharded, _ = product(root, cli, f"{test_args} --jobs {args.shards}")
        report["c_serial_s"], report["c_sharded_s"] = round(serial, 1), round(sharded, 1)
        report["c_ratio"] = round(sharded / serial, 3)
        report["c_aim"] = round(1 / (0.8 * args.shards), 3)
    print("(d) parsing (benchmarks/parser.py has the full figures) ...", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        log = parser_bench.build_log("verbose", 100, Path(directory))
        speed, memory = parser_bench.throughput("verbose", log, 1), parser_bench.memory("verbose", log)
    report["d_mb_per_s"], report["d_ratio_to_loop"] = speed["parse_mb_per_s"], speed["ratio_to_loop"]
    report["d_peak_rss_mb_100mb_log"] = memory["parse_peak_rss_mb"]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
