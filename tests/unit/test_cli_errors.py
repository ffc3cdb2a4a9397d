"""cli.main: documented exit codes and `error: ...` messages, never a traceback."""

from __future__ import annotations

import json

import pytest

from emscripten_python import cli
from emscripten_python.results import Run, Stage
from emscripten_python.results import TestFile as File  # not Test*: pytest would collect it


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    # The default --out is relative to the working directory; keep it inside tmp_path.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMSCRIPTEN_PYTHON_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def _assert_clean_error(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") or "\nerror: " in err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    return err


def test_run_with_missing_source_exits_10(capsys, tmp_path):
    assert cli.main(["run", "--source", "/nonexistent"]) == 10
    _assert_clean_error(capsys, "'/nonexistent'", "no such directory or tarball")
    # the error is kept in results.json under the default --out
    run = Run.load(tmp_path / "emscripten-python-out" / "results.json")
    assert run.outcome == "error"
    assert any("/nonexistent" in error for error in run.errors)


@pytest.mark.parametrize("command", ["toolchain", "build", "test", "bundle"])
def test_every_stage_command_reports_a_bad_source(capsys, tmp_path, command):
    out = tmp_path / "out"
    assert cli.main([command, "--source", str(tmp_path / "missing"), "--out", str(out)]) == 10
    _assert_clean_error(capsys, "missing")
    assert (out / "results.json").is_file()


def test_tree_without_emscripten_support_exits_10(capsys, make_tree, tmp_path):
    tree = make_tree("none", "3.10.14")
    assert cli.main(["toolchain", "--source", str(tree), "--out", str(tmp_path / "out")]) == 10
    _assert_clean_error(capsys, "no Emscripten build support")


def test_malformed_pin_exits_10(capsys, make_tree, tmp_path):
    tree = make_tree("platforms", "3.15.0")
    (tree / "Platforms" / "emscripten" / "config.toml").write_text("emscripten-version = \n")
    assert cli.main(["run", "--source", str(tree), "--out", str(tmp_path / "out")]) == 10
    _assert_clean_error(capsys, "is not valid TOML")


def test_unknown_toolchain_kind_exits_11(capsys, make_tree, tmp_path):
    tree = make_tree("configure", "3.13.1")
    assert cli.main(["toolchain", "--source", str(tree), "--out", str(tmp_path / "out"),
                     "--toolchain", "homebrew"]) == 11
    _assert_clean_error(capsys, "--toolchain 'homebrew'")
    run = Run.load(tmp_path / "out" / "results.json")
    assert run.source["cpython_version"] == "3.13.1" and run.source["era"] == "configure"


def test_report_missing_results_exits_40(capsys, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert cli.main(["report", "--out", str(out)]) == 40
    _assert_clean_error(capsys, "results.json does not exist")


def test_report_malformed_results_exits_40(capsys, tmp_path):
    (tmp_path / "results.json").write_text("{ not json")
    assert cli.main(["report", "--out", str(tmp_path)]) == 40
    _assert_clean_error(capsys, "is not valid JSON")


def test_report_unknown_schema_exits_40(capsys, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": 99}))
    assert cli.main(["report", "--out", str(tmp_path)]) == 40
    _assert_clean_error(capsys, "schema_version 99")


def _saved_run(out) -> Run:
    run = Run(source={"cpython_version": "3.13.1", "era": "configure"})
    run.set_stage(Stage("test", "succeeded", 10.0))
    run.tests["files"] = [File("test_os", "passed", tests_run=3), File("test_math", "crashed",
                                                                        crash="RuntimeError: unreachable")]
    run.decide_outcome()
    run.save(out / "results.json")
    return run


def test_report_markdown(capsys, tmp_path):
    _saved_run(tmp_path)
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## ❌ Emscripten: failure")
    assert "RuntimeError: unreachable" in out


def test_report_json_is_json(capsys, tmp_path):
    run = _saved_run(tmp_path)
    assert cli.main(["report", "--out", str(tmp_path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run_id"] == run.run_id


def test_usage_error_is_argparse_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["run"])
    assert caught.value.code == 2
    assert "--source" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["::add-mask::x", "  ::set-output name=a::b", "main\n::error::x",
                                  "a\r::stop-commands::t", "x ##[error]y", "\u2028::x::y", "\x00::x::y"])
def test_actions_safe_is_one_line_no_runner_reads_as_a_command(text):
    from emscripten_python.untrusted import actions_safe
    safe = actions_safe(text)
    assert len(safe.splitlines()) == 1
    assert not safe.lstrip().startswith("::") and "##[" not in safe


def test_actions_safe_keeps_what_it_escapes_readable():
    from emscripten_python.untrusted import actions_safe
    assert actions_safe("feature/x") == "feature/x"
    assert actions_safe("a%b\nc") == "a%25b%0Ac"
