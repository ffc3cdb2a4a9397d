"""One build + N runtimes against N separate full runs, from measured stage durations.

    python benchmarks/runtimes.py RESULTS.json [--build-results COLD.json]

RESULTS.json: a run tested under several runtimes (`test --node A --node B [--browser]`,
or `browser --out` adding chromium). Its test stages give each runtime's test time:
`test` (primary), `test-node-<major>` (further nodes), `browser-smoke`.
COLD.json (default: RESULTS.json): a run whose build stages ran cold (not `cached`), for
the build's wall time; configure-browser / make-browser may be in either file.

N separate full runs = for every node runtime, the whole node build + its tests; for the
browser, the build Python + the browser flavour + the smoke test (it needs no node build;
its configure cannot start from the node flavour's cache, so it costs at least the node
flavour's cold configure-host).
One build + N runtimes = the node build once + the browser flavour once + every test stage.
Prints both and their ratio; nothing is timed here (numbers come from real runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BUILD_PYTHON = ("configure-build-python", "make-build-python")
NODE_BUILD = ("toolchain", *BUILD_PYTHON, "make-dependencies", "make-libffi", "make-mpdec",
              "configure-host", "make-host", "verify-host")
BROWSER_BUILD = ("configure-browser", "make-browser")


def _durations(path: Path) -> dict[str, tuple[float, str]]:
    data = json.loads(path.read_text())
    return {s["name"]: (float(s.get("duration") or 0.0), s.get("status", "")) for s in data.get("stages", [])}


def estimate(results: dict[str, tuple[float, str]], cold: dict[str, tuple[float, str]]) -> dict:
    def build(names):
        total, missing = 0.0, []
        for name in names:
            for source in (cold, results):
                if name in source and source[name][1] != "cached":
                    total += source[name][0]
                    break
            else:
                if name in cold or name in results:
                    missing.append(name)          # only a cached (0 s) entry: no cold figure
        return total, missing

    node_build, node_missing = build(NODE_BUILD)
    build_python, _ = build(BUILD_PYTHON)
    browser_build, browser_missing = build(BROWSER_BUILD)
    tests = {name: duration for name, (duration, _) in results.items()
             if name == "test" or name.startswith("test-node-")}
    smoke = results.get("browser-smoke", (None, ""))[0]
    runtimes = len(tests) + (1 if smoke is not None else 0)
    one_build = node_build + sum(tests.values()) + ((browser_build + smoke) if smoke is not None else 0.0)
    separate = sum(node_build + t for t in tests.values())
    if smoke is not None:
        # A browser-only run has no node config.cache to start configure-browser from: its
        # configure costs at least what the node flavour's cold configure-host did.
        configure_host, _ = build(("configure-host",))
        configure_browser, _ = build(("configure-browser",))
        separate += build_python + browser_build - configure_browser + max(configure_browser, configure_host) + smoke
    return {"runtimes": runtimes, "node_build": node_build, "browser_build": browser_build,
            "tests": tests, "smoke": smoke, "one_build": one_build, "separate": separate,
            "missing": node_missing + browser_missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--build-results", type=Path)
    args = parser.parse_args(argv)
    figures = estimate(_durations(args.results), _durations(args.build_results or args.results))
    print(f"runtimes: {figures['runtimes']} ({', '.join(figures['tests'])}"
          f"{', browser-smoke' if figures['smoke'] is not None else ''})")
    print(f"node build (cold): {figures['node_build']:.0f} s; browser flavour build: {figures['browser_build']:.0f} s")
    for name, duration in figures["tests"].items():
        print(f"  {name}: {duration:.0f} s")
    if figures["smoke"] is not None:
        print(f"  browser-smoke: {figures['smoke']:.0f} s")
    if figures["missing"]:
        print(f"warning: only cached (0 s) figures for {', '.join(figures['missing'])}; "
              "pass --build-results with a cold run", file=sys.stderr)
    print(f"one build + {figures['runtimes']} runtimes: {figures['one_build']:.0f} s")
    print(f"{figures['runtimes']} separate full runs: {figures['separate']:.0f} s")
    if figures["one_build"]:
        print(f"ratio separate / one build: {figures['separate'] / figures['one_build']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
