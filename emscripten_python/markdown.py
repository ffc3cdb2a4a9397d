"""The Markdown summary of a run (GitHub step summary, PR comment body, Buildbot log)."""

from __future__ import annotations

from .results import BAD_FILE_OUTCOMES, Run

ICONS = {"success": "✅", "failure": "❌", "warnings": "⚠️", "error": "💥", "pending": "⏳"}
MAX_TRACEBACK_LINES = 30


def _versions(run: Run) -> str:
    source, toolchain, node = run.source, run.toolchain, run.node
    parts = [f"CPython {source.get('cpython_version', '?')} ({source.get('era', '?')})"]
    if source.get("commit"):
        parts.append(f"commit `{source['commit'][:12]}`")
    if toolchain.get("emcc_version"):
        if toolchain.get("minimum_version"):
            wanted = f">= {toolchain['minimum_version']}"
        else:
            wanted = toolchain.get("pinned_version")
        match = "" if toolchain.get("matches_pin", True) else f" ⚠️ pinned {wanted}"
        parts.append(f"emcc {toolchain['emcc_version']} ({toolchain.get('kind', '?')}){match}")
    if node.get("version"):
        parts.append(f"node {node['version']}")
    return " · ".join(parts)


def render_markdown(run: Run) -> str:
    counts = run.counts()
    files, tests = counts["files"], counts["tests"]
    lines = [f"## {ICONS.get(run.outcome, '')} Emscripten: {run.outcome}", "", _versions(run), ""]
    if run.test_files:
        lines += [
            "| files | passed | failed | crashed | timed out | flaky | skipped | resource denied |",
            "|---|---|---|---|---|---|---|---|",
            f"| {files['total']} | {files['passed']} | {files['failed'] + files['env-changed']} | "
            f"{files['crashed']} | {files['timed-out']} | {files['flaky']} | {files['skipped']} | "
            f"{files['resource-denied']} |",
            "",
            f"Test cases: {tests['run']} run, {tests['failures']} failed, {tests['skipped']} skipped.",
            "",
        ]
    for error in run.errors:
        lines += [f"> **Error:** {error}", ""]
    crashed = [f for f in run.test_files if f.outcome in ("crashed", "timed-out")]
    if crashed:
        lines += ["### Runtime crashes and timeouts", ""]
        for test_file in crashed:
            lines += [f"- **{test_file.name}** {test_file.outcome}", "", "```",
                      (test_file.crash or test_file.log_excerpt or "").strip()[:2000], "```", ""]
    failed = [f for f in run.test_files if f.outcome in BAD_FILE_OUTCOMES - {"crashed", "timed-out"}]
    if failed:
        lines += ["### Failed test files", ""]
        for test_file in failed:
            bad = [c for c in test_file.cases if c.outcome in ("failed", "error", "unexpected-success")]
            lines.append(f"<details><summary><b>{test_file.name}</b> {test_file.outcome}: "
                         f"{len(bad)} failing test(s)</summary>\n")
            for case in bad:
                trace = "\n".join((case.traceback or case.message or "").splitlines()[-MAX_TRACEBACK_LINES:])
                lines += [f"`{case.name}`", "", "```", trace, "```", ""]
            if not bad and test_file.log_excerpt:
                lines += ["```", test_file.log_excerpt, "```", ""]
            lines += ["</details>", ""]
    flaky = [f.name for f in run.test_files if f.outcome == "flaky"]
    if flaky:
        lines += ["### Flaky (failed, then passed on re-run)", "", ", ".join(flaky), ""]
    if run.stages:
        lines += ["### Stages", "", "| stage | status | time |", "|---|---|---|"]
        lines += [f"| {s.name} | {s.status} | {s.duration:.1f} s |" for s in run.stages]
        lines.append("")
    return "\n".join(lines)
