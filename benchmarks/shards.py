#!/usr/bin/env python3
"""Test-phase wall time with 2 workers vs 1, from one real bundle (not a test: it prints ratios).

A "worker" is what a Buildbot worker or a GitHub matrix job does: `test --from-bundle B
--shard I/2` in its own directory, with node only. Both workers run at once; the phase ends
when the slower one does. The 1-worker baseline is `test --from-bundle B` of the same
selection. Shards are balanced by the durations the baseline measured (`--durations`, what a
fleet passes from its last run) and, as a second figure, split by file-name hash. The merge of
the 2 shards is checked to equal the baseline file by file.

The bundle: --bundle FILE, else the newest one the real-toolchain e2e tier left in its cache
(EP_E2E_CACHE, default /var/cache/emscripten-python-e2e). On one machine both workers share
its cores, so the ratio is what a 2-core box gives; separate machines do better.

Usage: benchmarks/shards.py [--bundle FILE] [--tests test_a,test_b,...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "emscripten-python"
# Mid-sized files, none dominant (benchmarks/speed.py uses the same kind of selection).
SELECTION = ["test_json", "test_list", "test_bool", "test_int", "test_float", "test_dict", "test_set",
             "test_tuple", "test_string", "test_bytes", "test_re", "test_itertools", "test_functools",
             "test_collections", "test_fractions", "test_zlib", "test_operator", "test_str", "test_enum",
             "test_struct", "test_heapq", "test_copy"]


def newest_e2e_bundle() -> Path | None:
    cache = Path(os.environ.get("EP_E2E_CACHE", "/var/cache/emscripten-python-e2e"))
    found = sorted(cache.glob("root-*/var/lib/ep-e2e/out/emscripten-python-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def node_only_env(work: Path) -> dict:
    bin_dir = work / "node-only"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "node").symlink_to(shutil.which("node"))
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("EMSDK", "EM_"))},
            "PATH": str(bin_dir), "EMSCRIPTEN_PYTHON_NO_RECORD": "1",
            "EMSCRIPTEN_PYTHON_CACHE": str(work / "cache")}


def start(work: Path, name: str, bundle: Path, tests: str, env: dict, *extra: str) -> subprocess.Popen:
    machine = work / name
    machine.mkdir()
    shutil.copy(bundle, machine / bundle.name)           # each machine has its own copy
    return subprocess.Popen([str(CLI), "test", "--from-bundle", bundle.name, "--tests", tests, "--jobs", "1",
                             "--timeout", "900", "--out", "out", *extra], cwd=machine, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_workers(work: Path, label: str, bundle: Path, tests: str, env: dict, shards: int, *extra: str):
    started = time.monotonic()
    processes = [start(work, f"{label}-{i}", bundle, tests, env, *(["--shard", f"{i}/{shards}"] if shards > 1 else []),
                       *extra) for i in range(1, shards + 1)]
    codes = [p.wait() for p in processes]
    wall = time.monotonic() - started
    if any(code not in (0, 30) for code in codes):
        raise SystemExit(f"{label}: a worker failed (exit codes {codes}); see {work}")
    results = [work / f"{label}-{i}" / "out" / "results.json" for i in range(1, shards + 1)]
    return wall, results


def files_of(path: Path) -> list[tuple]:
    return [(f["name"], f["outcome"]) for f in json.loads(path.read_text())["tests"]["files"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--tests", default=",".join(SELECTION))
    args = parser.parse_args()
    bundle = args.bundle or newest_e2e_bundle()
    if bundle is None or not bundle.is_file():
        print("no bundle: pass --bundle, or run the real-toolchain e2e tier first (docs/e2e.rst)", file=sys.stderr)
        return 2
    if not shutil.which("node"):
        print("node is needed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ep-bench-shards-"))
    local = work / bundle.name
    shutil.copy(bundle, local)          # the e2e tier may replace its bundle meanwhile
    env = node_only_env(work)
    count = len(args.tests.split(","))
    print(f"bundle {bundle} ({bundle.stat().st_size / 1e6:.1f} MB), {count} test files, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")

    one, [serial] = run_workers(work, "one", local, args.tests, env, 1)
    print(f"1 worker:                       {one:6.1f} s")
    durations = work / "one-1" / "out" / "test-durations.json"
    two, shards = run_workers(work, "two", local, args.tests, env, 2, "--durations", str(durations))
    split = [len(json.loads(p.read_text())["shard"]["files"]) for p in shards]
    print(f"2 workers, balanced by durations: {two:6.1f} s  (files {split[0]} + {split[1]})  "
          f"ratio {two / one:.2f} (ideal 0.50)")
    hashed, hashed_shards = run_workers(work, "hash", local, args.tests, env, 2)
    split = [len(json.loads(p.read_text())["shard"]["files"]) for p in hashed_shards]
    print(f"2 workers, split by name hash:    {hashed:6.1f} s  (files {split[0]} + {split[1]})  "
          f"ratio {hashed / one:.2f}")

    merged = work / "merged"
    done = subprocess.run([str(CLI), "merge", str(merged), *map(str, shards)], env=env, capture_output=True, text=True)
    if done.returncode not in (0, 30) or files_of(merged / "results.json") != files_of(serial):
        print(f"MERGE DIFFERS from the 1-worker run: {done.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"merge of the 2 balanced shards equals the 1-worker run file by file ({count} files)")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
