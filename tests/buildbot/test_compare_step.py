"""The test step with a baseline: the delta in the description, properties, summary log and result."""

from __future__ import annotations

from twisted.trial import unittest

from buildbot.process.results import FAILURE, WARNINGS
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.steps import TestBuildStepMixin

from emscripten_python.results.compare import compare, fails
from emscripten_python.report.markdown import render_markdown
from emscripten_python.steps import EmscriptenTest
from emscripten_python.steps import summary
from emscripten_python.steps.summary import describe, result_of

from buildbot_helpers import make_run, results_json
from test_steps import BASE, BUILD_URL, CliShell, expect_results


def compared(head, base, policy="new"):
    comparison = compare(base, head)
    comparison.policy, comparison.fails = policy, fails(comparison, head, policy)
    head.comparison = comparison.to_dict()
    return head


def test_known_failures_only_are_warnings_under_new_and_failure_under_any():
    base = make_run("passed", "failed")
    head = compared(make_run("passed", "failed"), base)
    assert head.outcome == "failure" and result_of(head) == WARNINGS
    assert describe(head).startswith("0 new failures vs ")
    assert summary.test_properties(head)["new_failures"] == []
    assert result_of(compared(make_run("passed", "failed"), base, "any")) == FAILURE


def test_a_new_failure_fails_and_is_named():
    head = compared(make_run("failed", "failed"), make_run("passed", "failed"))
    assert result_of(head) == FAILURE
    properties = summary.test_properties(head)
    assert properties["new_failures"] == ["test.test_0.T.test_b"]
    assert properties["comparison_verdict"].startswith("1 new failure vs ")


def test_without_comparison_nothing_changes():
    run = make_run("passed", "failed")
    assert result_of(run) == FAILURE and "comparison_verdict" not in summary.test_properties(run)


class TestStepWithBaseline(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def test_baseline_options_reach_the_cli_and_the_delta_leads(self):
        head = compared(make_run("passed", "failed"), make_run("passed", "failed"))
        self.setup_step(EmscriptenTest(baseline="auto", expected="emscripten-expected.toml", fail_on="new"))
        self.build.getUrl = lambda: BUILD_URL
        command = ["emscripten-python", "test", *BASE, "--tests", "all", "--baseline", "auto",
                   "--expected", "emscripten-expected.toml", "--fail-on", "new"]
        # The CLI exits 0: the policy accepts the known failure.
        self.expect_commands(CliShell(workdir="build", command=command, timeout=1800, max_time=21600).exit(0),
                             expect_results(results_json(head)))
        self.expect_outcome(result=WARNINGS, state_string=f"{describe(head)} (warnings)")
        self.expect_property("new_failures", [], "EmscriptenTest")
        self.expect_log_file("summary", render_markdown(head))
        return self.run_step()


def test_new_failures_of_a_further_runtime_are_named_with_it():
    base, head = make_run("passed"), make_run("passed")
    for run, outcome in ((base, "passed"), (head, "failed")):
        run.runtimes = [{"runtime": {"name": "node", "version": "24.1.0"},
                         "files": [f for f in make_run(outcome).test_files]}]
        run.decide_outcome()
    head = compared(head, base)
    assert summary.test_properties(head)["new_failures"] == ["node 24: test.test_0.T.test_b"]
    assert result_of(head) == FAILURE
