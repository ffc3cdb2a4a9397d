"""A stand-in for `node python.js -m test …` that prints regrtest 3.13's real formats.

Behaviour per test file name (for the runner tests):
  test_ok*      passes (3 cases)      test_fail*  fails one case (with a traceback)
  test_skip*    is skipped            test_crash* dies like the wasm runtime (rc 1, no summary)
  test_hang*    hangs (per-file timeout)   test_flaky* fails first, passes on re-run
Usage: fake_regrtest.py -m test [regrtest options] FILE...
"""

import sys
import time

args = sys.argv[3:]
files = [a for a in args if a.startswith("test_")]
rerun = "--rerun" in args
print("== CPython 3.13.15 (fake)\n== Emscripten-3.1.69-wasm32-32bit little-endian\n")
print(f"0:00:00 load avg: 0.10 Run {len(files)} tests sequentially in a single process", flush=True)
failed, skipped, ok = [], [], []


def run_file(index, total, name, attempt):
    print(f"0:00:0{index % 10} load avg: 0.10 [{index}/{total}] {name}", flush=True)
    if name.startswith("test_crash"):
        print(f"test_deep (test.{name}.T.test_deep) ... wasm://wasm/022be2e2:1\n\n")
        print("RuntimeError: memory access out of bounds\n    at wasm://wasm/022be2e2:wasm-function[3230]:0x27ad1d")
        print("\nNode.js v20.19.2", flush=True)
        sys.exit(1)
    if name.startswith("test_hang"):
        print(f"test_forever (test.{name}.T.test_forever) ... ", end="", flush=True)
        time.sleep(3600)
    if name.startswith("test_skip"):
        print(f"{name} skipped -- requires something")
        print(f"0:00:00 load avg: 0.10 [{index}/{total}] {name} skipped", flush=True)
        return "skipped"
    fail = name.startswith("test_fail") or (name.startswith("test_flaky") and attempt == 1)
    for case in ("test_a", "test_b", "test_c"):
        verdict = "FAIL" if fail and case == "test_b" else "ok"
        print(f"{case} (test.{name}.T.{case}) ... {verdict}")
    if fail:
        print("\n" + "=" * 70 + f"\nFAIL: test_b (test.{name}.T.test_b)\n" + "-" * 70)
        print(f'Traceback (most recent call last):\n  File "/x/{name}.py", line 9, in test_b\n'
              "AssertionError: 1 != 2\n\n" + "-" * 70)
        print("Ran 3 tests in 0.010s\n\nFAILED (failures=1)")
        print(f"test {name} failed")
        print(f"0:00:00 load avg: 0.10 [{index}/{total}/1] {name} failed (1 failure)", flush=True)
        return "failed"
    print("-" * 70 + "\nRan 3 tests in 0.010s\n\nOK")
    print(f"0:00:00 load avg: 0.10 [{index}/{total}] {name} passed", flush=True)
    return "passed"


for index, name in enumerate(files, 1):
    {"failed": failed, "skipped": skipped, "passed": ok}[run_file(index, len(files), name, 1)].append(name)


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
        if run_file(index, len(failed), name, 2) == "failed":
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
