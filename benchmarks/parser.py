#!/usr/bin/env python3
"""Parser benchmark: regrtest console logs built from real captured output.

Not a test: it prints, in one run, for a verbose and a non-verbose log,
  - the parser's throughput (MB/s) and its ratio to a plain `for line in f: pass` loop over
    the same file opened the same way                 (aim >= 50 MB/s verbose, ratio <= ~3.5)
  - the peak RSS of a process that parses the log, at two sizes, next to the peak RSS of
    the plain loop                                      (aim < 100 MB for 1 GB of either kind)
Each measurement runs in a fresh child process (peak RSS is per process); times are the
child's CPU time (the machine is shared), and throughput figures are the median of --repeat
runs. The parser is fed the way the runner feeds it: pieces of output (feed_text), and every
finished file's cases are turned into TestCases.

The logs repeat real output (tests/unit/data: CPython 3.13.15 under Emscripten, verbose;
CPython 3.14.10 native, non-verbose), so the files and test cases repeat too: the results
stay the same size while the log grows, which is what shows that memory follows the results
and not the log.

Usage: benchmarks/parser.py [--sizes 100,1000] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "unit" / "data"


def chunk(kind: str) -> str:
    """One repetition of real output (no summary and no re-run, so repetitions chain)."""
    if kind == "verbose":
        text = (DATA / "regrtest-3.13.15-emscripten-rerun.txt").read_text().split("== Tests result")[0]
        return text + (DATA / "regrtest-3.13.15-emscripten-crash.txt").read_text().split("0:00:47")[0]
    return (DATA / "regrtest-3.14.10-native-quiet.txt").read_text().split("== Tests result")[0]


def build_log(kind: str, megabytes: int, directory: Path) -> Path:
    path = directory / f"regrtest-{kind}-{megabytes}MB.log"
    if path.exists() and path.stat().st_size >= megabytes * 1_000_000:
        return path
    block = chunk(kind).encode()
    repeat = max(1, 4_000_000 // len(block))
    with open(path, "wb") as out:
        while out.tell() < megabytes * 1_000_000:
            out.write(block * repeat)
    return path


def child(what: str, path: str) -> dict:
    """Runs in the child process: one pass over the file, then its own peak RSS."""
    sys.path.insert(0, str(PROJECT))
    from emscripten_python.testing.regrtest_output import RegrtestParser

    started = time.process_time()
    with open(path, errors="replace") as handle:
        if what == "loop":
            for _line in handle:
                pass
            kept = {}
        else:
            # As the runner does: every finished file's cases become TestCases.
            parser = RegrtestParser(on_end=lambda attempt: attempt.cases)
            while text := handle.read(1 << 20):
                parser.feed_text(text)
            output = parser.close()
            kept = {"files": len(output.attempts), "cases": sum(len(a.cases) for a in output.attempts)}
    elapsed = time.process_time() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "peak_mb": peak_kb / 1024, **kept}


def measure(what: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", what, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def throughput(kind: str, path: Path, repeat: int) -> dict:
    size = path.stat().st_size / 1e6
    loops = [measure("loop", path)["seconds"] for _ in range(repeat)]
    parses = [measure("parse", path)["seconds"] for _ in range(repeat)]
    loop, parse = statistics.median(loops), statistics.median(parses)
    return {"log_mb": round(size), "parse_mb_per_s": round(size / parse, 1),
            "loop_mb_per_s": round(size / loop, 1), "ratio_to_loop": round(parse / loop, 2),
            "parse_runs_s": [round(s, 2) for s in parses], "loop_runs_s": [round(s, 2) for s in loops]}


def memory(kind: str, path: Path) -> dict:
    parse, loop = measure("parse", path), measure("loop", path)
    return {"log_mb": round(path.stat().st_size / 1e6), "parse_peak_rss_mb": round(parse["peak_mb"], 1),
            "loop_peak_rss_mb": round(loop["peak_mb"], 1), "files_kept": parse["files"],
            "cases_kept": parse["cases"]}


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="log sizes in MB for the memory figures")
    parser.add_argument("--repeat", type=int, default=3, help="runs per throughput figure (median)")
    parser.add_argument("--keep", action="store_true", help="keep the generated logs in /tmp")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    directory = Path(tempfile.gettempdir()) / "ep-parser-bench"
    directory.mkdir(exist_ok=True)
    report: dict = {"machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
                    "python": sys.version.split()[0]}
    try:
        for kind in ("verbose", "quiet"):
            logs = {size: build_log(kind, size, directory) for size in sizes}
            report[kind] = {"throughput": throughput(kind, logs[min(sizes)], args.repeat),
                            "memory": [memory(kind, logs[size]) for size in sizes]}
            print(f"{kind}: {json.dumps(report[kind])}", flush=True)
    finally:
        if not args.keep:
            for log in directory.glob("regrtest-*.log"):
                log.unlink()
    verbose = report["verbose"]["throughput"]
    report["aims"] = {
        "verbose >= 50 MB/s": verbose["parse_mb_per_s"] >= 50,
        "verbose ratio <= 3.5": verbose["ratio_to_loop"] <= 3.5,
        "peak < 100 MB at the largest size": all(
            report[kind]["memory"][-1]["parse_peak_rss_mb"] < 100 for kind in ("verbose", "quiet")),
    }
    report["load_after"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
