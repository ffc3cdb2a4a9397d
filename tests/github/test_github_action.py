"""The composite action's `run:` steps, executed as the runner would: taken from action.yml,
their `env:` expressions evaluated, run by bash with GITHUB_OUTPUT, GITHUB_ENV and
GITHUB_STEP_SUMMARY files on disk; then their outputs, summary and annotations are checked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from action_trees import stand_in_cpython
from gh_helpers import SHA, TOKEN, dump, make_run

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "actions" / "emscripten-python"
ACTION = yaml.safe_load((ACTION_DIR / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _read_outputs(path: Path) -> dict[str, str]:
    outputs, lines = {}, iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


class Runner:
    """Just enough of the Actions runner for the action's own shell steps."""

    def __init__(self, tmp: Path, inputs: dict[str, str], environ: dict[str, str]) -> None:
        self.tmp, self.inputs = tmp, inputs
        self.workspace = tmp / "workspace"
        self.workspace.mkdir()
        self.steps: dict[str, dict[str, str]] = {"install": {"python": sys.executable}}
        self.env_file = tmp / "github_env"
        self.env_file.touch()
        self.summary = ""
        self.base_env = {"RUNNER_TEMP": str(tmp / "runner_temp"), "GITHUB_WORKSPACE": str(self.workspace),
                         "GITHUB_ACTION_PATH": str(ACTION_DIR), "GITHUB_ENV": str(self.env_file),
                         "GITHUB_JOB": "emscripten", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_RUN_ID": "555",
                         "GITHUB_REPOSITORY": "python/cpython", "GITHUB_SERVER_URL": "https://github.example",
                         "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", **environ}

    def _evaluate(self, text: str) -> str:
        def one(match):
            kind, _, rest = match[1].partition(".")
            if kind == "inputs":
                if rest in self.inputs:
                    return self.inputs[rest]
                default = str(ACTION["inputs"][rest].get("default", ""))
                # Defaults read the event (github.token, the PR): empty in these runs.
                return "" if "${{" in default else default
            if kind == "steps":
                step, _, output = rest.partition(".outputs.")
                return self.steps.get(step, {}).get(output, "")
            raise AssertionError(f"the action's run: steps should only read inputs and steps: {match[0]}")
        return EXPRESSION.sub(one, text)

    def step(self, step_id: str) -> subprocess.CompletedProcess:
        [step] = [s for s in ACTION["runs"]["steps"] if s.get("id") == step_id]
        assert "${{" not in step["run"], "inputs reach scripts through env only"
        output, summary = self.tmp / f"{step_id}.out", self.tmp / f"{step_id}.summary"
        output.touch()
        summary.touch()
        env = {**self._env_from_file(), **self.base_env, "GITHUB_OUTPUT": str(output),
               "GITHUB_STEP_SUMMARY": str(summary), "PATH": "/usr/bin:/bin",
               **{k: self._evaluate(str(v)) for k, v in step.get("env", {}).items()}}
        done = subprocess.run([step["shell"], "-e", "-c", step["run"]], cwd=self.workspace, env=env,
                              capture_output=True, text=True, timeout=120)
        self.steps[step_id] = _read_outputs(output)
        self.summary += summary.read_text()
        return done

    def _env_from_file(self) -> dict[str, str]:
        return _read_outputs(self.env_file)


@pytest.fixture
def failing_results(tmp_path, example_run):
    return dump(tmp_path / "downloaded", make_run(example_run, run_id="a" * 32,
                                                  created="2026-01-01T00:00:00+00:00", failing=2))


def test_report_only_writes_outputs_summary_and_annotations(tmp_path, failing_results):
    runner = Runner(tmp_path, {"results-from": str(failing_results), "report": "summary"}, {})

    assert runner.step("prepare").returncode == 0
    assert runner.steps["prepare"]["out"] == str(failing_results)
    done = runner.step("report")

    assert done.returncode == 0, done.stderr
    outputs = runner.steps["report"]
    assert outputs["result"] == "failure" and outputs["files-failed"] == "2"
    assert outputs["tests-failed"] == str(json.loads(outputs["counts"])["tests"]["failures"])
    assert outputs["results-path"] == str(failing_results / "results.json")
    assert outputs["report-status"] == "skipped"
    assert runner.summary.startswith("## ❌ Emscripten: failure")
    assert "test.test_os.T.test_0" in runner.summary
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    # Inline on the test file, at the innermost traceback frame in it.
    assert "::error file=Lib/test/test_os.py,line=100,title=test_os failed::test.test_os.T.test_0, " \
           "test.test_os.T.test_1" in errors
    assert outputs["exit-code"] == "30", "report-only: the exit code the CLI gives for a failed run"


def test_build_step_records_a_failed_run_and_what_the_reporter_needs(tmp_path):
    inputs = {"source": "no-such-cpython.tar.gz", "tests": "test_os", "pr": "7", "sha": SHA, "name": "",
              "emscripten-version": "", "results-from": ""}
    runner = Runner(tmp_path, inputs, {})
    (runner.workspace / "no-such-cpython.tar.gz").write_text("not a tarball")

    assert runner.step("prepare").returncode == 0
    prepared = runner.steps["prepare"]
    assert re.fullmatch(r"emscripten-python-v2-Linux-X64-emsdk-unpinned-tarball-[0-9a-f]{12}-[0-9a-f]{16}",
                        prepared["cache-key"])
    assert re.fullmatch(r"emscripten-python-emscripten-[0-9a-f]{12}-1", prepared["artifact-name"])
    assert prepared["cache-dir"] == str(tmp_path / "runner_temp" / "emscripten-python" / "cache")
    assert runner._env_from_file() == {"EMSCRIPTEN_PYTHON_CACHE": prepared["cache-dir"]}
    done = runner.step("run")

    assert done.returncode == 10, "the step fails as the CLI did (bad source)"
    outputs = runner.steps["run"]
    assert (outputs["result"], outputs["exit-code"]) == ("error", "10")
    assert "no-such-cpython" in runner.summary and "::error title=emscripten-python::" in done.stdout
    context = json.loads((Path(prepared["out"]) / "github-context.json").read_text())
    assert context == {"pr": 7, "sha": SHA, "name": "emscripten-python / emscripten (no-such-cpython, node 24, "
                                                      "emsdk unpinned)"}


def test_artifact_names_differ_per_matrix_leg_and_attempt(tmp_path):
    names = set()
    for i, (tests, attempt) in enumerate([("smoke", "1"), ("all", "1"), ("smoke", "2"), ("smoke", "1")]):
        (tmp_path / str(i)).mkdir()
        runner = Runner(tmp_path / str(i), {"source": ".", "tests": tests, "emscripten-version": "4.0.12"},
                        {"GITHUB_RUN_ATTEMPT": attempt})
        stand_in_cpython(runner.workspace)
        assert runner.step("prepare").returncode == 0
        names.add(runner.steps["prepare"]["artifact-name"])
        assert runner.steps["prepare"]["cache-key"].startswith("emscripten-python-v2-Linux-X64-emsdk-4.0.12-")
    assert len(names) == 3, "the same leg and attempt gets the same name, any other a new one"


def test_report_to_github_delivers_and_an_outage_is_only_a_warning(tmp_path, failing_results, fake):
    inputs = {"results-from": str(failing_results), "report": "github", "github-token": TOKEN, "pr": "7",
              "sha": SHA, "name": "emscripten-python / node 20"}
    runner = Runner(tmp_path, inputs, {"GITHUB_API_URL": fake.base_url})
    runner.step("prepare")

    done = runner.step("report")
    assert done.returncode == 0, done.stderr
    assert runner.steps["report"]["report-status"] == "delivered"
    [comment] = fake.comments_on(7)
    assert "emscripten-python / node 20" in comment["body"]
    assert "https://github.example/python/cpython/actions/runs/555" in comment["body"]

    fake.tokens.clear()   # the token was revoked: GitHub answers 401 to everything
    done = runner.step("report")
    assert done.returncode == 0, "a report that cannot be delivered never fails the build"
    assert runner.steps["report"]["report-status"] == "failed"
    assert "::warning title=emscripten-python report::the GitHub report was not delivered" in done.stdout
    everything = done.stdout + done.stderr + runner.summary + "".join(
        p.read_text() for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".pem")
    assert TOKEN not in everything


def test_install_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(ACTION_DIR / "install.sh")]).returncode == 0
