"""cli.main: documented exit codes and `error: ...` messages, never a traceback."""

from __future__ import annotations

import json

import pytest

from emscripten_python.cli import main as cli
from emscripten_python.results.model import Run, Stage
from emscripten_python.results.model import TestFile as File  # not Test*: pytest would collect it
from emscripten_python.results.validation import load_validated


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
    run = load_validated(tmp_path / "emscripten-python-out" / "results.json")
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
    run = load_validated(tmp_path / "out" / "results.json")
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
    _assert_clean_error(capsys, "schema_version: 99 is not supported")


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


# -- issue 21, item 1: every reader of a results.json validates it first --------------------------
def _valid_results(path, **changes) -> bytes:
    from emscripten_python.results.model import TestCase as Case
    run = Run(source={"branch": "main", "commit": "a" * 40, "cpython_version": "3.13.15", "era": "configure"})
    run.tests = {"selection": ["test_os"], "files": [
        File("test_os", "failed", 1.0, tests_run=2, failures=1,
             cases=[Case("test.test_os.T.test_a", "failed"), Case("test.test_os.T.test_b", "passed")])]}
    run.decide_outcome()
    data = {**run.to_dict(), **changes}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path.read_bytes()


def _refused(capsys, code_and_args, *files) -> str:
    """Runs the CLI; asserts exit 40, one `error:` line, no traceback and every file unchanged."""
    before = {f: f.read_bytes() for f in files}
    assert cli.main(code_and_args) == 40
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert {f: f.read_bytes() for f in files} == before
    return err


@pytest.mark.parametrize("bad", ["nan", "inf", "wrong-type", "minimal", "deep"])
def test_report_with_baseline_or_expected_refuses_a_bad_head_before_rewriting_it(tmp_path, capsys, bad):
    head = tmp_path / "out" / "results.json"
    base = tmp_path / "base" / "results.json"
    _valid_results(base)
    if bad == "minimal":
        head.parent.mkdir()
        head.write_text('{"schema_version": 1}')
    elif bad == "deep":
        head.parent.mkdir()
        head.write_text('{"schema_version": 2, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    else:
        _valid_results(head)
        text = head.read_text()
        head.write_text({"nan": text.replace('"duration": 1.0', '"duration": NaN'),
                         "inf": text.replace('"duration": 1.0', '"duration": Infinity'),
                         "wrong-type": text.replace('"tests_run": 2', '"tests_run": "2"')}[bad])
    expected = tmp_path / "expected.toml"
    expected.write_text('[[expected]]\ntests = ["test_os"]\n')
    for extra in (["--baseline", str(base)], ["--expected", str(expected)], []):
        _refused(capsys, ["report", "--out", str(head.parent), *extra], head, base)


def test_report_refuses_a_bad_baseline_file_before_comparing(tmp_path, capsys):
    head, base = tmp_path / "out" / "results.json", tmp_path / "base" / "results.json"
    _valid_results(head)
    _valid_results(base)
    base.write_text(base.read_text().replace('"duration": 1.0', '"duration": -Infinity'))
    err = _refused(capsys, ["report", "--out", str(head.parent), "--baseline", str(base)], head, base)
    assert "-Infinity" in err


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    head = tmp_path / "out" / "results.json"
    _valid_results(head)
    with head.open("ab") as f:           # 65 MB of trailing spaces: valid JSON, too big
        f.truncate(65 * 1024 * 1024)
    err = _refused(capsys, ["report", "--out", str(head.parent), "--format", "json"], head)
    assert "more than the limit" in err


def test_merge_refuses_deep_nesting_without_a_traceback(tmp_path, capsys):
    shard = tmp_path / "s1" / "results.json"
    shard.parent.mkdir()
    shard.write_text("[" * 200_000 + "]" * 200_000)
    out = tmp_path / "merged"
    _refused(capsys, ["merge", str(out), str(shard)], shard)
    assert not out.exists()


# -- issue 21, item 4: options and contradictions, checked before any work -------------------------
def _usage_error(capsys, argv, *fragments) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err


@pytest.mark.parametrize("argv, fragment", [
    (["test", "--source", ".", "--timeout", "nan"], "'nan' is not a number of seconds"),
    (["test", "--source", ".", "--timeout", "-1"], "'-1' is not a number of seconds"),
    (["test", "--source", ".", "--timeout", "inf"], "'inf' is not a number of seconds"),
    (["run", "--source", ".", "--timeout", "1e400"], "'1e400' is not a number"),
    (["build", "--source", ".", "--silence-timeout", "0"], "'0' is not a number of seconds"),
    (["test", "--source", ".", "--jobs", "0"], "0 is not between 1 and 1024"),
    (["run", "--source", ".", "-j", "-3"], "-3 is not between 1 and 1024"),
    (["run", "--source", ".", "--test-jobs", "99999"], "99999 is not between 1 and 1024"),
    (["build", "--source", ".", "--jobs", "two"], "'two' is not a whole number"),
])
def test_option_values_out_of_range_are_usage_errors(capsys, tmp_path, argv, fragment):
    _usage_error(capsys, [*argv, "--out", str(tmp_path / "out")], fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, fragment", [
    (["test", "--source", ".", "--from-bundle", "b.tar.gz"], "it takes no --source"),
    (["test", "--source", ".", "--durations", "d.json"], "it needs --shard"),
    (["run", "--source", ".", "--tests", "none", "--expected", "e.toml"], "nothing for --baseline"),
    (["test", "--source", ".", "--chromium", "/usr/bin/chromium"], "they need --browser"),
    (["run", "--source", ".", "--web-assets", "assets"], "they need --browser"),
    (["test", "--from-bundle", "b.tar.gz", "--strict-toolchain"], "--strict-toolchain has nothing to check"),
    (["report", "--base-branch", "main"], "it needs --baseline auto"),
    (["run", "--source", ".", "--baseline", "base.json", "--base-branch", "main"], "it needs --baseline auto"),
])
def test_contradicting_options_exit_2_before_any_work(capsys, tmp_path, argv, fragment):
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err, err
    assert not (tmp_path / "out").exists()


def test_test_without_source_or_bundle_is_a_source_error_before_any_work(capsys, tmp_path):
    assert cli.main(["test", "--out", str(tmp_path / "out")]) == 10
    assert capsys.readouterr().err == "error: test needs --source (the built tree) or --from-bundle FILE\n"
    assert not (tmp_path / "out").exists()


def test_compare_out_never_overwrites_an_input(tmp_path, capsys):
    head, base = tmp_path / "head" / "results.json", tmp_path / "base" / "results.json"
    _valid_results(head)
    _valid_results(base)
    for target, name in ((head, "HEAD"), (base, "BASE"), (head.parent, "HEAD")):
        before = head.read_bytes(), base.read_bytes()
        out = target if target.name == "results.json" else target / "results.json"
        assert cli.main(["compare", str(base), str(head.parent if name == "HEAD" else head),
                         "--out", str(out)]) == 2
        assert f"names {name}'s results.json" in capsys.readouterr().err
        assert (head.read_bytes(), base.read_bytes()) == before


def test_a_bad_expectations_file_exits_40_before_any_work(tmp_path, capsys):
    bad = tmp_path / "e.toml"
    for content in (b"[[expected]]\nwhy = 1\n", b"\xff\xfe", b"expected = 3", b"[[expected]\n"):
        bad.write_bytes(content)
        assert cli.main(["test", "--source", str(tmp_path), "--out", str(tmp_path / "out"),
                         "--expected", str(bad)]) == 40
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert not (tmp_path / "out").exists()


def test_a_run_id_without_the_status_extra_is_one_line_and_exit_51(tmp_path, capsys, monkeypatch):
    import sys
    head = tmp_path / "head" / "results.json"
    _valid_results(head)
    monkeypatch.setitem(sys.modules, "emscripten_python.status", None)     # the extra not installed
    for name in [n for n in sys.modules if n.startswith("emscripten_python.status.")]:
        monkeypatch.delitem(sys.modules, name)
    assert cli.main(["compare", "0123456789abcdef", str(head)]) == 51
    err = capsys.readouterr().err
    assert err.startswith("error: a run id or 'auto' needs the status store") and err.count("\n") == 1, err


# -- issue 21, item 4: the tree's config.toml, typed per era, checked before any work -------------
@pytest.mark.parametrize("content, fragment", [
    (b'node-version = ["24"]\n', "node-version should be a version string such as \"24\", not an array"),
    (b'node-version = 24\n', "node-version should be a version string such as \"24\", not an integer"),
    (b'pythoninfo-args = "-m test.pythoninfo"\n', "pythoninfo-args should be a list of strings, not a string"),
    (b'test-args = ["-m", "test", 3]\n', "test-args should be a list of strings, not an array"),
    (b'emscripten-version = 4.0\n', "emscripten-version should be a version string"),
    (b'emscripten-version = "4.0.12; curl x|sh"\n', "emscripten-version should be a version string"),
    (b'[dependencies.libffi]\nshasum = "nope"\n', "[dependencies.libffi]: shasum should be a sha256 in hex"),
    (b'dependencies = ["libffi"]\n', "dependencies should be a table"),
    (b'[dependencies]\nlibffi = "3.4.6"\n', "[dependencies.libffi] should be a table, not a string"),
    (b'node-version = "24"\n\xff\xfe\n', "is not UTF-8"),
    (b'node-version = "24\n', "is not valid TOML"),
])
def test_a_config_toml_of_the_wrong_shape_exits_10_in_one_line(capsys, make_tree, tmp_path, content, fragment):
    tree = make_tree("platforms", "3.15.0")
    (tree / "Platforms" / "emscripten" / "config.toml").write_bytes(content)
    assert cli.main(["run", "--source", str(tree), "--out", str(tmp_path / "out")]) == 10
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err, err


def test_unknown_config_keys_are_one_warning_line_each_table_and_harmless(capsys, make_tree):
    from emscripten_python.building.source import inspect_tree
    tree = make_tree("platforms", "3.15.0")
    (tree / "Platforms" / "emscripten" / "config.toml").write_text(
        'node-version = "24"\n"::set-output name=x::y" = 1\nnode_version = "22"\n'
        '[dependencies.libffi]\nversion = "3.4.6"\nsha = "x"\n')
    source = inspect_tree(tree)
    assert source.tree_config.node_version == "24"
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: Platforms/emscripten/config.toml: unknown keys ignored: "
                   "'::set-output name=x::y', 'node_version'",
                   "warning: Platforms/emscripten/config.toml [dependencies.libffi]: unknown keys ignored: 'sha'"]


def test_a_durations_file_with_nan_or_infinity_exits_21_before_any_work(tmp_path, capsys):
    durations = tmp_path / "d.json"
    for text in ('{"test_os": NaN}', '{"test_os": Infinity}', "[" * 100_000 + "]" * 100_000, "\udcff"):
        durations.write_bytes(text.encode("utf-8", "surrogateescape"))
        assert cli.main(["test", "--source", str(tmp_path), "--shard", "1/2", "--durations", str(durations),
                         "--out", str(tmp_path / "out")]) == 21
        err = capsys.readouterr().err
        assert err.startswith("error: --durations") and err.count("\n") == 1, err
        assert not (tmp_path / "out").exists()


def test_merge_never_overwrites_a_shard_it_reads(tmp_path, capsys):
    shard = tmp_path / "out" / "results.json"
    _valid_results(shard)
    before = shard.read_bytes()
    assert cli.main(["merge", str(tmp_path / "out"), str(shard)]) == 2
    assert "would overwrite a shard's results" in capsys.readouterr().err
    assert shard.read_bytes() == before


def test_the_core_report_without_the_github_face_validates_and_prints_nothing_runnable(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "EXTENSION_MODULES", tuple(m for m in cli.EXTENSION_MODULES if ".github." not in m))
    head = tmp_path / "out" / "results.json"
    head.parent.mkdir()
    head.write_text('{"schema_version": 1}')
    _refused(capsys, ["report", "--out", str(head.parent)], head)
    _valid_results(head, errors=["x\n::error::EVIL", "y ##[set-output name=a]b"])
    for fmt in ("markdown", "json"):
        assert cli.main(["report", "--out", str(head.parent), "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "EVIL" in out and "##[" not in out
        assert not any(line.lstrip().startswith("::") for line in out.splitlines())


def test_a_long_error_is_recorded_so_that_the_next_command_can_read_the_record(tmp_path, capsys, monkeypatch):
    from emscripten_python.errors import SourceError
    from emscripten_python.pipeline import Pipeline

    def fail(self):
        raise SourceError("x" * 10_000)

    monkeypatch.setattr(Pipeline, "toolchain_stage", fail)
    out = tmp_path / "out"
    assert cli.main(["toolchain", "--source", str(tmp_path), "--out", str(out)]) == 10
    capsys.readouterr()
    run = load_validated(out / "results.json")          # the record validates: build/test can go on
    assert len(run.errors[0]) == 4096 and run.errors[0].endswith("…")


def test_a_full_disk_under_a_hostile_file_name_is_one_inert_line(tmp_path, capsys):
    # ENOSPC names the file being written, whose name may come from the tree a PR changed:
    # the one error line is printed through untrusted.actions_safe like every other.
    import errno
    import os

    from emscripten_python.durable import report_disk_full

    name = tmp_path / "x\n::add-mask::EVIL\r::error::y"
    code = report_disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(name)), None)
    err = capsys.readouterr().err
    assert code == 52 and err.count("\n") == 1 and err.startswith("error: no space left on the device writing ")
    assert "\n::" not in err and "\r" not in err
