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

--full: the whole suite as `test --tests all` runs it for the bundle's tree: regrtest's own
`--list-tests` on the built interpreter (testing/selection.py) with the tree's regrtest
arguments (pipeline.regrtest_arguments: no --test-args given), each file under `test`'s
default --timeout. The workers run in the e2e tier's Debian root with its node 20 (as root; the
root must be provisioned), the 1-worker run first, then 2 shards balanced by its durations
(no hash split: it would cost another full suite). A merge that differs from the 1-worker
run is reported file by file (a flaky file shows up here) and the exit status is 1.

Usage: benchmarks/shards.py [--bundle FILE] [--tests test_a,test_b,...]
       benchmarks/shards.py --full [--bundle FILE]            (as root on Debian)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
FULL_WORK = "/var/lib/ep-bench-shards"       # --full: inside the Debian root


def newest_e2e_bundle() -> Path | None:
    cache = Path(os.environ.get("EP_E2E_CACHE", "/var/cache/emscripten-python-e2e"))
    found = sorted(cache.glob("root-*/var/lib/ep-e2e/out/emscripten-python-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


class Place:
    """Where the workers run: this machine with its node, or (--full) inside the e2e tier's
    Debian root with the root's node and the project installed there. Paths given to it are
    as the workers see them; `host` turns one into the path this script reads."""

    def __init__(self, work: Path, root=None, cli: str | None = None):
        self.work, self.root, self.cli = work, root, cli or str(CLI)
        node = "/usr/bin/node" if root else shutil.which("node")
        node_only = work / "node-only"
        self.host(node_only).mkdir(parents=True, exist_ok=True)
        (self.host(node_only) / "node").symlink_to(node)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("EMSDK", "EM_"))} if root is None \
            else {"HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        self.env = {**base, "PATH": str(node_only), "EMSCRIPTEN_PYTHON_NO_RECORD": "1",
                    "EMSCRIPTEN_PYTHON_CACHE": str(work / "cache")}

    def host(self, path: Path) -> Path:
        return self.root.path / str(path).lstrip("/") if self.root else path

    def popen(self, argv: list[str], cwd: Path, console: Path) -> subprocess.Popen:
        with open(self.host(console), "w") as out:
            if self.root is None:
                return subprocess.Popen(argv, cwd=cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            script = f"cd {shlex.quote(str(cwd))} && exec {shlex.join(argv)}"
            return subprocess.Popen([shutil.which("chroot"), str(self.root.path), "/bin/bash", "-c", script],
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT)


def start(place: Place, name: str, bundle: Path, tests: str, *extra: str) -> subprocess.Popen:
    machine = place.work / name
    place.host(machine).mkdir()
    shutil.copy(place.host(bundle), place.host(machine) / bundle.name)     # each machine has its own copy
    return place.popen([place.cli, "test", "--from-bundle", bundle.name, "--tests", tests, "--jobs", "1",
                        "--out", "out", *extra], machine, machine / "console.txt")


def wait_all(processes: list[subprocess.Popen], started: float) -> list[float]:
    """Each process's wall time from `started` to its end (to 0.2 s)."""
    ended: dict[int, float] = {}
    while len(ended) < len(processes):
        for i, process in enumerate(processes):
            if i not in ended and process.poll() is not None:
                ended[i] = time.monotonic() - started
        time.sleep(0 if len(ended) == len(processes) else 0.2)
    return [ended[i] for i in range(len(processes))]


def run_workers(place: Place, label: str, bundle: Path, tests: str, shards: int, *extra: str):
    """All workers at once; the phase's wall time, each worker's, and their results.json (host paths)."""
    started = time.monotonic()
    processes = [start(place, f"{label}-{i}", bundle, tests, *(["--shard", f"{i}/{shards}"] if shards > 1 else []),
                       *extra) for i in range(1, shards + 1)]
    walls = wait_all(processes, started)
    wall = time.monotonic() - started
    codes = [p.returncode for p in processes]
    if any(code not in (0, 30) for code in codes):
        raise SystemExit(f"{label}: a worker failed (exit codes {codes}); "
                         f"see {place.host(place.work)}/{label}-*/console.txt")
    results = [place.host(place.work / f"{label}-{i}" / "out" / "results.json") for i in range(1, shards + 1)]
    return wall, walls, results


def files_of(path: Path) -> list[tuple]:
    return [(f["name"], f["outcome"]) for f in json.loads(path.read_text())["tests"]["files"]]


def outcome_differences(serial: list[tuple], merged: list[tuple]) -> list[tuple]:
    """(file, serial outcome, merged outcome) for every file whose outcome differs, None where a
    run has no such file; then ("(order)", ..) when both have the same files in another order."""
    one, two = dict(serial), dict(merged)
    differ = [(name, one.get(name), two.get(name)) for name in dict.fromkeys([*one, *two])
              if one.get(name) != two.get(name)]
    if not differ and [name for name, _ in serial] != [name for name, _ in merged]:
        differ.append(("(order)", "selection order", "another order"))
    return differ


def test_stage_seconds(results: Path) -> float:
    return next(s["duration"] for s in json.loads(results.read_text())["stages"] if s["name"] == "test")


def merge(place: Place, shards: list[Path]) -> tuple[subprocess.CompletedProcess, Path]:
    merged = place.work / "merged"
    inside = [str(place.work / p.parent.parent.name / "out" / "results.json") for p in shards]
    done = place.popen([place.cli, "merge", str(merged), *inside], place.work, place.work / "merge.txt")
    done.wait()
    return done, place.host(merged / "results.json")


def measure(place: Place, bundle: Path, tests: str, *, full: bool) -> int:
    count = "the full suite" if full else f"{len(tests.split(','))} test files"
    print(f"bundle {bundle.name} ({place.host(bundle).stat().st_size / 1e6:.1f} MB), {count}, {os.cpu_count()} CPUs, "
          f"load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) at {time.strftime('%H:%M:%S')}",
          flush=True)
    # --full keeps `test`'s own per-file timeout; the short selection caps a stuck file sooner.
    extra = [] if full else ["--timeout", "900"]
    one, _, [serial] = run_workers(place, "one", bundle, tests, 1, *extra)
    files = len(files_of(serial))
    print(f"1 worker:                         {one:6.1f} s  ({files} files, test stage "
          f"{test_stage_seconds(serial):.1f} s)", flush=True)
    durations = place.work / "one-1" / "out" / "test-durations.json"
    two, walls, shards = run_workers(place, "two", bundle, tests, 2, *extra, "--durations", str(durations))
    split = [len(json.loads(p.read_text())["shard"]["files"]) for p in shards]
    print(f"2 workers, balanced by durations: {two:6.1f} s  (files {split[0]} + {split[1]})  "
          f"ratio {two / one:.3f} (ideal 0.50)", flush=True)
    for i, (wall, path) in enumerate(zip(walls, shards), start=1):
        print(f"  shard {i}/2: {wall:6.1f} s wall, test stage {test_stage_seconds(path):.1f} s", flush=True)
    if not full:
        hashed, _, hashed_shards = run_workers(place, "hash", bundle, tests, 2, *extra)
        split = [len(json.loads(p.read_text())["shard"]["files"]) for p in hashed_shards]
        print(f"2 workers, split by name hash:    {hashed:6.1f} s  (files {split[0]} + {split[1]})  "
              f"ratio {hashed / one:.2f}")

    done, merged = merge(place, shards)
    if done.returncode not in (0, 30):
        print(f"merge failed (rc {done.returncode}); see {place.host(place.work / 'merge.txt')}", file=sys.stderr)
        return 1
    print(f"load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())} at {time.strftime('%H:%M:%S')}")
    differ = outcome_differences(files_of(serial), files_of(merged))
    if differ:
        print(f"MERGE DIFFERS from the 1-worker run in {len(differ)} of {files} files "
              f"(file: 1 worker -> merged shards); runs kept in {place.host(place.work)}:", file=sys.stderr)
        for name, before, after in differ:
            print(f"  {name}: {before} -> {after}", file=sys.stderr)
        return 1
    print(f"merge of the 2 balanced shards equals the 1-worker run file by file ({files} files)")
    shutil.rmtree(place.host(place.work))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--tests", default=None, help="the selection (default: 22 mid-sized files)")
    parser.add_argument("--full", action="store_true",
                        help="the full suite with the tree's arguments, in the e2e tier's Debian root")
    args = parser.parse_args()
    if args.full and args.tests:
        print("--full runs the tree's full selection: it takes no --tests", file=sys.stderr)
        return 2
    bundle = args.bundle or newest_e2e_bundle()
    if bundle is None or not bundle.is_file():
        print("no bundle: pass --bundle, or run the real-toolchain e2e tier first (docs/e2e.rst)", file=sys.stderr)
        return 2
    if not args.full:
        if not shutil.which("node"):
            print("node is needed", file=sys.stderr)
            return 2
        work = Path(tempfile.mkdtemp(prefix="ep-bench-shards-"))
        shutil.copy(bundle, work / bundle.name)          # the e2e tier may replace its bundle meanwhile
        return measure(Place(work), work / bundle.name, args.tests or ",".join(SELECTION), full=False)

    sys.path.insert(0, str(PROJECT / "tests" / "e2e"))
    from debian_root import DebianRoot, missing_prerequisites
    root = DebianRoot()
    if missing_prerequisites() or not root.ready:
        print(f"--full needs root and the e2e tier's provisioned root {root.path} "
              f"({'; '.join(missing_prerequisites()) or 'not provisioned'})", file=sys.stderr)
        return 2
    work = Path(FULL_WORK)
    with root.mounted():
        cli = root.install_project(PROJECT)
        shutil.rmtree(root.path / FULL_WORK.lstrip("/"), ignore_errors=True)
        (root.path / FULL_WORK.lstrip("/")).mkdir(parents=True)
        shutil.copy(bundle, root.path / FULL_WORK.lstrip("/") / bundle.name)
        return measure(Place(work, root, cli), work / bundle.name, "all", full=True)


if __name__ == "__main__":
    sys.exit(main())
