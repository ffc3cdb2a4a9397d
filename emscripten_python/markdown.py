"""The Markdown summary of a run (GitHub step summary, PR comment body, Buildbot log)."""

from __future__ import annotations

from .compare_markdown import fold_under_delta
from .pythoninfo_markdown import pythoninfo_markdown
from .results import BAD_FILE_OUTCOMES, Run
from .runtimes import runtime_label

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
    lead = len(lines)
    several = bool(run.runtimes)      # one row per runtime, side by side
    if run.all_test_files():
        lines += [
            ("| runtime " if several else "")
            + "| files | passed | failed | crashed | timed out | flaky | skipped | resource denied |",
            ("|---" if several else "") + "|---|---|---|---|---|---|---|---|",
        ]
        for part in counts["by_runtime"] if several else [counts]:
            row = part["files"]
            lines.append((f"| {runtime_label(part['runtime'])} " if several else "")
                         + f"| {row['total']} | {row['passed']} | {row['failed'] + row['env-changed']} | "
                         f"{row['crashed']} | {row['timed-out']} | {row['flaky']} | {row['skipped']} | "
                         f"{row['resource-denied']} |")
        lines += [
            "",
            f"Test cases: {tests['run']} run, {tests['failures']} failed, {tests['skipped']} skipped.",
            "",
        ]
    for section in run.runtimes:
        if section.get("error"):
            lines += [f"> **Error ({runtime_label(section.get('runtime'))}):** {section['error']}", ""]
    for error in run.errors:
        lines += [f"> **Error:** {error}", ""]
    labelled = [(f" under {runtime_label(section.get('runtime'))}" if several else "", test_file)
                for section in run.sections for test_file in section.get("files", [])]
    crashed = [(under, f) for under, f in labelled if f.outcome in ("crashed", "timed-out")]
    if crashed:
        lines += ["### Runtime crashes and timeouts", ""]
        for under, test_file in crashed:
            lines += [f"- **{test_file.name}** {test_file.outcome}{under}", "", "```",
                      (test_file.crash or test_file.log_excerpt or "").strip()[:2000], "```", ""]
    failed = [(under, f) for under, f in labelled if f.outcome in BAD_FILE_OUTCOMES - {"crashed", "timed-out"}]
    if failed:
        lines += ["### Failed test files", ""]
        for under, test_file in failed:
            bad = [c for c in test_file.cases if c.outcome in ("failed", "error", "unexpected-success")]
            lines.append(f"<details><summary><b>{test_file.name}</b> {test_file.outcome}{under}: "
                         f"{len(bad)} failing test(s)</summary>\n")
            for case in bad:
                trace = "\n".join((case.traceback or case.message or "").splitlines()[-MAX_TRACEBACK_LINES:])
                lines += [f"`{case.name}`", "", "```", trace, "```", ""]
            if not bad and test_file.log_excerpt:
                lines += ["```", test_file.log_excerpt, "```", ""]
            lines += ["</details>", ""]
    flaky = [f"{f.name}{under}" for under, f in labelled if f.outcome == "flaky"]
    if flaky:
        lines += ["### Flaky (failed, then passed on re-run)", "", ", ".join(flaky), ""]
    if run.stages:
        lines += ["### Stages", "", "| stage | status | time |", "|---|---|---|"]
        lines += [f"| {s.name} | {s.status} | {s.duration:.1f} s |" for s in run.stages]
        lines.append("")
    lines += pythoninfo_markdown(run)
    if run.comparison:      # what changed since the baseline first; the rest folded (compare_markdown.py)
        lines[lead:] = fold_under_delta(run.comparison, lines[lead:])
    return "\n".join(lines)
