"""The Markdown summary of a run (GitHub step summary, PR comment body, Buildbot log)."""

from __future__ import annotations

from ..results.model import BAD_FILE_OUTCOMES, FILE_OUTCOMES, Run
from ..testing.runtimes import runtime_label
from ..untrusted import code_block, code_span, html_code
from .compare_markdown import fold_under_delta
from .pythoninfo_markdown import pythoninfo_markdown

# Every value from results.json below goes through code_span / code_block / html_code
# (emscripten_python/untrusted.py): a fork writes that file, and this Markdown is posted by
# a trusted bot (PR comment, check run, job summary).

ICONS = {"success": "✅", "failure": "❌", "warnings": "⚠️", "error": "💥", "pending": "⏳"}
MAX_TRACEBACK_LINES = 30


def _versions(run: Run) -> str:
    source, toolchain, node = run.source, run.toolchain, run.node
    parts = [f"CPython {code_span(source.get('cpython_version', '?'), 40)} ({code_span(source.get('era', '?'), 40)})"]
    if source.get("commit"):
        parts.append(f"commit {code_span(str(source['commit'])[:12])}")
    if toolchain.get("emcc_version"):
        if toolchain.get("minimum_version"):
            wanted = f">= {code_span(toolchain['minimum_version'], 40)}"
        else:
            wanted = code_span(toolchain.get("pinned_version"), 40)
        match = "" if toolchain.get("matches_pin", True) else f" ⚠️ pinned {wanted}"
        parts.append(f"emcc {code_span(toolchain['emcc_version'], 40)} ({code_span(toolchain.get('kind', '?'), 40)}){match}")
    if node.get("version"):
        parts.append(f"node {code_span(node['version'], 40)}")
    return " · ".join(parts)


def _outcome(value: str, quote) -> str:
    """A file outcome: plain when it is one of ours, quoted otherwise."""
    return value if value in FILE_OUTCOMES else quote(value, 40)


def _under(label: str, quote) -> str:
    return f" under {quote(label)}" if label else ""


def _seconds(value) -> str:
    return f"{value:.1f} s" if isinstance(value, (int, float)) and not isinstance(value, bool) else code_span(value, 20, table=True)


def render_markdown(run: Run, *, repo_url: str | None = None) -> str:
    """``repo_url`` (trusted: the repository the report goes to, e.g.
    https://github.com/python/cpython) is the only repository whose issues are linked."""
    counts = run.counts()
    files, tests = counts["files"], counts["tests"]
    outcome = run.outcome if run.outcome in ICONS else code_span(run.outcome, 40)
    lines = [f"## {ICONS.get(run.outcome, '')} Emscripten: {outcome}", "", _versions(run), ""]
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
            lines.append((f"| {code_span(runtime_label(part['runtime']), table=True)} " if several else "")
                         + f"| {row['total']} | {row['passed']} | {row['failed'] + row['env-changed']} | "
                         f"{row['crashed']} | {row['timed-out']} | {row['flaky']} | {row['skipped']} | "
                         f"{row['resource-denied']} |")
        # Expected failures are not failures (unittest's wasSuccessful): named apart, when any.
        expected = tests.get("expected_failures", 0)
        lines += [
            "",
            f"Test cases: {tests['run']} run, {tests['failures']} failed, {tests['skipped']} skipped"
            + (f", {expected} expected failures." if expected else "."),
            "",
        ]
    for section in run.runtimes:
        if section.get("error"):
            lines += [f"> **Error ({code_span(runtime_label(section.get('runtime')))}):** "
                      f"{code_span(section['error'], 1000)}", ""]
    for error in run.errors:
        lines += [f"> **Error:** {code_span(error, 1000)}", ""]
    labelled = [(runtime_label(section.get("runtime")) if several else "", test_file)
                for section in run.sections for test_file in section.get("files", [])]
    crashed = [(under, f) for under, f in labelled if f.outcome in ("crashed", "timed-out")]
    if crashed:
        lines += ["### Runtime crashes and timeouts", ""]
        for under, test_file in crashed:
            lines += [f"- {code_span(test_file.name)} {_outcome(test_file.outcome, code_span)}{_under(under, code_span)}", "",
                      code_block((test_file.crash or test_file.log_excerpt or "").strip()[:2000]), ""]
    failed = [(under, f) for under, f in labelled if f.outcome in BAD_FILE_OUTCOMES - {"crashed", "timed-out"}]
    if failed:
        lines += ["### Failed test files", ""]
        for under, test_file in failed:
            bad = [c for c in test_file.cases if c.outcome in ("failed", "error", "unexpected-success")]
            lines.append(f"<details><summary><b>{html_code(test_file.name)}</b> {_outcome(test_file.outcome, html_code)}"
                         f"{_under(under, html_code)}: {len(bad)} failing test(s)</summary>\n")
            for case in bad:
                trace = "\n".join((case.traceback or case.message or "").splitlines()[-MAX_TRACEBACK_LINES:])
                lines += [code_span(case.name), "", code_block(trace), ""]
            if not bad and test_file.log_excerpt:
                lines += [code_block(test_file.log_excerpt), ""]
            lines += ["</details>", ""]
    flaky = [f"{code_span(f.name)}{_under(under, code_span)}" for under, f in labelled if f.outcome == "flaky"]
    if flaky:
        lines += ["### Flaky (failed, then passed on re-run)", "", ", ".join(flaky), ""]
    if run.stages:
        lines += ["### Stages", "", "| stage | status | time |", "|---|---|---|"]
        lines += [f"| {code_span(s.name, 64, table=True)} | {code_span(s.status, 32, table=True)} | "
                  f"{_seconds(s.duration)} |" for s in run.stages]
        lines.append("")
        lines += _cache_lines(run)
    lines += pythoninfo_markdown(run)
    if run.comparison:      # what changed since the baseline first; the rest folded (compare_markdown.py)
        lines[lead:] = fold_under_delta(run.comparison, lines[lead:], repo_url)
    return "\n".join(lines)


def _cache_lines(run: Run) -> list[str]:
    """What the build's caches did: each configure's config.cache and ccache's hits and misses."""
    carried = [f"{code_span(s.name, 64)} {code_span(s.cache.get('config_cache'), 32)}"
               + (f" ({code_span(s.cache.get('reason'), 200)})" if s.cache.get("config_cache") != "seeded" else "")
               for s in run.stages if isinstance(s.cache, dict)]
    lines = [f"config.cache: {', '.join(carried)}", ""] if carried else []
    compiler = (run.cache or {}).get("ccache")
    if isinstance(compiler, dict):
        hits, misses = compiler.get("hits"), compiler.get("misses")
        if compiler.get("used") and all(isinstance(n, int) and not isinstance(n, bool) for n in (hits, misses)):
            lines += [f"ccache: {hits} hits, {misses} misses", ""]
        elif not compiler.get("used"):
            lines += ["ccache: not installed (every compile runs)", ""]
    return lines
