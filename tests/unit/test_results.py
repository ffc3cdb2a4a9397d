"""results: the Run model, its JSON round trip, schema checks, counts and outcome."""

from __future__ import annotations

import json

import pytest

from emscripten_python.errors import ResultsError
from emscripten_python.results.model import SCHEMA_VERSION, Artifact, Run, Stage
from emscripten_python.results.model import TestCase as Case, TestFile as File  # not Test*: pytest would try to collect them
from emscripten_python.results.validation import load_validated


def sample_run() -> Run:
    run = Run(origin={"kind": "buildbot", "builder": "wasm32-emscripten node (3.13)"},
              source={"path": "/src/cpython", "cpython_version": "3.13.1", "era": "configure",
                      "branch": "3.13", "commit": "a" * 40},
              toolchain={"kind": "system", "emcc_version": "3.1.69", "matches_pin": True},
              node={"version": "20.19.2", "flags": ["--stack-size=30000"]})
    run.set_stage(Stage("configure-host", "succeeded", 12.5, 0, "logs/configure-host.log", ["emconfigure"]))
    run.set_stage(Stage("test", "succeeded", 300.0, log="logs/test.log"))
    run.tests = {"selection": ["test_os", "test_math", "test_compile"], "regrtest_args": ["-v"], "files": [
        File("test_os", "passed", 1.5, tests_run=10, failures=0, skipped=2,
                 cases=[Case("test.test_os.MakedirTests.test_mode", "passed", 0.01)]),
        File("test_math", "flaky", 2.0, tests_run=5, failures=1, attempts=2,
                 cases=[Case("test.test_math.MathTests.test_fsum", "failed", 0.2, "boom", "Traceback...")]),
        File("test_compile", "crashed", 30.0, tests_run=3, failures=0,
                 crash="RuntimeError: memory access out of bounds"),
    ]}
    run.artifacts = [Artifact("bundle.tar.gz", 1234, "f" * 64, url="https://example.org/b.tgz")]
    run.errors = []
    return run


def test_round_trip_dict():
    run = sample_run()
    data = run.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["tests"]["files"][1]["cases"][0]["traceback"] == "Traceback..."
    assert data["counts"] == run.counts()
    back = Run.from_dict(data)
    assert back == run
    assert isinstance(back.stages[0], Stage)
    assert isinstance(back.test_files[0], File)
    assert isinstance(back.test_files[0].cases[0], Case)
    assert isinstance(back.artifacts[0], Artifact)


def test_round_trip_through_json_file(tmp_path):
    run = sample_run()
    path = tmp_path / "out" / "results.json"
    run.save(path)
    assert not path.with_name("results.json.partial").exists()
    assert json.loads(path.read_text())["run_id"] == run.run_id
    assert load_validated(path) == run


def test_from_dict_ignores_unknown_top_level_keys():
    data = sample_run().to_dict()
    data["added_in_a_later_minor"] = {"x": 1}
    assert Run.from_dict(data).run_id == data["run_id"]


@pytest.mark.parametrize("version", [None, 0, 3, "1", "2", True])
def test_wrong_schema_version(version):
    data = sample_run().to_dict()
    data["schema_version"] = version
    with pytest.raises(ResultsError, match="schema_version") as caught:
        Run.from_dict(data)
    assert caught.value.exit_code == 40


def test_version_1_is_read_and_migrated_in_memory(tmp_path):
    data = sample_run().to_dict()
    data["schema_version"] = 1
    del data["cancelled"]                       # version 1 had no such field
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    run = load_validated(path)
    assert run.schema_version == SCHEMA_VERSION == 2
    assert run.cancelled is None and run.decide_outcome() == "failure"
    assert json.loads(path.read_text())["schema_version"] == 1      # the file itself is untouched


def test_cancelled_is_its_own_outcome_whatever_ran_before():
    run = sample_run()
    run.set_stage(Stage("make-host", "failed", 1.0, 2))
    run.cancelled = {"command": "test", "signal": "SIGTERM", "at": "2026-11-29T14:00:00+00:00"}
    assert run.decide_outcome() == "cancelled"
    back = Run.from_dict(json.loads(json.dumps(run.to_dict())))
    assert back.cancelled["signal"] == "SIGTERM" and back.decide_outcome() == "cancelled"
    run.cancelled = None
    assert run.decide_outcome() == "error"


def test_load_malformed_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"schema_version": 1, "run_id": ')
    with pytest.raises(ResultsError, match="is not valid JSON"):
        load_validated(path)


def test_load_non_object(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("[1, 2]")
    with pytest.raises(ResultsError, match="is not a JSON object"):
        load_validated(path)


def test_load_missing(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        load_validated(tmp_path / "results.json")


def test_load_binary_garbage(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ResultsError):
        load_validated(path)


@pytest.mark.parametrize("where", ["stage", "file", "case", "stage-without-status"])
def test_malformed_nested_entry_is_results_error(where):
    data = sample_run().to_dict()
    if where == "stage":
        data["stages"][0]["bogus"] = 1
    elif where == "file":
        data["tests"]["files"][0]["bogus"] = 1
    elif where == "case":
        data["tests"]["files"][0]["cases"][0]["bogus"] = 1
    else:
        data["stages"] = [{"name": "configure-host"}]
    with pytest.raises(ResultsError):
        Run.from_dict(data)


def test_set_stage_replaces_by_name():
    run = Run()
    run.set_stage(Stage("make-host", "failed", 1.0, 2))
    run.set_stage(Stage("test", "succeeded"))
    run.set_stage(Stage("make-host", "succeeded", 2.0, 0))
    assert [(s.name, s.status) for s in run.stages] == [("test", "succeeded"), ("make-host", "succeeded")]


def test_run_ids_are_unique():
    assert Run().run_id != Run().run_id


# -- counts and outcome --------------------------------------------------------------------

def _run_with(*outcomes: str, stages=("test",)) -> Run:
    run = Run()
    for name in stages:
        run.set_stage(Stage(name, "succeeded"))
    run.tests["files"] = [File(f"test_{i}", outcome, tests_run=4, failures=1 if outcome in ("failed", "flaky") else 0,
                                   skipped=1)
                          for i, outcome in enumerate(outcomes)]
    return run


def test_counts():
    counts = sample_run().counts()
    assert counts["files"] == {"total": 3, "passed": 1, "failed": 0, "skipped": 0, "resource-denied": 0,
                               "crashed": 1, "timed-out": 0, "flaky": 1, "env-changed": 0, "no-tests": 0}
    # failures of flaky files do not count: they passed when re-run
    assert counts["tests"] == {"run": 18, "failures": 0, "skipped": 2, "expected_failures": 0}


def test_counts_failures_of_failed_files():
    counts = _run_with("failed", "failed", "flaky", "passed").counts()
    assert counts["tests"] == {"run": 16, "failures": 2, "skipped": 4, "expected_failures": 0}
    assert counts["files"]["failed"] == 2


def test_counts_expected_failures_are_not_failures():
    run = Run()
    run.tests["files"] = [File("test_x", "passed", tests_run=3, expected_failures=2),
                          File("test_y", "failed", tests_run=2, failures=1, unexpected_successes=1)]
    assert run.counts()["tests"] == {"run": 5, "failures": 1, "skipped": 0, "expected_failures": 2}
    assert Run.from_dict(run.to_dict()).test_files[0].expected_failures == 2


def test_counts_empty():
    counts = Run().counts()
    assert counts["files"]["total"] == 0
    assert counts["tests"] == {"run": 0, "failures": 0, "skipped": 0, "expected_failures": 0}


@pytest.mark.parametrize("outcomes, expected", [
    (("passed", "skipped", "resource-denied", "no-tests"), "success"),
    (("passed", "flaky"), "warnings"),
    (("passed", "flaky", "failed"), "failure"),
    (("passed", "crashed"), "failure"),
    (("passed", "timed-out"), "failure"),
    (("passed", "env-changed"), "failure"),
])
def test_decide_outcome_from_files(outcomes, expected):
    run = _run_with(*outcomes)
    assert run.decide_outcome() == expected
    assert run.outcome == expected


def test_decide_outcome_failed_stage_is_error():
    run = _run_with("passed")
    run.set_stage(Stage("make-host", "failed", 3.0, 2, "logs/make-host.log"))
    assert run.decide_outcome() == "error"


def test_decide_outcome_recorded_error_is_error():
    run = _run_with("passed")
    run.errors.append("toolchain vanished")
    assert run.decide_outcome() == "error"


def test_decide_outcome_without_tests():
    assert Run().decide_outcome() == "pending"
    run = Run()
    run.set_stage(Stage("make-host", "succeeded"))
    assert run.decide_outcome() == "success"
