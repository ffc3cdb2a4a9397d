"""What a finished run means to Buildbot: properties, a one-line description, a result.

Pure functions of the result model, so the policy is tested without a build.
"""

from __future__ import annotations

from buildbot.process.results import CANCELLED, FAILURE, SUCCESS, WARNINGS

from ..results.compare import NEW_KINDS, policy_outcome
from ..results.model import Run
from ..testing.runtimes import runtime_label

# "warnings": every file that failed passed when re-run (CPython's exit code 5 convention).
OUTCOME_RESULTS = {"success": SUCCESS, "warnings": WARNINGS, "failure": FAILURE, "error": FAILURE,
                   "cancelled": CANCELLED}


def version_properties(run: Run) -> dict:
    """What the toolchain stage learnt; set as soon as it is known, even if the build fails later."""
    found = {
        "cpython_version": run.source.get("cpython_version"),
        "emscripten_era": run.source.get("era"),
        "emcc_version": run.toolchain.get("emcc_version"),
        "emcc_matches_pin": run.toolchain.get("matches_pin"),
        "node_version": run.node.get("version"),
    }
    return {name: value for name, value in found.items() if value is not None}


def file_counts(run: Run) -> dict:
    return _reduced(run.counts()["files"])


def _reduced(files: dict) -> dict:
    return {
        "total": files["total"],
        "passed": files["passed"],
        "failed": files["failed"] + files["env-changed"],
        "crashed": files["crashed"],
        "timed out": files["timed-out"],
        "flaky": files["flaky"],
        "skipped": files["skipped"] + files["resource-denied"] + files["no-tests"],
    }


def test_properties(run: Run) -> dict:
    files, tests = file_counts(run), run.counts()["tests"]

    def named(*outcomes):
        return [f.name for f in run.test_files if f.outcome in outcomes]

    return {
        **version_properties(run),
        "emscripten_outcome": run.outcome,
        "emscripten_run_id": run.run_id,
        **{f"test_files_{key.replace(' ', '_')}": value for key, value in files.items()},
        "tests_run": tests["run"],
        "test_failures": tests["failures"],
        "tests_skipped": tests["skipped"],
        "failed_tests": named("failed", "env-changed"),
        "crashed_tests": named("crashed", "timed-out"),
        "flaky_tests": named("flaky"),
        # One entry per runtime (primary first) when the build was tested under several.
        **({"runtimes": [{"runtime": runtime_label(part["runtime"]), **_reduced(part["files"])}
                         for part in run.counts()["by_runtime"]]} if run.runtimes else {}),
        **comparison_properties(run),
    }


def comparison_properties(run: Run) -> dict:
    """With --baseline: the verdict and the tests that are new failures or crashes."""
    comparison = run.comparison if isinstance(run.comparison, dict) else None
    if not comparison:
        return {}
    def new(part: dict, prefix: str = "") -> list[str]:
        changes = part.get("changes") if isinstance(part.get("changes"), list) else []
        return [prefix + str(c.get("test")) for c in changes if isinstance(c, dict) and c.get("kind") in NEW_KINDS]

    names = new(comparison)
    for further in comparison.get("runtimes") or []:      # "node 24: test.test_x.T.test_y"
        if isinstance(further, dict):
            names += new(further, f"{further.get('runtime')}: ")
    return {"comparison_verdict": str(comparison.get("verdict", "")), "new_failures": names[:200]}


def describe(run: Run) -> str:
    """'312 passed, 9 failed, 1 crashed': passed always, the rest when there are any."""
    verdict = comparison_properties(run).get("comparison_verdict")
    if run.runtimes:    # side by side: 'node 20.19.2: 6 passed; node 24.22.3: 5 passed, 1 crashed; ...'
        return f"{verdict}; " * bool(verdict) + "; ".join(
            f"{runtime_label(part['runtime'])}: {_describe(_reduced(part['files']))}"
            for part in run.counts()["by_runtime"])
    return f"{verdict}; " * bool(verdict) + _describe(file_counts(run))


def _describe(files: dict) -> str:
    parts = [f"{files['passed']} passed"]
    parts += [f"{files[key]} {key}" for key in ("failed", "crashed", "timed out", "flaky", "skipped") if files[key]]
    return ", ".join(parts)


def result_of(run: Run) -> int:
    if run.outcome == "cancelled":
        return CANCELLED
    if not run.test_files:
        return FAILURE      # never report "0 tests, success"
    return OUTCOME_RESULTS.get(policy_outcome(run), FAILURE)   # --fail-on via the comparison
