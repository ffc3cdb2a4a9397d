"""The logic of the composite action's ``run:`` steps (actions/emscripten-python/action.yml).

``python -m emscripten_python.github.action prepare|run|report``. Inputs arrive as
``INPUT_<NAME>`` environment variables set by the action's ``env:`` blocks (never spliced
into a script, so a crafted input cannot inject shell); results leave through the files
Actions gives every step: $GITHUB_OUTPUT, $GITHUB_ENV and $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from ..errors import EmscriptenPythonError
from ..markdown import render_markdown
from ..results import BAD_FILE_OUTCOMES, Run
from ..source import inspect_tree
from .text import truncate_markdown

MAX_STEP_SUMMARY = 1024 * 1024 - 1024   # the runner refuses a step summary over 1 MiB
MAX_ANNOTATIONS = 10                     # Actions shows 10 errors and 10 warnings per step
CONTEXT_FILE = "github-context.json"


def _input(name: str, default: str = "") -> str:
    return os.environ.get("INPUT_" + name.upper().replace("-", "_"), "").strip() or default


def _append(variable: str, text: str) -> None:
    with open(os.environ[variable], "a", encoding="utf-8") as handle:
        handle.write(text)


def set_output(name: str, value: object, variable: str = "GITHUB_OUTPUT") -> None:
    value = str(value)
    if "\n" in value:
        delimiter = f"EOF_{uuid.uuid4().hex}"   # cannot occur in the value
        _append(variable, f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    else:
        _append(variable, f"{name}={value}\n")


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotate(kind: str, message: str, title: str | None = None) -> None:
    head = f"::{kind} title={_escape(title, prop=True)}::" if title else f"::{kind}::"
    print(head + _escape(message), flush=True)


def _runner_temp() -> Path:
    return Path(os.environ.get("RUNNER_TEMP") or "/tmp") / "emscripten-python"


def _emscripten_version(source: str) -> str:
    """The version the cache key names: the override, else what the checkout pins."""
    override = _input("emscripten-version")
    if override:
        return override
    path = Path(os.environ.get("GITHUB_WORKSPACE", ".")) / source
    if path.is_dir():
        try:
            pin = inspect_tree(path).pin
        except EmscriptenPythonError as exc:
            annotate("warning", f"cannot read the Emscripten pin of {source}: {exc}")
        else:
            return pin.version or pin.minimum or "unpinned"
    return "unpinned"


def _artifact_name(name: str) -> str:
    """Unique per job, matrix leg and attempt: upload-artifact refuses a name twice in a run."""
    explicit = _input("artifact-name")
    if explicit:
        return explicit
    leg = "|".join([name, _input("source", "."), _input("tests", "smoke"), _input("emscripten-version"),
                    _input("node-version"), os.environ.get("RUNNER_OS", ""), os.environ.get("RUNNER_ARCH", "")])
    digest = hashlib.sha256(leg.encode()).hexdigest()[:8]
    return (f"emscripten-python-{os.environ.get('GITHUB_JOB', 'job')}-{digest}"
            f"-{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}")


def _name() -> str:
    return _input("name") or f"emscripten-python / {os.environ.get('GITHUB_JOB', 'job')}"


def prepare() -> int:
    name = _name()
    artifact = _artifact_name(name)
    results_from = _input("results-from")
    out = Path(results_from) if results_from else _runner_temp() / artifact
    cache_dir = _runner_temp() / "cache"
    version = _emscripten_version(_input("source", "."))
    for key, value in {
        "out": out, "cache-dir": cache_dir, "emscripten-version": version, "artifact-name": artifact,
        "cache-key": f"emscripten-python-{version}-{os.environ.get('RUNNER_OS', 'os')}-"
                     f"{os.environ.get('RUNNER_ARCH', 'arch')}",
        "name": name,
    }.items():
        set_output(key, value)
    set_output("EMSCRIPTEN_PYTHON_CACHE", cache_dir, "GITHUB_ENV")
    return 0


def _details_url() -> str | None:
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run_id}" if server and repo and run_id else None


def publish(out: Path, exit_code: int) -> None:
    """Outputs, the step summary and annotations for the results in ``out``."""
    set_output("results-path", out / "results.json")
    try:
        run = Run.load(out / "results.json")
    except EmscriptenPythonError as exc:
        set_output("result", "error")
        set_output("exit-code", exit_code or exc.exit_code)
        set_output("counts", "{}")
        _append("GITHUB_STEP_SUMMARY", f"## 💥 Emscripten: no results\n\n{exc}\n")
        annotate("error", f"emscripten-python produced no results: {exc}", "emscripten-python")
        return
    counts = run.counts()
    files = counts["files"]
    for key, value in {
        "result": run.outcome, "exit-code": exit_code, "counts": json.dumps(counts, separators=(",", ":")),
        "files-total": files["total"], "files-failed": sum(files[k] for k in BAD_FILE_OUTCOMES),
        "tests-run": counts["tests"]["run"], "tests-failed": counts["tests"]["failures"],
    }.items():
        set_output(key, value)
    _append("GITHUB_STEP_SUMMARY", truncate_markdown(render_markdown(run), MAX_STEP_SUMMARY, _details_url()) + "\n")
    for error in run.errors[:MAX_ANNOTATIONS]:
        annotate("error", error, "emscripten-python")
    bad = [f for f in run.test_files if f.outcome in BAD_FILE_OUTCOMES]
    for test_file in bad[:MAX_ANNOTATIONS]:
        cases = [c.name for c in test_file.cases if c.outcome in ("failed", "error", "unexpected-success")]
        detail = ", ".join(cases[:5]) + (f" and {len(cases) - 5} more" if len(cases) > 5 else "")
        annotate("error", detail or (test_file.crash or test_file.log_excerpt or "")[:500] or test_file.outcome,
                 f"{test_file.name} {test_file.outcome}")
    if len(bad) > MAX_ANNOTATIONS:
        annotate("error", f"{len(bad) - MAX_ANNOTATIONS} more failing test files: see the job summary")
    flaky = [f.name for f in run.test_files if f.outcome == "flaky"]
    if flaky:
        annotate("warning", ", ".join(flaky), f"{len(flaky)} flaky test file(s)")


def _cli(*args: str, env: dict | None = None) -> int:
    return subprocess.call([sys.executable, "-m", "emscripten_python.cli", *args], env=env)


def run() -> int:
    out = Path(os.environ["EP_OUT"])
    emscripten = _input("emscripten-version")
    argv = ["run", "--source", _input("source", "."), "--out", str(out),
            "--toolchain", f"emsdk:{emscripten}" if emscripten else "emsdk",
            "--tests", _input("tests", "smoke"), "--cache-dir", os.environ["EP_CACHE_DIR"],
            "--origin", "github-actions", "--builder", _name()]
    if _input("jobs"):
        argv += ["--jobs", _input("jobs")]
    if _details_url():
        argv += ["--build-url", _details_url()]
    print(f"::group::emscripten-python {' '.join(argv)}", flush=True)
    exit_code = _cli(*argv)
    print("::endgroup::", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    # For the fork-safe reporter (docs/fork-safe.rst): untrusted there, checked against the
    # workflow_run's own head SHA before anything is posted.
    pr = _input("pr")
    (out / CONTEXT_FILE).write_text(json.dumps({"pr": int(pr) if pr.isdigit() else None,
                                                "sha": _input("sha") or None, "name": _name()}) + "\n")
    publish(out, exit_code)
    return exit_code


def report() -> int:
    """Post to GitHub if asked. A failed delivery is a warning: it never fails the build."""
    out = Path(os.environ["EP_OUT"])
    if _input("results-from"):
        publish(out, 0)
    mode = _input("report", "summary")
    if mode != "github":
        set_output("report-status", "skipped")
        return 0
    env = {**os.environ, "EMSCRIPTEN_PYTHON_TOKEN": _input("github-token")}
    argv = ["report", "--out", str(out), "--github", "--name", _name()]
    pr_from = _input("pr-from")
    if pr_from:
        argv += ["--pr-from", pr_from]
    elif _input("pr").isdigit():
        argv += ["--pr", _input("pr")]
    for flag, value in (("--sha", _input("sha")), ("--details-url", _details_url())):
        if value:
            argv += [flag, value]
    exit_code = _cli(*argv, "--token-env", "EMSCRIPTEN_PYTHON_TOKEN", env=env)
    if exit_code == 0:
        set_output("report-status", "delivered")
    else:
        set_output("report-status", "failed")
        annotate("warning", f"the GitHub report was not delivered (exit {exit_code}); the results are "
                            f"in the job summary and the artifact", "emscripten-python report")
    return 0


def main(argv: list[str] | None = None) -> int:
    steps = {"prepare": prepare, "run": run, "report": report}
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in steps:
        print(f"usage: python -m emscripten_python.github.action {{{','.join(steps)}}}", file=sys.stderr)
        return 2
    return steps[args[0]]()


if __name__ == "__main__":
    sys.exit(main())
