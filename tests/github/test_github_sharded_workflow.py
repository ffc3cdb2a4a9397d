"""The sharded example workflow (.github/workflows/emscripten-sharded.yml), job by job, with the
action's own shell steps run as the runner would (test_github_action.Runner: GITHUB_OUTPUT,
GITHUB_ENV, GITHUB_STEP_SUMMARY on disk, inputs through env only).

Each job gets its own runner directory (its own machine); artifacts move between jobs only
as upload-artifact/download-artifact would move them: the `path` of the action's upload
step (exclusions included), into the download step's `path`. The build job uses the
stand-in tree and toolchain; the test jobs have node and nothing else; the merge job
reports once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from test_github_action import ACTION, ROOT, Runner

sys.path.insert(0, str(Path(__file__).parents[1] / "shards"))
sys.path.insert(0, str(Path(__file__).parents[1] / "buildbot"))
from fake_cpython import make_toolchain  # noqa: E402
from stand_in import SELECTION, make_relocatable_repo  # noqa: E402

pytestmark = pytest.mark.timeout(300)
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "emscripten-sharded.yml").read_text())
ACTION_USES = "./actions/emscripten-python"


def _steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def _expand(value, runner: Runner, matrix: dict) -> str:
    def one(match):
        name = match[1].strip()
        if name == "runner.temp":
            return runner.base_env["RUNNER_TEMP"]
        if name.startswith("matrix."):
            return str(matrix[name.split(".", 1)[1]])
        raise AssertionError(f"unexpected expression in the workflow's inputs: {name}")
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def _upload(runner: Runner, artifacts: Path, name: str) -> Path:
    """actions/upload-artifact with the action's `path:` lines (a `!` line excludes)."""
    [step] = [s for s in ACTION["runs"]["steps"] if s.get("id") == "upload"]
    out = runner.steps["prepare"]["out"]
    lines = [line.replace("${{ steps.prepare.outputs.out }}", out) for line in step["with"]["path"].split("\n") if line]
    include = [Path(line) for line in lines if not line.startswith("!")]
    exclude = [Path(line[1:]) for line in lines if line.startswith("!")]
    assert include == [Path(out)]
    target = artifacts / name
    assert not target.exists(), f"upload-artifact refuses a name twice in a run: {name}"
    shutil.copytree(out, target, ignore=lambda directory, names: [
        n for n in names if Path(directory, n) in exclude])
    return target


def _download(step: dict, runner: Runner, artifacts: Path, matrix: dict) -> None:
    """actions/download-artifact: one artifact into path, or each matching one into path/NAME."""
    with_ = {k: _expand(v, runner, matrix) for k, v in step["with"].items()}
    target = Path(with_["path"])
    if "name" in with_:
        shutil.copytree(artifacts / with_["name"], target)
    else:
        pattern = re.compile(with_["pattern"].replace("*", ".*") + "$")
        for artifact in sorted(artifacts.iterdir()):
            if pattern.match(artifact.name):
                shutil.copytree(artifact, target / artifact.name)


def _job(name: str, tmp: Path, artifacts: Path, environ: dict, matrix: dict | None = None,
         extra_inputs: dict | None = None, setup=None) -> Runner:
    """Runs one job: its download steps, then the action's prepare, run, upload and report."""
    matrix = matrix or {}
    machine = tmp / (name + "".join(f"-{v}" for v in matrix.values()))
    machine.mkdir()
    runner = Runner(machine, {}, environ)
    Path(runner.base_env["RUNNER_TEMP"]).mkdir()
    if setup:
        setup(runner)
    for step in _steps(name):
        if step.get("uses", "").startswith("actions/download-artifact@"):
            _download(step, runner, artifacts, matrix)
        elif step.get("uses", "").startswith(ACTION_USES):
            runner.inputs = {k: _expand(v, runner, matrix) for k, v in step["with"].items()}
            runner.inputs.update(extra_inputs or {})
            prepared = runner.step("prepare")
            assert prepared.returncode == 0, prepared.stdout + prepared.stderr
            done = runner.step("run")
            runner.run_rc = done.returncode
            runner.run_output = done.stdout + done.stderr
            _upload(runner, artifacts, runner.steps["prepare"]["artifact-name"])
            reported = runner.step("report")
            assert reported.returncode == 0, reported.stdout + reported.stderr
    return runner


def test_build_once_test_four_shards_merge_and_report_once(tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    # The stand-in toolchain as an emsdk ($EMSDK/upstream/emscripten/emcc): the runner's PATH is fixed.
    toolchain = make_toolchain(tmp_path / "toolchain")
    emsdk = tmp_path / "emsdk"
    (emsdk / "upstream").mkdir(parents=True)
    (emsdk / "upstream" / "emscripten").symlink_to(toolchain)
    node_only = {k: v for k, v in os.environ.items() if k.startswith("EMSCRIPTEN_PYTHON_NO_RECORD")}

    def checkout_cpython(runner):
        make_relocatable_repo(runner.workspace / "cpython")

    tests = ",".join(SELECTION)
    build = _job("build", tmp_path, artifacts, {**node_only, "EMSDK": str(emsdk)},
                 extra_inputs={"toolchain": "system"}, setup=checkout_cpython)
    assert build.run_rc == 0, build.run_output
    assert build.inputs["tests"] == "none" and build.steps["run"]["files-total"] == "0"
    [bundle] = (artifacts / "emscripten-python-build").glob("emscripten-python-*.tar.gz")

    matrix = WORKFLOW["jobs"]["test"]["strategy"]["matrix"]["shard"]
    shards = [_job("test", tmp_path, artifacts, node_only, {"shard": shard}, extra_inputs={"tests": tests})
              for shard in matrix]
    for runner in shards:
        assert runner.run_rc in (0, 30), runner.run_output
        assert runner.steps["prepare"]["node-version"].isdigit()
        argv = json.loads(runner.steps["prepare"]["argv"])
        assert argv[0] == "test" and "--from-bundle" in argv and "--toolchain" not in argv
        uploaded = artifacts / runner.steps["prepare"]["artifact-name"]
        assert (uploaded / "results.json").exists() and not (uploaded / "bundle").exists()
    results = [json.loads((artifacts / f"emscripten-python-shard-{s}" / "results.json").read_text()) for s in matrix]
    assert sorted(r["shard"]["index"] for r in results) == matrix
    assert {r["shard"]["count"] for r in results} == {len(matrix)}
    assert sorted(n for r in results for n in r["shard"]["files"]) == sorted(SELECTION)

    merge = _job("merge", tmp_path, artifacts, node_only)
    assert merge.run_rc == 30, merge.run_output
    outputs = merge.steps["report"] or merge.steps["run"]
    assert merge.steps["run"]["result"] == "failure" and merge.steps["run"]["files-total"] == str(len(SELECTION))
    merged = json.loads((artifacts / "emscripten-python-results" / "results.json").read_text())
    assert [f["name"] for f in merged["tests"]["files"]] == SELECTION
    crashed = next(f for f in merged["tests"]["files"] if f["name"] == "test_crash_c")
    assert crashed["outcome"] == "crashed" and "memory access out of bounds" in crashed["crash"]
    assert merged["shard"]["build"]["bundle_sha256"] and merged["shard"]["count"] == len(matrix)
    # What the fork-safe reporter needs is in the merge job's artifact, and only there.
    context = json.loads((artifacts / "emscripten-python-results" / "github-context.json").read_text())
    assert context["name"] == "emscripten-python / wasm32-emscripten"
    assert "## ❌ Emscripten: failure" in merge.summary and "test_crash_c" in merge.summary
    assert outputs.get("report-status") == "skipped"
    report = yaml.safe_load((ROOT / ".github" / "workflows" / "emscripten-report.yml").read_text())
    assert WORKFLOW["name"] in report[True]["workflow_run"]["workflows"]
    downloads = [s for s in report["jobs"]["report"]["steps"] if s.get("uses", "").startswith("actions/download")]
    assert downloads[0]["with"]["name"] == "emscripten-python-results"
    # Only the merge job's artifact carries that name: the shard and build jobs never report.
    assert [p.name for p in artifacts.iterdir() if p.name == "emscripten-python-results"] == ["emscripten-python-results"]
    assert all(s["with"].get("report") == "none" for job in ("build", "test") for s in _steps(job)
               if s.get("uses", "").startswith(ACTION_USES))
    assert bundle.exists()


def test_shard_inputs_are_checked_before_anything_runs(tmp_path):
    cases = [({"shard": "1"}, "shard and shards go together"),
             ({"shard": "3", "shards": "2", "bundle": "nowhere"}, "is not I/N"),
             ({"shard": "1", "shards": "2"}, "needs bundle"),
             ({"bundle": "nowhere"}, "is not a bundle"),
             ({"merge-from": "nothing-here"}, "no results.json under")]
    for index, (inputs, message) in enumerate(cases):
        machine = tmp_path / str(index)
        machine.mkdir()
        runner = Runner(machine, inputs, {})
        done = runner.step("prepare")
        assert done.returncode == 2, (inputs, done.stdout)
        assert message in done.stdout, (inputs, done.stdout)


def _bundle_holding(path: Path, results: bytes | None) -> Path:
    import io
    import tarfile
    with tarfile.open(path, "w:gz") as archive:
        if results is not None:
            info = tarfile.TarInfo("results.json")
            info.size = len(results)
            archive.addfile(info, io.BytesIO(results))
    return path


def test_a_bundle_whose_results_json_is_refused_stops_prepare(tmp_path):
    # A shard job reads the bundle's results.json (the node its tree asked for) in prepare: the
    # bundle is the build job's artifact, which a PR's code made, so it is read through the
    # shared checks, and a bad one is one input error (exit 2), not a silent default Node.
    cases = [(b'{"schema_version": 2, "node": {"wanted": NaN}}', "NaN is not valid JSON"),
             (b"[" * 10_000, "nests 10,000 levels deep"),
             (b'{"schema_version": 2, "node": []}', "is not valid"),
             (b"\xff", "is not UTF-8"),
             (None, "holds no results.json")]
    for index, (results, message) in enumerate(cases):
        machine = tmp_path / str(index)
        machine.mkdir()
        runner = Runner(machine, {"shard": "1", "shards": "2", "bundle": "emscripten-python-x.tar.gz"}, {})
        _bundle_holding(runner.workspace / "emscripten-python-x.tar.gz", results)
        done = runner.step("prepare")
        assert done.returncode == 2, (results, done.stdout)
        assert "bundle: " in done.stdout and message in done.stdout, (results, done.stdout)
        assert "Traceback" not in done.stdout + done.stderr
