"""Insight and rows as JSON-ready dicts, for the API and the static export."""

from __future__ import annotations

from datetime import datetime

from .insight import Flaky, Health
from .models import RunRow


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") + "Z" if when else None


def _run_summary(row) -> dict:
    return {"run_id": row.run_id, "created": _iso(row.created), "outcome": row.outcome,
            "duration": row.duration, "commit": row.commit, "pr": row.pr,
            "files_bad": row.files_bad, "files_crashed": row.files_crashed, "files_flaky": row.files_flaky,
            "runtimes": row.runtimes or []}


def health_json(h: Health, runs: bool = False) -> dict:
    data = {"branch": h.branch, "builder": h.builder, "state": h.state, "streak": h.streak,
            "last_run": _run_summary(h.last) if h.last else None, "last_green": _iso(h.last_green),
            "pass_rate": h.pass_rate, "duration_trend": h.duration_trend, "stable": h.stable,
            "by_runtime": [{"runtime": rt.slug, "label": rt.label, "state": rt.state, "pass_rate": rt.pass_rate,
                            "last": rt.last} for rt in h.by_runtime]}
    if runs:
        data["runs"] = [_run_summary(r) for r in h.runs]
    return data


def flaky_json(f: Flaky) -> dict:
    return {"test": f.name, "branch": f.branch, "builder": f.builder, "runs": f.runs,
            "rerun_flakes": f.rerun_flakes, "failures": f.failures, "flips": f.flips,
            "alternating": f.alternating, "flake_rate": f.flake_rate,
            "first_seen": _iso(f.first_seen), "last_seen": _iso(f.last_seen)}


def pr_json(number: int, branch: str, runs: list) -> dict:
    return {"pr": number, "base_branch": branch,
            "runs": [{**_run_summary(r), "builder": r.builder} for r in runs]}


def run_json(row: RunRow) -> dict:
    return {
        **_run_summary(row), "origin": row.origin, "builder": row.builder, "branch": row.branch,
        "base_branch": row.branch if row.pr is not None else None,
        "commit_message": row.commit_message, "build_url": row.build_url,
        "cpython_version": row.cpython_version, "emcc_version": row.emcc_version,
        "node_version": row.node_version, "tests_run": row.tests_run, "files_total": row.files_total,
        "stages": row.stages, "artifacts": row.artifacts, "errors": row.errors,
        "pythoninfo": row.pythoninfo or {},
        "files": [{"name": f.name, "outcome": f.outcome, "duration": f.duration, "tests_run": f.tests_run,
                   "failures": f.failures, "attempts": f.attempts, "crash": f.crash,
                   "cases": [{"name": c.name, "outcome": c.outcome, "message": c.message,
                              "traceback": c.traceback} for c in f.cases]}
                  for f in row.files],
    }
