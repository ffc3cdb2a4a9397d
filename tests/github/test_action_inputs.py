"""The action's inputs, cache key, names and report-only mode, run as the runner would.

Each bad input is run through the action's own `prepare` step (taken from action.yml, run by
bash with GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files, see test_github_action.Runner)
and must stop there: one ::error per bad input, exit 2, and no `out` output, so no later step
(Node, cache, build, upload, report) runs. The cache key follows CPython's own
.github/workflows/reusable-emscripten.yml (python/cpython @ 040aa23a28cf): a key with the
Emscripten version and a hash of config.toml's [dependencies] plus make_libffi.sh, and
restore-keys without the hash.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
import yaml
from action_trees import stand_in_cpython
from gh_helpers import dump, make_run
from test_github_action import ACTION, Runner

from emscripten_python.cli.main import build_parser
from emscripten_python.github import action

CONFIG_315 = '''\
emscripten-version = "4.0.19"
node-version = "24"
test-args = ["-m", "test", "-v", "-uall", "--rerun", "--single-process", "-W"]
pythoninfo-args = ["-m", "test.pythoninfo"]

[dependencies.libffi]
url = "https://github.com/libffi/libffi/releases/download/v{version}/libffi-{version}.tar.gz"
version = "3.4.6"
shasum = "b0dea9df23c863a7a50e825440f3ebffabd65df1497108e5d437747843895a4e"

[dependencies.mpdec]
url = "https://www.bytereef.org/software/mpdecimal/releases/mpdecimal-{version}.tar.gz"
version = "4.0.1"
shasum = "96d33abb4bb0070c7be0fed4246cd38416188325f820468214471938545b1ac8"
'''


def runner_with_tree(tmp_path, inputs, environ=None, **tree) -> Runner:
    runner = Runner(tmp_path, {"source": "cpython", **inputs}, environ or {})
    stand_in_cpython(runner.workspace / "cpython", **tree)
    return runner


def errors_of(done) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("::error")]


BAD_INPUTS = [
    ({"tests": "os,math"}, "tests: 'os', 'math' are not test names (use all, smoke, none, or regrtest names"),
    ({"jobs": "abc"}, "jobs: 'abc' is not a positive whole number"),
    ({"cache": "yes"}, "cache: 'yes' is not one of true, false"),
    ({"report": "comment"}, "report: 'comment' is not one of none, summary, github"),
    ({"exclude": "socket"}, "exclude: 'socket' is not a test name"),
    ({"test-jobs": "0"}, "test-jobs: '0' is not a positive whole number"),
    ({"timeout": "soon"}, "timeout: 'soon' is not a positive number of seconds"),
    ({"retention-days": "365"}, "retention-days: '365' is not a positive whole number up to 90"),
    ({"rerun": "no"}, "rerun: 'no' is not one of true, false"),
    ({"toolchain": "brew"}, "toolchain: 'brew' is not one of emsdk, system"),
    ({"regrtest-args": "--match 'unterminated"}, "regrtest-args: No closing quotation"),
    ({"args": "--jobs abc"}, "args: error: emscripten-python run: argument --jobs/-j: 'abc' is not a whole number"),
    ({"args": "--frobnicate"}, "args: error: emscripten-python: unrecognized arguments: --frobnicate"),
    ({"source": "missing-dir"}, "source: 'missing-dir' is neither a directory nor a tarball in the workspace"),
]


@pytest.mark.parametrize("inputs, message", BAD_INPUTS, ids=[next(iter(i)) + "=" + next(iter(i.values()))
                                                             for i, _ in BAD_INPUTS])
def test_each_bad_input_stops_prepare_with_one_error(tmp_path, inputs, message):
    runner = runner_with_tree(tmp_path, inputs)

    done = runner.step("prepare")

    assert done.returncode == action.EXIT_BAD_INPUT == 2
    [error] = errors_of(done)
    assert error.startswith("::error title=emscripten-python inputs::"), error
    assert message in error, error
    assert "nothing was built" in done.stderr
    assert "out" not in runner.steps["prepare"], "no output directory: the later steps do not run"


def test_several_bad_inputs_get_one_error_each(tmp_path):
    runner = runner_with_tree(tmp_path, {"tests": "os", "jobs": "abc", "cache": "yes", "report": "comment"})
    done = runner.step("prepare")
    assert done.returncode == 2
    assert [e.split("::")[2].split(":")[0] for e in errors_of(done)] == ["tests", "jobs", "cache", "report"]


def test_no_step_after_a_failed_prepare_runs():
    """A failed prepare leaves `out` empty; every step that runs `always()` must check it."""
    steps = ACTION["runs"]["steps"]
    after = steps[[s.get("id") for s in steps].index("prepare") + 1:]
    for step in after:
        condition = str(step.get("if", ""))
        if "always()" in condition:
            assert "steps.prepare.outputs.out != ''" in condition, step["name"]


def test_good_inputs_reach_the_cli(tmp_path):
    inputs = {"tests": "test_os test_math", "exclude": "test_socket,test_ssl", "jobs": "3", "test-jobs": "2",
              "timeout": "900", "resources": "all,-network", "rerun": "false", "strict-toolchain": "true",
              "regrtest-args": "--match 'test_a*'", "configure-args": "--with-pydebug",
              "node-flags": "--stack-size=40000", "test-args": "-v -uall -W", "args": "--rebuild",
              "emscripten-version": "4.0.12", "retention-days": "5"}
    runner = runner_with_tree(tmp_path, inputs)
    assert runner.step("prepare").returncode == 0, runner.summary
    argv = json.loads(runner.steps["prepare"]["argv"])
    parsed = build_parser().parse_args(argv)
    assert (parsed.command, parsed.source, parsed.tests) == ("run", "cpython", "test_os test_math")
    assert (parsed.jobs, parsed.test_jobs, parsed.file_timeout) == (3, 2, 900.0)
    assert parsed.exclude == ["test_socket", "test_ssl"] and parsed.resources == "all,-network"
    assert parsed.rerun is False and parsed.strict_toolchain is True and parsed.rebuild is True
    assert parsed.regrtest_args == ["--match", "test_a*"] and parsed.configure_args == ["--with-pydebug"]
    assert parsed.node_flags == ["--stack-size=40000"] and parsed.test_args == ["-v", "-uall", "-W"]
    assert parsed.toolchain == "emsdk:4.0.12"
    assert parsed.builder == runner.steps["prepare"]["name"]


def test_system_toolchain_and_defaults(tmp_path):
    runner = runner_with_tree(tmp_path, {"toolchain": "system"})
    assert runner.step("prepare").returncode == 0
    parsed = build_parser().parse_args(json.loads(runner.steps["prepare"]["argv"]))
    assert parsed.toolchain == "system" and parsed.tests == "smoke" and parsed.rerun is True
    assert "-system-system-" in runner.steps["prepare"]["cache-key"]


@pytest.mark.parametrize("tree, node", [({"version": "3.15.0", "config_toml": CONFIG_315}, "24"),
                                        ({"version": "3.15.0", "config_toml": CONFIG_315.replace(
                                            '"24"', '"26"')}, "26"),
                                        ({"version": "3.13.15"}, "22")])
def test_node_version_comes_from_the_tree(tmp_path, tree, node):
    runner = runner_with_tree(tmp_path, {}, **tree)
    assert runner.step("prepare").returncode == 0
    assert runner.steps["prepare"]["node-version"] == node
    setup_node = next(s for s in ACTION["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/setup-node"))
    assert setup_node["with"]["node-version"] == "${{ steps.prepare.outputs.node-version }}"


def test_node_version_input_wins(tmp_path):
    runner = runner_with_tree(tmp_path, {"node-version": "26"}, version="3.15.0", config_toml=CONFIG_315)
    runner.step("prepare")
    assert runner.steps["prepare"]["node-version"] == "26"


def test_names_differ_per_matrix_leg(tmp_path):
    names = {}
    for leg, (python, node, toolchain) in enumerate([("3.13.15", "", "emsdk"), ("3.13.15", "24", "emsdk"),
                                                     ("3.12.9", "", "emsdk"), ("3.13.15", "", "system")]):
        (tmp_path / str(leg)).mkdir()
        runner = runner_with_tree(tmp_path / str(leg), {"node-version": node, "toolchain": toolchain},
                                  version=python)
        assert runner.step("prepare").returncode == 0
        names[leg] = runner.steps["prepare"]["name"]
    assert len(set(names.values())) == 4, names
    assert names[0] == "emscripten-python / emscripten (3.13.15, node 22, emsdk 3.1.69)"
    assert names[3] == "emscripten-python / emscripten (3.13.15, node 22, system emcc)"


def test_cache_key_has_version_source_and_dependency_hash(tmp_path):
    runner = runner_with_tree(tmp_path, {}, version="3.15.0", config_toml=CONFIG_315)
    runner.step("prepare")
    key, restore = runner.steps["prepare"]["cache-key"], runner.steps["prepare"]["cache-restore-keys"]
    match = re.fullmatch(r"emscripten-python-v2-Linux-X64-emsdk-4\.0\.19-cpython-3\.15\.0-([0-9a-f]{16})", key)
    assert match, key
    assert restore.splitlines() == ["emscripten-python-v2-Linux-X64-emsdk-4.0.19-cpython-3.15.0-",
                                    "emscripten-python-v2-Linux-X64-emsdk-4.0.19-"]
    restore_step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "restore")
    assert restore_step["with"]["restore-keys"] == "${{ steps.prepare.outputs.cache-restore-keys }}"

    # A new libffi in config.toml (or a changed make_libffi.sh) is a new exact key, same prefix.
    (tmp_path / "again").mkdir()
    bumped = runner_with_tree(tmp_path / "again", {}, version="3.15.0",
                              config_toml=CONFIG_315.replace('version = "3.4.6"', 'version = "3.5.2"'))
    bumped.step("prepare")
    other = bumped.steps["prepare"]["cache-key"]
    assert other != key and other.startswith(restore.splitlines()[0])


def test_cache_key_override(tmp_path):
    runner = runner_with_tree(tmp_path, {"cache-key": "my-own-key"})
    runner.step("prepare")
    assert (runner.steps["prepare"]["cache-key"], runner.steps["prepare"]["cache-restore-keys"]) == ("my-own-key", "")


def test_latest_is_resolved_before_keying(monkeypatch):
    tags = json.dumps({"aliases": {"latest": "4.0.21", "tot": "abc123"}}).encode()
    monkeypatch.setenv("INPUT_EMSCRIPTEN_VERSION", "latest")
    assert action._emscripten_version(None, fetch=lambda url: tags) == ("4.0.21", "4.0.21")


def test_unresolvable_latest_is_keyed_by_week(monkeypatch, capsys):
    def offline(url):
        raise OSError("no network")
    monkeypatch.setenv("INPUT_EMSCRIPTEN_VERSION", "latest")
    key_version, install = action._emscripten_version(None, fetch=offline)
    assert re.fullmatch(r"latest-\d{4}-W\d{2}", key_version) and install == "latest"
    assert "::warning" in capsys.readouterr().out


def test_report_only_needs_no_cpython_and_warns_nothing(tmp_path, example_run):
    results = dump(tmp_path / "downloaded", make_run(example_run, run_id="b" * 32,
                                                     created="2026-01-01T00:00:00+00:00", failing=0))
    runner = Runner(tmp_path, {"results-from": str(results), "report": "summary"}, {})
    done = runner.step("prepare")
    assert done.returncode == 0 and "::warning" not in done.stdout and "::error" not in done.stdout
    done = runner.step("report")
    assert done.returncode == 0
    outputs = runner.steps["report"]
    # The example run has a crashed file: a failure, which the CLI exits 30 for.
    assert (outputs["result"], outputs["exit-code"]) == ("failure", "30")


def test_report_only_with_a_missing_results_directory_fails_the_job(tmp_path):
    runner = Runner(tmp_path, {"results-from": str(tmp_path / "never-downloaded"), "report": "none"}, {})
    assert runner.step("prepare").returncode == 0
    report = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "report")
    assert "inputs.results-from != ''" in report["if"], "the report step runs in report-only mode"
    done = runner.step("report")
    assert done.returncode == 40
    assert "::error title=emscripten-python::results-from:" in done.stdout
    assert runner.steps["report"]["exit-code"] == "40"


def test_artifact_outputs_and_retention():
    upload = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "upload")
    assert upload["with"]["retention-days"] == "${{ inputs.retention-days }}"
    assert ACTION["outputs"]["artifact-id"]["value"] == "${{ steps.upload.outputs.artifact-id }}"
    assert ACTION["outputs"]["artifact-url"]["value"] == "${{ steps.upload.outputs.artifact-url }}"


def test_every_cli_run_option_is_reachable():
    """Named inputs for the common options; `args` passes anything else to `run`."""
    named = {"--source": "source", "--toolchain": "toolchain", "--strict-toolchain": "strict-toolchain",
             "--jobs": "jobs", "--test-jobs": "test-jobs", "--tests": "tests", "--exclude": "exclude",
             "--resources": "resources", "--no-rerun": "rerun", "--timeout": "timeout",
             "--regrtest-arg": "regrtest-args", "--test-args": "test-args", "--configure-arg": "configure-args",
             "--node-flag": "node-flags"}
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    run_actions = subparsers.choices["run"]._actions
    options = {s: a for a in run_actions for s in a.option_strings if s.startswith("--")}
    for option, name in named.items():
        assert option in options and name in ACTION["inputs"], option
    assert "args" in ACTION["inputs"]
    for option, parsed in options.items():
        if option in named or option == "--help":
            continue
        argv = ["run", "--source", "x", option, *(["1"] if parsed.nargs != 0 else [])]
        problem = action.check_cli_argv(argv) or ""
        assert "unrecognized" not in problem, (option, problem)


def test_action_yml_is_still_yaml_with_env_only_inputs():
    text = (Path(action.__file__).parents[2] / "actions/emscripten-python/action.yml").read_text()
    data = yaml.safe_load(text)
    for step in data["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"]
