"""`compare BASE HEAD`, `report --baseline`, baselines from the status store (in-process, no subprocess)."""

from __future__ import annotations

import json

import pytest

from emscripten_python.cli.main import main
from emscripten_python.cli.compare import exit_code_of
from emscripten_python.results.model import Run
from emscripten_python.results.model import TestCase as Case, TestFile as File
from emscripten_python.results.validation import load_validated


def write(path, *files, branch="3.13", commit="a" * 40, created="2026-11-20T10:00:00+00:00", builder="node"):
    run = Run(source={"branch": branch, "commit": commit, "cpython_version": "3.13.15"},
              origin={"kind": "buildbot", "builder": builder}, created=created)
    run.tests = {"selection": [f.name for f in files], "files": list(files)}
    run.decide_outcome()
    path.parent.mkdir(parents=True, exist_ok=True)
    run.save(path)
    return run


def os_file(*failing):
    return File("test_os", "failed" if failing else "passed", 1.0, tests_run=3, cases=[
        Case(f"test.test_os.T.{n}", "failed" if n in failing else "passed") for n in ("test_a", "test_b", "test_c")])


@pytest.fixture
def pair(tmp_path):
    base = tmp_path / "base" / "results.json"
    head = tmp_path / "head" / "results.json"
    write(base, os_file("test_a"), File("test_math", "passed"))
    write(head, os_file("test_a", "test_b"), File("test_math", "passed"), commit="b" * 40)
    return base, head


def test_compare_prints_the_verdict_and_exits_30_on_new_failures(pair, capsys):
    base, head = pair
    assert main(["compare", str(base), str(head), "--format", "verdict"]) == 30
    assert capsys.readouterr().out == "1 new failure vs 3.13 @aaaaaaa, 1 known failure unchanged\n"
    assert main(["compare", str(base), str(head), "--format", "verdict", "--fail-on", "never"]) == 0
    # Directories holding results.json work too; no new failure -> 0 under the default policy.
    assert main(["compare", str(head.parent), str(head.parent), "--format", "verdict"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "0 new failures vs 3.13 @bbbbbbb, 2 known failures unchanged"


def test_compare_json_to_a_file_and_save_into_head(pair, tmp_path):
    base, head = pair
    out = tmp_path / "cmp.json"
    assert main(["compare", str(base), str(head), "--format", "json", "--out", str(out), "--save",
                 "--fail-on", "any"]) == 30
    data = json.loads(out.read_text())
    assert data["counts"]["new_failure"] == 1 and data["policy"] == "any" and data["fails"] is True
    assert [c["test"] for c in data["changes"] if c["kind"] == "new-failure"] == ["test.test_os.T.test_b"]
    assert load_validated(head).comparison == data


def test_compare_markdown_and_bad_inputs(pair, tmp_path, capsys):
    base, head = pair
    assert main(["compare", str(base), str(head)]) == 30
    assert capsys.readouterr().out.startswith("## Δ `1 new failure")
    assert main(["compare", str(tmp_path / "missing.json"), str(head)]) == 40
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "e.toml"
    bad.write_text("[[expected]]\nwhy = 1\n")
    assert main(["compare", str(base), str(head), "--expected", str(bad)]) == 40
    assert "unknown keys: why" in capsys.readouterr().err


def test_report_with_baseline_writes_the_comparison_and_leads_with_it(pair, capsys):
    base, head = pair
    assert main(["report", "--out", str(head.parent), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "### Δ `1 new failure" in out and out.index("### Δ") < out.index("<details><summary>All results")
    run = load_validated(head)
    assert run.comparison["base"]["commit"] == "a" * 40 and run.comparison["fails"] is True
    assert exit_code_of(run, 30) == 30
    # --fail-on alone re-applies the policy to the comparison already there.
    assert main(["report", "--out", str(head.parent), "--fail-on", "never", "--format", "json"]) == 0
    run = load_validated(head)
    assert (run.comparison["policy"], run.comparison["fails"]) == ("never", False)
    assert exit_code_of(run, 30) == 0


def test_report_with_an_unreadable_baseline_says_so(pair, tmp_path, capsys):
    _, head = pair
    assert main(["report", "--out", str(head.parent), "--baseline", str(tmp_path / "gone.json")]) == 0
    run = load_validated(head)
    assert run.comparison["base"] is None
    assert "could not be read" in run.comparison["baseline_missing"]
    assert "warning: no baseline" in capsys.readouterr().err
    # A directory that was never downloaded is a missing file, not a run id to look up.
    assert main(["report", "--out", str(head.parent), "--baseline", "base-results"]) == 0
    assert load_validated(head).comparison["baseline_missing"] == \
        "the baseline could not be read: base-results does not exist"


def test_expectations_through_the_cli(pair, tmp_path, capsys):
    base, head = pair
    expected = tmp_path / "emscripten-expected.toml"
    expected.write_text('[[expected]]\ntests = ["test.test_os.T.test_b"]\nreason = "known"\n')
    assert main(["compare", str(base), str(head), "--expected", str(expected), "--format", "verdict"]) == 0
    assert capsys.readouterr().out == "0 new failures vs 3.13 @aaaaaaa, 2 known failures unchanged\n"


# -- the status store ------------------------------------------------------------------------

store_mod = pytest.importorskip("emscripten_python.status.store")


def test_run_ids_and_auto_baseline_from_the_store(tmp_path, capsys):
    from emscripten_python.status.ingest import ingest

    db = f"sqlite:///{tmp_path / 'status.sqlite'}"
    store = store_mod.Store(db)
    older = write(tmp_path / "r1" / "results.json", os_file(), created="2026-11-18T10:00:00+00:00")
    base = write(tmp_path / "r2" / "results.json", os_file("test_a"), commit="c" * 40,
                 created="2026-11-19T10:00:00+00:00")
    other = write(tmp_path / "r3" / "results.json", os_file(), builder="other",
                  created="2026-11-19T11:00:00+00:00")
    errored = write(tmp_path / "r4" / "results.json", os_file(), created="2026-11-19T12:00:00+00:00")
    errored.errors = ["configure failed"]
    errored.decide_outcome()
    errored.save(tmp_path / "r4" / "results.json")
    try:
        for run in (older, base, other, errored):
            ingest(store, run)
    finally:
        store.close()
    head = tmp_path / "head" / "results.json"
    write(head, os_file("test_a", "test_b"), commit="d" * 40, created="2026-11-20T10:00:00+00:00")
    # Run ids (and unique prefixes) on both sides; cases come back as non-passing only.
    assert main(["compare", older.run_id[:10], base.run_id, "--db", db, "--format", "verdict"]) == 30
    assert capsys.readouterr().out == "1 new failure vs 3.13 @aaaaaaa, 0 known failures unchanged\n"
    # auto: the latest completed run of the same builder on the branch (not the error run,
    # not the other builder).
    assert main(["compare", "auto", str(head), "--db", db, "--format", "json"]) == 30
    data = json.loads(capsys.readouterr().out)
    assert data["base"]["run_id"] == base.run_id
    assert [(c["kind"], c["test"]) for c in data["changes"]] == [
        ("new-failure", "test.test_os.T.test_b"), ("still-failing", "test.test_os.T.test_a")]
    assert main(["compare", "auto", str(head), "--db", db, "--base-branch", "main", "--format", "verdict"]) == 30
    assert capsys.readouterr().out.startswith(
        "2 failures not known to fail (no baseline: no completed run of node on main")
    assert main(["compare", "f" * 32, str(head), "--db", db]) == 40
    assert "neither a results.json file nor a run id" in capsys.readouterr().err


def test_test_history_first_failed_and_last_passed(tmp_path):
    from emscripten_python.status.history import test_history
    from emscripten_python.status.ingest import ingest

    store = store_mod.Store(f"sqlite:///{tmp_path / 'status.sqlite'}")
    states = [(), ("test_b",), (), ("test_a",), ("test_a",), ("test_a", "test_b")]
    runs = [write(tmp_path / f"r{i}" / "results.json", os_file(*failing), commit=f"{i}" * 40,
                  created=f"2026-11-1{i}T10:00:00+00:00") for i, failing in enumerate(states)]
    try:
        for run in runs:
            ingest(store, run)
        with store.reader() as session:
            history = test_history(session, "test.test_os.T.test_a", builder="node", branch="3.13")
            assert [e["state"] for e in history.runs] == ["failed", "failed", "failed", "passed", "passed", "passed"]
            assert history.first_failed["run_id"] == runs[3].run_id
            assert history.last_passed["commit"] == "2" * 40
            whole = test_history(session, "test_os", builder="node", branch="3.13")
            assert whole.first_failed["run_id"] == runs[3].run_id and whole.last_passed["run_id"] == runs[2].run_id
    finally:
        store.close()
