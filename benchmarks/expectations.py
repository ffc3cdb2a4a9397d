"""Benchmark (not a test): `compare` of a large run against a large expectations file.

    python benchmarks/expectations.py [--patterns 50000] [--files 480] [--cases 200]

A head run of --files files with --cases cases each (every 10th case failing) and an
expectations file of --patterns entries: 90% exact test case ids, 10% prefix globs
(``test.test_modN.*``). Prints the time of load_expectations and of compare(None, head)
(the expectations folded into every change, file and case). Issue 21: 50,000 patterns
took over 5 minutes while every name was tried against every pattern.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from emscripten_python.results.compare import compare, load_expectations
from emscripten_python.results.model import Run, TestCase, TestFile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=480)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    files = []
    for f in range(args.files):
        cases = [TestCase(f"test.test_mod{f}.Tests.test_case{c}", "failed" if c % 10 == 0 else "passed")
                 for c in range(args.cases)]
        files.append(TestFile(f"test_mod{f}", "failed", 1.0, tests_run=args.cases, cases=cases))
    head = Run(source={"branch": "main"})
    head.tests = {"selection": [f.name for f in files], "files": files}
    exact = args.patterns * 9 // 10
    lines = [f'[[expected]]\ntests = ["test.test_mod{i % args.files}.Tests.test_case{i // args.files}"]\n'
             for i in range(exact)]
    lines += [f'[[expected]]\ntests = ["test.test_mod{args.files + i}.*"]\n' for i in range(args.patterns - exact)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "expected.toml"
        path.write_text("".join(lines))
        started = time.perf_counter()
        expectations = load_expectations(path)
        loaded = time.perf_counter()
        result = compare(None, head, expectations=expectations)
        done = time.perf_counter()
    print(f"{len(expectations):,} patterns, {args.files * args.cases:,} cases: load {loaded - started:.2f} s, "
          f"compare {done - loaded:.2f} s; {result.verdict}")


if __name__ == "__main__":
    main()
