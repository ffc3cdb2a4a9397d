"""With a comparison, the report leads with the delta and the policy decides the check run."""

from __future__ import annotations

from gh_helpers import SHA, make_run, reporter, target

from emscripten_python.results.compare import compare, fails
from emscripten_python.github.reporter import MARKER, check_title
from emscripten_python.results.validation import load_validated

T0 = "2026-01-01T00:00:00+00:00"
T1 = "2026-01-02T00:00:00+00:00"


def compared(head, base, policy="new"):
    comparison = compare(base, head)
    comparison.policy, comparison.fails = policy, fails(comparison, head, policy)
    head.comparison = comparison.to_dict()
    return head


def test_known_failures_only_give_a_neutral_check_led_by_the_delta(fake, example_run):
    base = make_run(example_run, run_id="a" * 32, created=T0, failing=2)
    head = compared(make_run(example_run, run_id="b" * 32, created=T1, failing=2), base)
    assert head.outcome == "failure"
    result = reporter(fake).report(head, target())
    assert result.ok, result.to_dict()
    [comment] = [c for c in fake.comments_on(7) if MARKER.match(c["body"])]
    body = comment["body"]
    assert "### Δ `0 new failures vs" in body
    assert body.index("### Δ") < body.index("<details><summary>All results</summary>") < body.index("Failed test files")
    [check] = fake.check_runs.values()
    assert (check["status"], check["conclusion"]) == ("completed", "neutral")
    assert check["output"]["title"] == check_title(head) and check["output"]["title"].startswith(
        "failure: 0 new failures vs ")
    [status] = fake.statuses[SHA]
    assert status["state"] == "success" and status["description"].startswith("failure: 0 new failures vs ")


def test_a_new_failure_fails_the_check_and_is_named_first(fake, example_run):
    base = make_run(example_run, run_id="a" * 32, created=T0, failing=1)
    head = compared(make_run(example_run, run_id="b" * 32, created=T1, failing=2), base)
    reporter(fake).report(head, target())
    [check] = fake.check_runs.values()
    assert check["conclusion"] == "failure"
    summary = check["output"]["summary"]
    assert summary.index("**New failures (1)**") < summary.index("`test.test_os.T.test_1`") \
        < summary.index("<details><summary>2 known failures unchanged")
    [status] = fake.statuses[SHA]
    assert status["state"] == "failure"


def test_policy_any_keeps_the_old_conclusion(fake, example_run):
    base = make_run(example_run, run_id="a" * 32, created=T0, failing=2)
    head = compared(make_run(example_run, run_id="b" * 32, created=T1, failing=2), base, policy="any")
    reporter(fake).report(head, target())
    [check] = fake.check_runs.values()
    assert check["conclusion"] == "failure"


def test_action_inputs_baseline_expected_and_fail_on(monkeypatch, tmp_path):
    from emscripten_python.github import action

    monkeypatch.setenv("INPUT_BASELINE", "base-results/results.json")
    monkeypatch.setenv("INPUT_EXPECTED", "emscripten-expected.toml")
    monkeypatch.setenv("INPUT_FAIL_ON", "any")
    argv = action.cli_argv(tmp_path / "out", tmp_path / "cache", None, "emscripten-python / job")
    assert argv[argv.index("--baseline") + 1] == "base-results/results.json"
    assert argv[argv.index("--expected") + 1] == "emscripten-expected.toml"
    assert argv[argv.index("--fail-on") + 1] == "any"
    monkeypatch.setenv("INPUT_FAIL_ON", "sometimes")
    assert "fail-on: 'sometimes' is not one of new, any, never" in action.validate_inputs()
    monkeypatch.delenv("INPUT_BASELINE")
    monkeypatch.delenv("INPUT_EXPECTED")
    monkeypatch.setenv("INPUT_FAIL_ON", "new")
    assert "--fail-on" not in action.cli_argv(tmp_path / "out", tmp_path / "cache", None, "n")


def test_report_only_exit_code_follows_the_policy(example_run):
    from emscripten_python.github import action

    base = make_run(example_run, run_id="a" * 32, created=T0, failing=2)
    known = compared(make_run(example_run, run_id="b" * 32, created=T1, failing=2), base)
    assert known.outcome == "failure" and action.exit_code_of(known) == 0
    new = compared(make_run(example_run, run_id="c" * 32, created=T1, failing=3), base)
    assert action.exit_code_of(new) == 30


def test_report_only_mode_compares_before_publishing(monkeypatch, tmp_path, example_run):
    from emscripten_python.github import action

    base = make_run(example_run, run_id="a" * 32, created=T0, failing=1)
    head = make_run(example_run, run_id="b" * 32, created=T1, failing=2)
    base.save(tmp_path / "base" / "results.json")
    head.save(tmp_path / "out" / "results.json")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("EP_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("INPUT_RESULTS_FROM", str(tmp_path / "out"))
    monkeypatch.setenv("INPUT_BASELINE", str(tmp_path / "base"))
    monkeypatch.setenv("INPUT_REPORT", "summary")
    assert action.report() == 0
    comparison = load_validated(tmp_path / "out" / "results.json").comparison
    assert [c["test"] for c in comparison["changes"] if c["kind"] == "new-failure"] == ["test.test_os.T.test_1"]
    assert "### Δ `1 new failure vs" in summary.read_text()
    assert "exit-code=30" in (tmp_path / "output").read_text()
