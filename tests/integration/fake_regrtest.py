"""A stand-in for `node python.js -m test …` that prints regrtest 3.13's real formats.

Behaviour per test file name (for the runner tests):
  test_ok*      passes (3 cases)      test_fail*  fails one case (with a traceback)
  test_skip*    is skipped            test_crash* dies like the wasm runtime (rc 1, no summary)
  test_hang*    hangs (per-file timeout)
  test_flaky*   fails the first time it runs in a run (its output directory), passes after:
                on regrtest's re-run, or on the runner's re-run in a new process
  test_rerunboom*  fails the first time, then the runtime dies while it is re-run
  test_diesafter*  passes, prints its verdict, then the runtime dies before the next file
  test_killstart*  kills the runtime before it prints anything of its own (every time)
  test_trunc*      dies after printing its progress line cut mid-name
  test_deepstack*  dies with a JS/wasm stack of 5000 frames
  test_tbthencrash*  prints an unrelated Python traceback, then the runtime dies
  test_bigline*    prints one 10 MB line, then fails
  test_envcheck*   fails unless NO_COLOR=1 and PYTHON_COLORS=0 (regrtest must not colour)
  test_pkg*        a package: runs as test_pkg.test_ok_a, test_pkg.test_crash_b, test_pkg.test_ok_c
  test_oddrun*     fails (every attempt) in this run directory's 1st, 3rd, ... process: a failure
                   that a whole new run makes go away
Environment: FAKE_STARTUP_DEATHS=<file> holding N: the first N starts die before any output.
In a tree (this file copied to TREE/Tools/), TREE/Lib/test/fake-behaviour lines "NAME KIND" make
file NAME behave as KIND above (e.g. "test_target test_fail"): a commit that changes the file
changes the tests' outcomes (the bisect tests).
The arguments are read with argparse like regrtest 3.13's (a subset of its options); -m/-i
select cases as regrtest's filter does (a pattern matches the case id or one of its parts).
Usage: fake_regrtest.py -m test [regrtest options] FILE...
"""

import argparse
import fnmatch
import os
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(add_help=False)
parser.add_argument("-v", "--verbose", action="count", default=0)
parser.add_argument("-w", "--rerun", "--verbose2", action="store_true", dest="rerun")
parser.add_argument("-W", "--verbose3", action="store_true")
parser.add_argument("-q", "--quiet", action="store_true")
parser.add_argument("-u", "--use", action="append")
parser.add_argument("-m", "--match", action="append", dest="match", default=[])
parser.add_argument("-i", "--ignore", action="append", dest="ignore", default=[])
parser.add_argument("-j", "--multiprocess", type=int)
for value_option in ("--junit-xml", "--tempdir", "--timeout", "--testdir"):
    parser.add_argument(value_option)
for flag in ("--single-process", "--list-tests", "--fail-env-changed", "--fast-ci", "--slow-ci"):
    parser.add_argument(flag, action="store_true")
ns, args = parser.parse_known_args(sys.argv[3:])
# A package (test_pkg*) runs as its parts, as regrtest splits test_asyncio into
# test_asyncio.test_tasks, ...; a part behaves like the name after its last dot.
PARTS = ("test_ok_a", "test_crash_b", "test_ok_c")
files = [part for a in args if a.startswith("test_")
         for part in ([f"{a}.{p}" for p in PARTS] if a.startswith("test_pkg") and "." not in a else [a])]
if ns.list_tests:
    print("\n".join(files))
    sys.exit(0)
rerun = ns.rerun
# A run's own directory (the runner's --junit-xml is <out>/junit/<label>-N.xml): what a flaky
# file remembers between its runs.
RUN_DIR = Path(ns.junit_xml).resolve().parents[1] if ns.junit_xml else Path.cwd()


def first_time(name):
    """True the first time `name` asks in this run (a flaky file's failure)."""
    marker = RUN_DIR / f".fake-ran-{name}"
    if marker.exists():
        return False
    marker.write_text("")
    return True


def process_number(name):
    """How many processes of this run directory have run `name`, this one included."""
    counter = RUN_DIR / f".fake-runs-{name}"
    number = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(number))
    return number


BEHAVIOUR_FILE = Path(__file__).resolve().parents[1] / "Lib" / "test" / "fake-behaviour"
BEHAVIOUR = dict(line.split()[:2] for line in BEHAVIOUR_FILE.read_text().splitlines()
                 if len(line.split()) >= 2) if BEHAVIOUR_FILE.is_file() else {}
ODD_RUN = {}


def selected(case_id):
    def matches(pattern):
        return fnmatch.fnmatchcase(case_id, pattern) or any(
            fnmatch.fnmatchcase(part, pattern) for part in case_id.split("."))
    return (not ns.match or any(map(matches, ns.match))) and not any(map(matches, ns.ignore))
deaths = os.environ.get("FAKE_STARTUP_DEATHS")
if deaths and int(open(deaths).read() or 0) > 0:
    left = int(open(deaths).read())
    with open(deaths, "w") as counter:
        counter.write(str(left - 1))
    sys.exit(1)         # no output at all, like node failing to load the wasm module
print("== CPython 3.13.15 (fake)\n== Emscripten-3.1.69-wasm32-32bit little-endian\n")
print(f"0:00:00 load avg: 0.10 Run {len(files)} tests sequentially in a single process", flush=True)
failed, skipped, ok = [], [], []


def die(name, frames=1):
    print(f"test_deep (test.{name}.T.test_deep) ... wasm://wasm/022be2e2:1\n\n")
    print("RuntimeError: memory access out of bounds")
    print("    at wasm://wasm/022be2e2:wasm-function[3230]:0x27ad1d\n" * frames, end="")
    print("\nNode.js v20.19.2", flush=True)
    sys.exit(1)


def run_file(index, total, name):
    kind = name.rsplit(".", 1)[-1]
    kind = BEHAVIOUR.get(kind, kind)
    if kind.startswith("test_oddrun") and name not in ODD_RUN:
        ODD_RUN[name] = process_number(name) % 2 == 1
    if kind.startswith("test_killstart"):
        print("Aborted(killed at import)", flush=True)
        sys.exit(1)
    shown = name[:-3] if kind.startswith("test_trunc") else name
    print(f"0:00:0{index % 10} load avg: 0.10 [{index}/{total}] {shown}", end="" if shown != name else "\n",
          flush=True)
    if kind.startswith("test_trunc"):
        sys.exit(1)
    once = first_time(name) if kind.startswith(("test_flaky", "test_rerunboom")) else False
    if kind.startswith("test_crash") or (kind.startswith("test_rerunboom") and not once):
        die(name)
    if kind.startswith("test_deepstack"):
        die(name, frames=5000)
    if kind.startswith("test_tbthencrash"):
        print("test_caught (test.{0}.T.test_caught) ... Traceback (most recent call last):\n"
              '  File "/x/{0}.py", line 3, in helper\nTypeError: unrelated and caught'.format(name))
        print("ok")
        die(name)
    if kind.startswith("test_bigline"):
        print("x" * 10_000_000)
    if kind.startswith("test_hang"):
        print(f"test_forever (test.{name}.T.test_forever) ... ", end="", flush=True)
        time.sleep(3600)
    if kind.startswith("test_skip"):
        print(f"{name} skipped -- requires something")
        print(f"0:00:00 load avg: 0.10 [{index}/{total}] {name} skipped", flush=True)
        return "skipped"
    colours_off = os.environ.get("NO_COLOR") == "1" and os.environ.get("PYTHON_COLORS") == "0"
    cases = [case for case in ("test_a", "test_b", "test_c") if selected(f"test.{name}.T.{case}")]
    fail = "test_b" in cases and (
        kind.startswith(("test_fail", "test_bigline", "test_rerunboom")) or (kind.startswith("test_flaky") and once)
        or ODD_RUN.get(name)
        or (kind.startswith("test_envcheck") and not colours_off))
    for case in cases:
        verdict = "FAIL" if fail and case == "test_b" else "ok"
        print(f"{case} (test.{name}.T.{case}) ... {verdict}")
    if fail:
        print("\n" + "=" * 70 + f"\nFAIL: test_b (test.{name}.T.test_b)\n" + "-" * 70)
        print(f'Traceback (most recent call last):\n  File "/x/{name}.py", line 9, in test_b\n'
              "AssertionError: 1 != 2\n\n" + "-" * 70)
        print(f"Ran {len(cases)} tests in 0.010s\n\nFAILED (failures=1)")
        print(f"test {name} failed")
        print(f"0:00:00 load avg: 0.10 [{index}/{total}/1] {name} failed (1 failure)", flush=True)
        return "failed"
    print("-" * 70 + f"\nRan {len(cases)} tests in 0.010s\n\nOK")
    print(f"0:00:00 load avg: 0.10 [{index}/{total}] {name} passed", flush=True)
    if kind.startswith("test_diesafter"):
        print("Aborted(after the verdict)", flush=True)
        sys.exit(1)
    return "passed"


for index, name in enumerate(files, 1):
    {"failed": failed, "skipped": skipped, "passed": ok}[run_file(index, len(files), name)].append(name)


def summary(state):
    print(f"\n== Tests result: {state} ==\n")
    for label, names in (("skipped", skipped), ("failed", failed)):
        if names:
            print(f"{len(names)} test{'s' if len(names) > 1 else ''} {label}:\n    " + " ".join(names) + "\n")
    print(f"{len(ok)} tests OK.\n")


if failed and rerun:
    summary("FAILURE")
    print(f"0:00:01 load avg: 0.10 Re-running {len(failed)} failed tests in verbose mode")
    again = []
    for index, name in enumerate(list(failed), 1):
        if run_file(index, len(failed), name) == "failed":
            again.append(name)
    if again:
        print(f"{len(again)} test failed again:\n    " + " ".join(again))
    first = "FAILURE"
    state = f"{first} then {'FAILURE' if again else 'SUCCESS'}"
    print(f"\n== Tests result: {state} ==\n")
    print(f"Total duration: 1 sec\nTotal tests: run={3 * len(files)}\nResult: {state}")
    sys.exit(2 if again else 0)
summary("FAILURE" if failed else "SUCCESS")
print(f"Total duration: 1 sec\nTotal tests: run={3 * len(files)}\nResult: {'FAILURE' if failed else 'SUCCESS'}")
sys.exit(2 if failed else 0)
