"""Every step under Buildbot's own step harness: exact commands, properties, results."""

from __future__ import annotations

import json
import shutil
import tempfile

from twisted.internet import defer, error
from twisted.trial import unittest

from buildbot.process import remotetransfer
from buildbot.process.properties import Interpolate
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, RETRY, SKIPPED, SUCCESS, WARNINGS
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.steps import ExpectRemoteRef, ExpectRmdir, ExpectShell, ExpectUploadFile, TestBuildStepMixin

from emscripten_python.steps import (EmscriptenBuildStage, EmscriptenBundle, EmscriptenClean, EmscriptenDriverClean,
                                     EmscriptenFactory, EmscriptenPythonInfo, EmscriptenTest, EmscriptenToolchain,
                                     EmscriptenUpload)
from emscripten_python.options import seconds
from emscripten_python.steps.command import BoundedBytesWriter
from emscripten_python.steps.stages import silence_timeout
from emscripten_python.results.validation import Limits

from buildbot_helpers import make_run, results_json

BASE = ["--source", ".", "--out", "../emscripten-python-out", "--stream"]


# Build stages: the CLI kills a stage silent for a minute less than the step's 1200 s timeout.
SILENCE = ["--silence-timeout", "1140"]


def CliShell(**kwargs):
    """A CLI step's command: SIGTERM first on stop/timeout, SIGKILL 30 s later; no environment logged."""
    return ExpectShell(sigterm_time=30, log_environ=False, **kwargs)
BUILD_URL = "http://bb.example/#/builders/3/builds/7"


def expect_results(content: str | bytes | None):
    """The step reading results.json back from the worker (None: the file is not there): as
    bytes, at most one byte over the validator's size limit."""
    upload = ExpectUploadFile(workersrc="../emscripten-python-out/results.json", workdir="build",
                              writer=ExpectRemoteRef(BoundedBytesWriter), maxsize=Limits().max_file_bytes + 1,
                              blocksize=32 * 1024)
    if content is None:
        return upload.exit(1)
    return upload.upload_string(content.encode() if isinstance(content, str) else content).exit(0)


class StepTestCase(TestBuildStepMixin, TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        return self.setup_test_build_step()

    def setup(self, step):
        self.setup_step(step)
        self.build.getUrl = lambda: BUILD_URL
        self.build.setProperty("buildername", "Emscripten main", "Builder")
        self.build.setProperty("buildnumber", 7, "Build")


class TestToolchain(StepTestCase):
    COMMAND = ["emscripten-python", "toolchain", *BASE, "--toolchain", "emsdk", "--origin", "buildbot",
               "--builder", "Emscripten main", "--build-url", BUILD_URL]

    def test_success_sets_versions(self):
        self.setup(EmscriptenToolchain())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=7200).exit(0),
                             expect_results(results_json(make_run())))
        self.expect_outcome(result=SUCCESS)
        self.expect_property("emcc_version", "4.0.12", "EmscriptenToolchain")
        self.expect_property("node_version", "20.19.2", "EmscriptenToolchain")
        self.expect_property("cpython_version", "3.15.0a0", "EmscriptenToolchain")
        return self.run_step()

    def test_mirror_cache_and_strict(self):
        self.setup(EmscriptenToolchain("system", mirror="/srv/mirror", cache_dir="/srv/cache", strict=True,
                                       cli=["/opt/ep/bin/emscripten-python"]))
        command = ["/opt/ep/bin/emscripten-python", "toolchain", *BASE, "--toolchain", "system",
                   "--strict-toolchain", "--mirror", "/srv/mirror", "--cache-dir", "/srv/cache", "--origin",
                   "buildbot", "--builder", "Emscripten main", "--build-url", BUILD_URL]
        self.expect_commands(CliShell(workdir="build", command=command, timeout=1800, max_time=7200).exit(0),
                             expect_results(results_json(make_run())))
        self.expect_outcome(result=SUCCESS)
        return self.run_step()

    def test_broken_toolchain_fails_and_keeps_what_it_learnt(self):
        self.setup(EmscriptenToolchain())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=7200)
                             .stderr("error: emcc 3.1.69 fails the NODERAWFS smoke check").exit(13),
                             expect_results(results_json(make_run(errors=["smoke check failed"]))))
        self.expect_outcome(result=FAILURE)
        self.expect_property("emcc_version", "4.0.12", "EmscriptenToolchain")
        return self.run_step()

    def test_refused_results_json_fails_the_step(self):
        # The CLI wrote a valid file and exited 0; one that no longer validates was changed since:
        # no properties from it, and a failure that says why.
        self.setup(EmscriptenToolchain())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=7200).exit(0),
                             expect_results('{"schema_version": 2, "created": Infinity}'))
        self.expect_outcome(result=FAILURE, state_string="emscripten-python-out/results.json is not valid JSON: "
                                                         "Infinity is not valid JSON (failure)")
        self.expect_no_property("emcc_version")
        return self.run_step()

    def test_no_results_when_cli_missing(self):
        self.setup(EmscriptenToolchain())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=7200)
                             .stderr("emscripten-python: command not found").exit(127),
                             expect_results(None))
        self.expect_outcome(result=FAILURE)
        self.expect_no_property("emcc_version")
        return self.run_step()


class TestBuildStage(StepTestCase):
    def test_one_stage_with_jobs(self):
        self.setup(EmscriptenBuildStage("make-host", jobs=8))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-host", "-j", "8", *SILENCE], timeout=1200, max_time=10800)
            .exit(0))
        self.expect_outcome(result=SUCCESS, state_string="make-host")
        return self.run_step()

    def test_alternatives_in_one_step_and_renderable_jobs(self):
        self.setup(EmscriptenBuildStage("make-dependencies", "make-libffi", "make-mpdec",
                                        jobs=Interpolate("%(prop:buildnumber)s")))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-dependencies", "--only", "make-libffi",
            "--only", "make-mpdec", "-j", "7", *SILENCE], timeout=1200, max_time=10800).exit(0))
        self.expect_outcome(result=SUCCESS, state_string="make-dependencies")
        return self.run_step()

    def test_failed_stage_halts_the_build(self):
        step = EmscriptenBuildStage("configure-host")
        self.setup(step)
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "configure-host", *SILENCE], timeout=1200, max_time=10800).exit(20))
        self.expect_outcome(result=FAILURE, state_string="configure-host (failure)")
        self.assertTrue(step.haltOnFailure)
        return self.run_step()

    def test_a_very_short_step_timeout_still_gives_the_cli_a_silence_timeout(self):
        # Half of a 1 s timeout rounded down was 0, which the CLI's --silence-timeout refuses
        # (exit 2, a seconds value is above 0): a second is the least a stage gets.
        for step_timeout, silence in ((0.5, 1), (1, 1), (2, 1), (3, 1), (120, 60), (121, 61), (1200, 1140)):
            with self.subTest(step_timeout=step_timeout):
                self.assertEqual(silence_timeout(step_timeout), silence)
                self.assertEqual(seconds(str(silence_timeout(step_timeout))), silence)
        self.setup(EmscriptenBuildStage("make-host", timeout=1))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-host", "--silence-timeout", "1"], timeout=1,
            max_time=10800).exit(0))
        self.expect_outcome(result=SUCCESS, state_string="make-host")
        return self.run_step()

    def test_needs_a_stage(self):
        from buildbot.config.errors import ConfigErrors, capture_config_errors
        with self.assertRaises(ConfigErrors), capture_config_errors(raise_on_error=True):
            EmscriptenBuildStage()


class TestTest(StepTestCase):
    COMMAND = ["emscripten-python", "test", *BASE, "--tests", "all"]

    def run_test(self, rc, content, result, description, stdout=""):
        self.setup(EmscriptenTest())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=21600)
                             .stdout(stdout).exit(rc), expect_results(content))
        self.expect_outcome(result=result, state_string=description)

    def test_success(self):
        self.run_test(0, results_json(make_run("passed", "passed", "skipped")), SUCCESS, "2 passed, 1 skipped")
        self.expect_property("test_files_total", 3, "EmscriptenTest")
        self.expect_property("test_files_failed", 0, "EmscriptenTest")
        self.expect_property("tests_run", 9, "EmscriptenTest")
        self.expect_property("emscripten_outcome", "success", "EmscriptenTest")
        self.expect_property("failed_tests", [], "EmscriptenTest")
        self.expect_property("emcc_version", "4.0.12", "EmscriptenTest")
        return self.run_step()

    def test_failures_and_crash(self):
        run = make_run(*["passed"] * 312, *["failed"] * 9, "crashed")
        self.run_test(30, results_json(run), FAILURE, "312 passed, 9 failed, 1 crashed (failure)")
        self.expect_property("test_files_failed", 9, "EmscriptenTest")
        self.expect_property("test_files_crashed", 1, "EmscriptenTest")
        self.expect_property("crashed_tests", ["test_crashed_321"], "EmscriptenTest")
        self.expect_property("test_failures", 10, "EmscriptenTest")
        self.expect_property("emscripten_outcome", "failure", "EmscriptenTest")
        return self.run_step()

    def test_crash_alone_fails(self):
        self.run_test(30, results_json(make_run("passed", "crashed")), FAILURE, "1 passed, 1 crashed (failure)")
        self.expect_property("crashed_tests", ["test_crashed_1"], "EmscriptenTest")
        return self.run_step()

    def test_timed_out_counts_as_crash_list(self):
        self.run_test(30, results_json(make_run("passed", "timed-out")), FAILURE, "1 passed, 1 timed out (failure)")
        self.expect_property("test_files_timed_out", 1, "EmscriptenTest")
        self.expect_property("crashed_tests", ["test_timed_out_1"], "EmscriptenTest")
        return self.run_step()

    def test_flaky_only_is_warnings(self):
        # The CLI exits 0 for flaky files; the verdict comes from results.json.
        self.run_test(0, results_json(make_run("passed", "flaky")), WARNINGS, "1 passed, 1 flaky (warnings)")
        self.expect_property("flaky_tests", ["test_flaky_1"], "EmscriptenTest")
        self.expect_property("emscripten_outcome", "warnings", "EmscriptenTest")
        return self.run_step()

    def test_flaky_and_failed_is_failure(self):
        self.run_test(30, results_json(make_run("flaky", "failed")), FAILURE, "0 passed, 1 failed, 1 flaky (failure)")
        return self.run_step()

    def test_summary_log_is_the_markdown_report(self):
        self.run_test(30, results_json(make_run("passed", "crashed")), FAILURE, "1 passed, 1 crashed (failure)")
        from emscripten_python.report.markdown import render_markdown
        self.expect_log_file("summary", render_markdown(make_run("passed", "crashed")))
        return self.run_step()

    def test_missing_results_json(self):
        self.run_test(1, None, FAILURE, "no emscripten-python-out/results.json on the worker (failure)",
                      stdout="Traceback (most recent call last): ...")
        self.expect_no_property("test_files_total")
        self.expect_log_file("summary", "no emscripten-python-out/results.json on the worker; the test command "
                                        "exited with rc 1 (see the stdio log).\n")
        return self.run_step()

    def test_unreadable_results_json(self):
        self.run_test(0, "{not json", FAILURE,
                      "emscripten-python-out/results.json is not valid JSON: Expecting property name enclosed "
                      "in double quotes: line 1 column 2 (char 1) (failure)")
        return self.run_step()

    def test_results_of_another_schema(self):
        run = make_run("passed").to_dict()
        run["schema_version"] = 99
        self.run_test(0, json.dumps(run), FAILURE,
                      "emscripten-python-out/results.json is not valid (1 problem): schema_version: 99 is not "
                      "supported (readable: 1, 2) (failure)")
        return self.run_step()

    # The PR's code ran on the worker and may have rewritten results.json: it is read through the
    # CLI's validation (docs/results-schema.rst), and a refused file fails the step with the
    # validator's one line, never a traceback (an EXCEPTION step) or a NaN in a property.
    def refused(self, content, said: str):
        label = "emscripten-python-out/results.json"
        self.run_test(0, content, FAILURE, f"{label} {said} (failure)")
        self.expect_no_property("test_files_total")
        self.expect_log_file("summary", f"{label} {said}; the test command exited with rc 0 (see the stdio log).\n")
        return self.run_step()

    def test_results_json_with_nan_is_refused(self):
        nan = results_json(make_run("passed")).replace('"tests_run": 3', '"tests_run": NaN')
        return self.refused(nan, "is not valid JSON: NaN is not valid JSON")

    def test_deeply_nested_results_json_is_refused(self):
        return self.refused("[" * 100_000, "nests 100,000 levels deep, more than the limit of 32")

    def test_results_json_of_the_wrong_shape_is_refused(self):
        run = make_run("passed").to_dict()
        run["tests"] = "all"
        return self.refused(json.dumps(run), "is not valid (1 problem): tests: expected an object, got a string")

    def test_results_json_not_utf8_is_refused(self):
        return self.refused(b'{"run_id": "\xff"}', "is not UTF-8: 'utf-8' codec can't decode byte 0xff in "
                                                   "position 12: invalid start byte")

    def test_results_json_over_the_size_limit_is_refused_unread(self):
        # The master asks the worker for at most one byte over the limit, so a huge file is never
        # held whole; the worker stops there and reports a failed upload.
        limit = Limits().max_file_bytes
        self.setup(EmscriptenTest())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=21600).exit(0),
                             expect_results(b" " * (limit + 1)).exit(1))
        said = f"emscripten-python-out/results.json is more than the limit of {limit:,} bytes"
        self.expect_outcome(result=FAILURE, state_string=f"{said} (failure)")
        return self.run_step()

    def test_tests_could_not_run(self):
        # rc 21: no interpreter; results.json holds the build stages and the error, no tests.
        run = make_run(errors=["no built interpreter in /w/build/cross-build: run the build stage first"])
        self.run_test(21, results_json(run), FAILURE, "no test results (failure)")
        self.expect_property("emscripten_outcome", "error", "EmscriptenTest")
        return self.run_step()

    def test_success_exit_with_no_tests_is_not_success(self):
        self.run_test(0, results_json(make_run()), FAILURE, "no test results (failure)")
        return self.run_step()

    def test_exit_code_wins_over_a_green_record(self):
        self.run_test(30, results_json(make_run("passed")), FAILURE, "1 passed (failure)")
        return self.run_step()

    def test_cancelled_cli_is_cancelled_not_missing_results(self):
        # SIGTERM (stop, or a cancel from outside): the CLI killed node, wrote outcome "cancelled"
        # and exited 130. The step does not read results.json (the upload step sends it).
        self.setup(EmscriptenTest())
        self.expect_commands(CliShell(workdir="build", command=self.COMMAND, timeout=1800, max_time=21600)
                             .stderr("error: cancelled by SIGTERM").exit(130))
        self.expect_outcome(result=CANCELLED, state_string="cancelled (cancelled)")
        return self.run_step()

    def test_timeout_is_a_failure_even_though_the_cli_says_cancelled(self):
        # The worker SIGTERMs a command that printed nothing for `timeout` seconds, like on stop.
        self.setup(EmscriptenBuildStage("make-host"))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-host", *SILENCE], timeout=1200, max_time=10800)
            .update("failure_reason", "timeout_without_output").exit(130))
        self.expect_outcome(result=FAILURE)
        return self.run_step()

    def test_results_json_saying_cancelled(self):
        run = make_run("passed")
        run.cancelled = {"command": "test", "signal": "SIGINT", "at": "2026-11-29T14:00:00+00:00"}
        run.decide_outcome()
        self.run_test(0, results_json(run), CANCELLED, "1 passed (cancelled)")
        self.expect_property("emscripten_outcome", "cancelled", "EmscriptenTest")
        return self.run_step()

    def test_worker_lost_is_retry(self):
        self.setup(EmscriptenTest(tests="smoke", file_timeout=600, jobs=3))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "test", *BASE, "--tests", "smoke", "--jobs", "3", "--timeout", "600"], timeout=1800,
            max_time=21600).error(error.ConnectionLost()))
        self.expect_outcome(result=RETRY, state_string="test (retry)")
        return self.run_step()


class TestBundle(StepTestCase):
    def test_names_the_bundle(self):
        self.setup(EmscriptenBundle())
        run = make_run("passed", artifacts=["emscripten-python-3.15.0a0-01234567.tar.gz"])
        self.expect_commands(CliShell(workdir="build", command=["emscripten-python", "bundle", *BASE],
                                         timeout=1200).exit(0),
                             expect_results(results_json(run)))
        self.expect_outcome(result=SUCCESS)
        self.expect_property("emscripten_bundle",
                             "../emscripten-python-out/emscripten-python-3.15.0a0-01234567.tar.gz",
                             "EmscriptenBundle")
        return self.run_step()

    def test_failure_leaves_no_bundle_property(self):
        self.setup(EmscriptenBundle())
        self.expect_commands(CliShell(workdir="build", command=["emscripten-python", "bundle", *BASE],
                                         timeout=1200).exit(1),
                             expect_results(results_json(make_run("passed"))))
        self.expect_outcome(result=FAILURE)
        self.expect_no_property("emscripten_bundle")
        return self.run_step()


class TestUpload(StepTestCase):
    def upload_root(self) -> str:
        root = tempfile.mkdtemp(prefix="ep-upload-")
        self.addCleanup(shutil.rmtree, root, True)
        return root

    def expect_upload(self, rc):
        return ExpectUploadFile(workersrc="../emscripten-python-out/results.json", workdir="build",
                                blocksize=256 * 1024, maxsize=None, keepstamp=False,
                                writer=ExpectRemoteRef(remotetransfer.FileWriter)).upload_string("{}").exit(rc)

    def test_upload_with_url(self):
        root = self.upload_root()
        self.setup(EmscriptenUpload("results", "../emscripten-python-out/results.json", workdir="build",
                                    upload_dir=root, base_url="https://ci.example/artifacts/"))
        self.expect_commands(self.expect_upload(0))
        self.expect_outcome(result=SUCCESS)
        self.expect_property("results_url", "https://ci.example/artifacts/Emscripten-main/7/results.json",
                             "EmscriptenUpload")
        # The master's reporters (status ingest, PR report) read the file from here.
        self.expect_property("results_path", f"{root}/Emscripten-main/7/results.json", "EmscriptenUpload")
        return self.run_step()

    def test_upload_without_url_records_master_path(self):
        root = self.upload_root()
        self.setup(EmscriptenUpload("results", "../emscripten-python-out/results.json", workdir="build",
                                    upload_dir=root))
        self.expect_commands(self.expect_upload(0))
        self.expect_outcome(result=SUCCESS)
        self.expect_property("results_url", f"{root}/Emscripten-main/7/results.json", "EmscriptenUpload")
        self.expect_property("results_path", f"{root}/Emscripten-main/7/results.json", "EmscriptenUpload")
        return self.run_step()

    def test_missing_file_warns(self):
        self.setup(EmscriptenUpload("results", "../emscripten-python-out/results.json", workdir="build",
                                    upload_dir=self.upload_root()))
        self.expect_commands(self.expect_upload(1))
        self.expect_outcome(result=FAILURE)
        self.expect_no_property("results_url")
        self.expect_no_property("results_path")
        return self.run_step()

    def test_results_json_over_the_size_limit_is_not_stored_on_the_master(self):
        # The worker ran the PR's code: its results.json is uploaded with the validator's size
        # limit (plus one byte, so a file at the limit passes), so a huge file never fills the
        # master's disk; the master records the build's early end in its place.
        from emscripten_python.steps.stages import TOOLCHAIN_STARTED_PROPERTY
        from emscripten_python.steps.upload import EmscriptenResultsUpload

        root = self.upload_root()
        self.setup(EmscriptenResultsUpload("../emscripten-python-out/results.json", workdir="build",
                                           upload_dir=root))
        self.build.setProperty(TOOLCHAIN_STARTED_PROPERTY, True, "EmscriptenToolchain")
        # What the early-end record reads of a real Build (Buildbot's FakeBuild has none of it).
        self.build.getUrl = lambda: defer.succeed(BUILD_URL)
        self.build.executedSteps, self.build.stopped = [], False
        self.expect_commands(
            ExpectUploadFile(workersrc="../emscripten-python-out/results.json", workdir="build",
                             blocksize=256 * 1024, maxsize=Limits().max_file_bytes + 1, keepstamp=False,
                             writer=ExpectRemoteRef(remotetransfer.FileWriter))
            .upload_string(" " * 1024).exit(1))
        self.expect_outcome(result=SUCCESS, state_string="recorded: error in checkout")
        self.expect_property("results_path", f"{root}/Emscripten-main/7/results.json", "EmscriptenResultsUpload")
        return self.run_step()


class TestClean(StepTestCase):
    def test_removes_outputs_and_build_dirs(self):
        step = EmscriptenClean()
        self.setup(step)
        self.expect_commands(ExpectRmdir(dir=["emscripten-python-out", "build/cross-build", "build/builddir"])
                             .exit(0))
        self.expect_outcome(result=SUCCESS)
        self.assertTrue(step.alwaysRun)
        return self.run_step()

    def test_failure_only_warns(self):
        step = EmscriptenClean()
        self.setup(step)
        self.expect_commands(ExpectRmdir(dir=["emscripten-python-out", "build/cross-build", "build/builddir"])
                             .exit(1))
        self.expect_outcome(result=FAILURE)
        self.assertEqual((step.flunkOnFailure, step.warnOnFailure, step.haltOnFailure), (False, True, False))
        return self.run_step()


class TestExceptionsAreNotSwallowed(StepTestCase):
    def test_worker_lost_in_a_build_stage(self):
        self.setup(EmscriptenBuildStage("make-host"))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-host", *SILENCE], timeout=1200, max_time=10800)
            .error(error.ConnectionLost()))
        self.expect_outcome(result=RETRY)
        return self.run_step()

    def test_unexpected_error_is_exception(self):
        self.setup(EmscriptenBuildStage("make-host"))
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "make-host", *SILENCE], timeout=1200, max_time=10800)
            .error(RuntimeError("boom")))
        self.expect_exception(RuntimeError)
        self.expect_outcome(result=EXCEPTION)
        return self.run_step()


class TestPythonInfo(StepTestCase):
    def test_failure_only_warns(self):
        step = EmscriptenPythonInfo("pythoninfo-host")
        self.setup(step)
        self.expect_commands(CliShell(workdir="build", command=[
            "emscripten-python", "build", *BASE, "--only", "pythoninfo-host", *SILENCE], timeout=1200, max_time=10800).exit(20))
        self.expect_outcome(result=FAILURE, state_string="pythoninfo-host (failure)")
        self.assertEqual((step.flunkOnFailure, step.warnOnFailure, step.haltOnFailure), (False, True, False))
        return self.run_step()


class TestDriverClean(StepTestCase):
    def test_runs_the_trees_clean_when_it_has_one(self):
        step = EmscriptenDriverClean()
        self.setup(step)
        command = step.command
        self.assertEqual(command[:2], ["sh", "-c"])
        self.assertIn("Platforms/emscripten clean", command[2])
        self.assertEqual(command[3], "python3")
        self.expect_commands(ExpectShell(workdir="build", command=command, timeout=1200, log_environ=False).exit(0))
        self.expect_outcome(result=SUCCESS)
        self.assertTrue(step.alwaysRun and not step.flunkOnFailure and step.warnOnFailure)
        return self.run_step()


class TestFactoryUploadsBeforeBundle(StepTestCase):
    """Defect: a build that stopped before `bundle` (no emscripten_bundle property) ended EXCEPTION,
    because the upload's renderables were rendered before doStepIf was asked."""

    def test_bundle_upload_without_a_bundle_is_skipped(self):
        step = next(f.buildStep() for f in EmscriptenFactory().steps if f.buildStep().name == "upload-bundle")
        self.setup(step)
        self.expect_outcome(result=SKIPPED)
        return self.run_step()

    def test_junit_upload_without_test_outcome_is_skipped(self):
        step = next(f.buildStep() for f in EmscriptenFactory().steps if f.buildStep().name == "upload-junit")
        self.setup(step)
        self.expect_outcome(result=SKIPPED)
        return self.run_step()
