#!/usr/bin/env python3
"""Speed benchmark on the real-toolchain harness (Debian root, emcc 3.1.69, CPython 3.13.15).

Not a test: it prints ratios measured in one run on this machine.
  (a) emscripten-python build+test vs the raw commands for the same build   (aim <= 1.02)
  (b) warm rebuild vs cold                                                    (aim <= 0.2)
  (c) the same test selection on N shards vs 1                              (aim <= 1/(0.8 N))
  (d) regrtest-output parsing throughput on a large real log, memory flat    (aim >= 50 MB/s)

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
import tracemalloc
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
sys.path.insert(0, str(PROJECT))
from debian_root import DebianRoot, SourceMirror  # noqa: E402

from emscripten_python.recipes.configure_era import LINKFORSHARED  # noqa: E402
from emscripten_python.testing.regrtest_output import parse_lines  # noqa: E402

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


def raw_build_and_test(root: DebianRoot, tarball: str) -> float:
    """The commands CPython's docs and our recipe use, typed by hand: no checks, no results."""
    return timed(root, f"""set -e
        rm -rf {BENCH}/raw && mkdir -p {BENCH}/raw && cd {BENCH}/raw
        python3 -c 'import tarfile, sys; tarfile.open(sys.argv[1]).extractall(".", filter="data")' {tarball}
        cd Python-3.13.15 && mkdir -p builddir/build builddir/emscripten-node
        export EM_CACHE=/var/cache/emscripten-python/emcache-3.1.69 EM_FROZEN_CACHE=0
        cd builddir/build && ../../configure -C >/dev/null && make -j2 >/dev/null
        cd ../emscripten-node
        CONFIG_SITE=../../Tools/wasm/config.site-wasm32-emscripten emconfigure ../../configure -C \\
          --host=wasm32-unknown-emscripten --build=$(../../config.guess) --with-emscripten-target=node \\
          --enable-wasm-dynamic-linking --with-build-python=$(pwd)/../build/python >/dev/null 2>&1
        emmake make -j2 LINKFORSHARED="{LINKFORSHARED}" >/dev/null 2>&1
        ulimit -s unlimited
        node --stack-size=30000 python.js -m test {REGRTEST} {' '.join(SELECTION)} >/dev/null 2>&1 || true
    """, env=COLD)


def product(root: DebianRoot, cli: str, args: str, env: dict | None = None) -> tuple[float, dict]:
    elapsed = timed(root, f"mkdir -p {BENCH}/out && {cli} {args}", env)
    results = json.loads((root.path / BENCH.lstrip("/") / "out" / "results.json").read_text())
    return elapsed, results


def stage_sum(results: dict, names: set[str]) -> float:
    return sum(s["duration"] for s in results["stages"] if s["name"] in names)


def parse_throughput(target_mb: int) -> tuple[float, float, int, int]:
    """MB/s, peak traced memory (MB), log size and cases kept, parsing a large log built
    from real captured output. Timed without tracemalloc (it slows allocation several
    times over); memory measured in a second pass."""
    data = PROJECT / "tests" / "unit" / "data"
    chunk = (data / "regrtest-3.13.15-emscripten-rerun.txt").read_text().split("== Tests result")[0]
    chunk += (data / "regrtest-3.13.15-emscripten-crash.txt").read_text().split("0:00:47")[0]
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        while log.tell() < target_mb * 1_000_000:
            log.write(chunk)
        path = Path(log.name)
    size = path.stat().st_size
    started = time.perf_counter()
    with open(path, errors="replace") as handle:
        output = parse_lines(handle)
    elapsed = time.perf_counter() - started
    cases = sum(len(a.cases) for a in output.attempts)
    del output
    tracemalloc.start()
    with open(path, errors="replace") as handle:
        parse_lines(handle)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    path.unlink()
    return size / 1e6 / elapsed, peak / 1e6, size, cases


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
    print("(d) parsing ...", flush=True)
    small = parse_throughput(10)
    large = parse_throughput(100)
    report["d_mb_per_s"] = round(large[0], 1)
    report["d_peak_mb_10mb_log"], report["d_peak_mb_100mb_log"] = round(small[1], 2), round(large[1], 2)
    # What grows is the parsed results (every repetition of the chunk adds its test cases),
    # not retained log text: bytes per kept case stay the same from 10 MB to 100 MB.
    report["d_bytes_per_case_10mb"] = round(small[1] * 1e6 / small[3])
    report["d_bytes_per_case_100mb"] = round(large[1] * 1e6 / large[3])
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
