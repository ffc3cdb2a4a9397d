"""Issue 21 on the action's side: every input checked by a rule before any work, nothing from
input printed where the runner reads it as a workflow command, issue links only to the
configured repository, artifact names unique over every input, and one ordering scheme for
reports from several workflows (PyGithub against both GitHub-shaped servers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gh_helpers import EXAMPLE, SHA, TOKEN, dump, make_run
from github_autolinks import scan
from independent_checks import start_report
from independent_github import Account, IndependentGitHub
from runner_commands import stops_resumed, unexpected
from test_action_inputs import errors_of, runner_with_tree
from test_github_action import ACTION, Runner

from emscripten_python.results.artifacts import make_bundle
from emscripten_python.cli.main import main
from emscripten_python.github import action
from emscripten_python.github.reporter import MARKER
from emscripten_python.results.model import Run

DETAILS = "https://ci.example.org/builds/17"


# -- inputs: one rule each, checked before anything runs -----------------------------------------

def test_every_input_of_action_yml_has_a_rule_and_reaches_prepare():
    assert set(ACTION["inputs"]) == set(action.INPUT_RULES)
    [prepare] = [s for s in ACTION["runs"]["steps"] if s.get("id") == "prepare"]
    for name in ACTION["inputs"]:
        variable = "INPUT_" + name.upper().replace("-", "_")
        assert prepare["env"][variable] == f"${{{{ inputs.{name} }}}}", name


BAD_INPUTS = [
    ({"browser": "true", "chromium": "/no/such/chrome"}, "chromium: '/no/such/chrome' is not an executable file"),
    ({"chromium": "/usr/bin/env"}, "chromium: only with browser: true"),
    ({"artifact-name": "results/of-this"}, "artifact-name: 'results/of-this' holds /, which upload-artifact refuses"),
    ({"artifact-name": "a\n::error::b"}, "artifact-name: 'a\\n::error::b' holds a line break"),
    ({"durations": "durations.json"}, "durations: only with shard and shards"),
    ({"pr": "7; echo"}, "pr: '7; echo' is not a pull request number"),
    ({"pr": "0"}, "pr: '0' is not a pull request number"),
    ({"sha": "main"}, "sha: 'main' is not a full commit SHA"),
    ({"name": "leg\n::add-mask::x"}, "name: 'leg\\n::add-mask::x' holds a line break"),
    ({"timeout": "nan"}, "timeout: 'nan' is not a positive number of seconds up to 86400"),
    ({"timeout": "inf"}, "timeout: 'inf' is not a positive number of seconds"),
    ({"jobs": "99999999999999999999"}, "jobs: '99999999999999999999' is not a positive whole number up to 1024"),
    ({"cache-key": "a,b"}, "cache-key: 'a,b' holds a comma"),
    ({"github-token": "ghp_a\nghp_b"}, "github-token: (the value is not shown) holds a line break"),
    ({"python-version": "3.12\n3.13"}, "python-version: '3.12\\n3.13' holds a line break"),
    ({"regrtest-args": "--match 'a\nb'"}, "regrtest-args: an argument holds a line break"),
    ({"shard": "1", "shards": "100000", "bundle": "b.tar.gz"}, "shard/shards: '1'/'100000' is not I/N"),
    ({"expected": "missing.toml"}, "expected: 'missing.toml' is not a file in the workspace"),
    ({"baseline": "base\nline"}, "baseline: 'base\\nline' holds a line break"),
    ({"results-from": "res\nults"}, "results-from: 'res\\nults' holds a line break"),
    ({"retention-days": "0"}, "retention-days: '0' is not a positive whole number up to 90"),
    ({"tests": "test_os\x07"}, "tests: 'test_os\\x07' holds a control character"),
    ({"source": "cpython\x1b[2K"}, "source: 'cpython\\x1b[2K' holds a control character"),
]


@pytest.mark.parametrize("inputs, message", BAD_INPUTS, ids=[f"{next(iter(i))}-{n}" for n, (i, _) in
                                                             enumerate(BAD_INPUTS)])
def test_each_bad_input_is_refused_before_any_work(tmp_path, inputs, message):
    runner = runner_with_tree(tmp_path, inputs)
    done = runner.step("prepare")
    assert done.returncode == action.EXIT_BAD_INPUT, done.stdout + done.stderr
    errors = errors_of(done)
    assert any(message in error.replace("%0A", "\n") for error in errors), errors
    assert runner.steps["prepare"] == {}, "no output: no later step runs"
    assert unexpected(done.stdout, done.stderr) == []
    assert "Traceback" not in done.stderr
    if "github-token" in inputs:
        assert "ghp_a" not in done.stdout + done.stderr


# -- nothing from input is a workflow command ----------------------------------------------------

EVIL = "x\n::add-mask::EVIL\r::stop-commands::EVIL ##[error]EVIL"


def test_the_build_step_echoes_no_command_from_its_arguments(tmp_path):
    runner = Runner(tmp_path, {"pr": "7", "sha": SHA}, {})
    out = tmp_path / "out"
    runner.steps["prepare"] = {"out": str(out), "name": "leg", "argv": json.dumps(
        ["run", "--source", f"nowhere{EVIL}", "--out", str(out), f"--regrtest-arg={EVIL}"])}
    done = runner.step("run")
    assert done.returncode != 0
    assert "EVIL" in done.stdout, "the command line is still shown"
    assert unexpected(done.stdout, done.stderr) == [], done.stdout
    assert stops_resumed(done.stdout), "commands are on again for the project's own annotations"
    assert "::error title=emscripten-python::" in done.stdout


def _report_against_baseline(tmp_path, example_run, base: dict):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "results.json").write_text(json.dumps(base))
    head = make_run(example_run, run_id="c" * 32, created="2026-01-01T00:00:00+00:00", failing=2)
    head.test_files[-1].cases[0].message = EVIL
    head.errors.append(f"it broke{EVIL}")
    results = dump(tmp_path / "downloaded", head)
    runner = Runner(tmp_path, {"results-from": str(results), "report": "summary",
                               "baseline": str(tmp_path / "base")}, {})
    assert runner.step("prepare").returncode == 0
    done = runner.step("report")
    assert done.returncode == 0, done.stderr
    assert unexpected(done.stdout, done.stderr) == [], done.stdout + done.stderr
    assert stops_resumed(done.stdout)
    return done


def test_the_report_step_prints_no_command_from_a_baseline_or_test_names(tmp_path, example_run):
    # Free text of the baseline (its errors, a case's message) is kept and compared.
    base = json.loads(EXAMPLE.read_text())
    base["run_id"] = "b" * 32
    base["errors"] = [f"old{EVIL}"]
    next(f for f in base["tests"]["files"] if f["cases"])["cases"][0]["message"] = EVIL
    done = _report_against_baseline(tmp_path, example_run, base)
    assert "compared:" in done.stdout, "the verdict is still shown"


def test_a_baseline_whose_branch_holds_a_command_is_refused_in_one_escaped_line(tmp_path, example_run):
    # A name with control characters is the file's mistake (docs/status.rst): the baseline is
    # refused, the report goes on without a comparison, and the refusal echoes no command.
    base = json.loads(EXAMPLE.read_text())
    base["run_id"], base["source"]["branch"] = "b" * 32, f"main{EVIL}"
    done = _report_against_baseline(tmp_path, example_run, base)
    assert "compared:" not in done.stdout
    refusals = [line for line in done.stdout.splitlines() if "contains control characters" in line]
    assert len(refusals) == 1 and "source.branch" in refusals[0], done.stdout


def test_annotations_escape_data_and_properties(capsys):
    action.annotate("error", f"a{EVIL}%0A", f"t,{EVIL}", file="Lib/test/x:y,z.py", line=3)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and unexpected(out) == [], out
    assert "%250A" in out and "file=Lib/test/x%3Ay%2Cz.py,line=3,title=t%2Cx%0A" in out


# -- links: only to issues of the configured repository -----------------------------------------

def test_issue_links_in_the_comment_only_go_to_the_configured_repository(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    head = json.loads(EXAMPLE.read_text())
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(head))
    expected = tmp_path / "expected.toml"
    expected.write_text('[[expected]]\ntests = ["test_compile"]\nissue = "https://github.com/someone/else/issues/1"\n'
                        '[[expected]]\ntests = ["test_os"]\nissue = "https://github.com/python/cpython/issues/5"\n')
    code = main(["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
                 "--base-url", fake.base_url, "--details-url", DETAILS, "--expected", str(expected), "--timeout", "1",
                 "--backoff", "0.001", "--throttle", "0", "--settle", "0.05"])
    assert code == 0
    [comment] = fake.comments_on(7)
    [check] = fake.check_runs.values()
    trusted = frozenset({DETAILS, "https://github.com/python/cpython/issues/5"})
    for markdown in (comment["body"], check["output"]["summary"]):
        assert "(issue `https://github.com/someone/else/issues/1`)" in markdown, "shown, as code"
        assert scan(markdown, trusted) == [], markdown
    assert "(https://github.com/python/cpython/issues/5)" in comment["body"]


# -- names and order -----------------------------------------------------------------------------

def test_the_default_artifact_name_differs_for_every_input(monkeypatch):
    """Two matrix legs that differ in any one input (the token aside) get different names."""
    for name in ACTION["inputs"]:
        monkeypatch.delenv("INPUT_" + name.upper().replace("-", "_"), raising=False)
    monkeypatch.setenv("GITHUB_JOB", "test")
    base = action._artifact_name("leg")
    names = {base}
    for name in ACTION["inputs"]:
        if name in action.SECRET_INPUTS or name == "artifact-name":
            continue
        variable = "INPUT_" + name.upper().replace("-", "_")
        monkeypatch.setenv(variable, "2")
        names.add(action._artifact_name("leg"))
        monkeypatch.delenv(variable)
    assert len(names) == len(ACTION["inputs"]) - 1, "one name per input changed, plus the base"
    monkeypatch.setenv("INPUT_GITHUB_TOKEN", "another token")
    assert action._artifact_name("leg") == base
    monkeypatch.setenv("INPUT_SHARD", "3")
    monkeypatch.setenv("INPUT_SHARDS", "4")
    assert action._artifact_name("leg").startswith("emscripten-python-test-shard3of4-")


def test_a_sharded_matrix_gets_one_artifact_per_shard(tmp_path):
    names = set()
    for shard in ("1", "2", "3"):
        (tmp_path / shard).mkdir()
        runner = Runner(tmp_path / shard, {"shard": shard, "shards": "3", "bundle": "b.tar.gz", "cache": "false"}, {})
        (tmp_path / "results.json").write_text(json.dumps(Run().to_dict()))    # prepare reads the bundle's
        make_bundle(runner.workspace / "b.tar.gz", {"results.json": tmp_path / "results.json"})
        assert runner.step("prepare").returncode == 0, runner.summary
        names.add(runner.steps["prepare"]["artifact-name"])
    assert len(names) == 3


def _actions_env(tmp_path: Path, run_id: int, number: int) -> dict[str, str]:
    event = tmp_path / f"event-{run_id}.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_RUN_ID": str(run_id), "GITHUB_RUN_NUMBER": str(number), "GITHUB_REPOSITORY": "python/cpython"}


# Two workflows reporting under one name: "Emscripten" is at run number 500, a newer workflow
# "Emscripten (new)" at 3. The newer commit's run (202, created an hour later) reports first.
RUNS = {101: {"created_at": "2026-12-01T10:00:00Z", "run_number": 500, "head_sha": SHA},
        202: {"created_at": "2026-12-01T11:00:00Z", "run_number": 3, "head_sha": SHA}}


def _two_runs(tmp_path, example_run) -> dict[int, Path]:
    return {run_id: dump(tmp_path / str(run_id), make_run(example_run, run_id=f"{run_id}" * 8,
                                                          created="2026-12-01T09:00:00+00:00", failing=i))
            for i, run_id in enumerate(RUNS)}


def test_reports_of_two_workflows_are_ordered_by_run_creation(tmp_path, example_run, fake, monkeypatch):
    fake.workflow_runs.update(RUNS)
    outs = _two_runs(tmp_path, example_run)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for run_id in (202, 101):       # the older run's report comes last
        for key, value in _actions_env(tmp_path, run_id, RUNS[run_id]["run_number"]).items():
            monkeypatch.setenv(key, value)
        code = main(["report", "--out", str(outs[run_id]), "--github", "--repo", "python/cpython", "--pr", "7",
                     "--sha", SHA, "--base-url", fake.base_url, "--name", "emscripten", "--timeout", "1",
                     "--backoff", "0.001", "--throttle", "0", "--settle", "0.05"])
        assert code == 0
    [comment] = fake.comments_on(7)
    assert MARKER.match(comment["body"])["run"] == "202" * 8, "the newer run's report stays"
    assert MARKER.match(comment["body"])["order"] == "1796122800"
    [shown] = sorted(fake.check_runs.values(), key=lambda c: c["id"])[-1:]
    assert shown["external_id"].endswith("202" * 8)


def test_order_scheme_holds_against_the_independent_server(tmp_path, example_run):
    outs = _two_runs(tmp_path, example_run)
    with IndependentGitHub(tokens={TOKEN: Account("ep-bot")}, pr_head=SHA) as gh:
        gh.workflow_runs.update(RUNS)
        for run_id in (202, 101):
            proc = start_report(outs[run_id], gh.base_url, TOKEN, "--pr", "7", "--sha", SHA, "--name", "emscripten",
                                "--timeout", "2", "--settle", "0.1", "--throttle", "0",
                                env=_actions_env(tmp_path, run_id, RUNS[run_id]["run_number"]))
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr[-2000:]
        [comment] = gh.live_comments(7)
    assert MARKER.match(comment["body"])["run"] == "202" * 8


def test_a_report_in_actions_without_the_run_s_time_is_not_delivered(tmp_path, example_run, fake, monkeypatch):
    """No actions: read (the run is not found): exit 50, nothing posted; --order is refused."""
    out = dump(tmp_path / "out", make_run(example_run, run_id="a" * 32, created="2026-01-01T00:00:00+00:00"))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for key, value in _actions_env(tmp_path, 999, 1).items():
        monkeypatch.setenv(key, value)
    argv = ["report", "--out", str(out), "--github", "--repo", "python/cpython", "--pr", "7", "--sha", SHA,
            "--base-url", fake.base_url, "--timeout", "1", "--backoff", "0.001", "--throttle", "0", "--settle", "0"]
    assert main(argv) == 50
    assert fake.writes() == [] and fake.comments_on(7) == []
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--order", "5"])
    assert refused.value.code == 2


def test_a_refused_prepare_changes_nothing(tmp_path):
    runner = runner_with_tree(tmp_path, {"jobs": "0"})
    before = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    assert runner.step("prepare").returncode == 2
    after = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in tmp_path.rglob("*")
                   if p.name not in ("prepare.out", "prepare.summary"))
    assert after == before
    assert not (tmp_path / "runner_temp").exists()
