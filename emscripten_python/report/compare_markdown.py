"""The comparison as Markdown: the delta first, everything known folded into <details>.

Every test name, file name, branch and message here comes from a results.json that a fork
may have written, so each one goes through `code` or `text` before it reaches Markdown.
"""

from __future__ import annotations

import re

from ..results.compare import CASE_STATES, FILE_STATES, Change, Comparison
from ..untrusted import code_span as code

MAX_ITEMS = 50           # per list; the rest is counted, and is in results.json
MAX_DETAIL = 200
# A state of ours (compare.py) is shown plain; anything else in code. Escaping is not
# enough: GitHub links #N, GH-N, SHAs, www. and :emoji: in text even after a backslash.
STATES = frozenset({*FILE_STATES.values(), *CASE_STATES.values(), "absent", "not-run", "unknown"})
# An issue or pull request URL, whose repository is compared with the trusted one.
ISSUE_URL = re.compile(r"(?P<repo>https?://[^\s/]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/(?:issues|pull)/(?P<number>[1-9][0-9]{0,9})\Z")

SECTIONS = (
    ("new-crash", "New crashes"),
    ("new-failure", "New failures"),
    ("unexpectedly-passing", "Unexpectedly passing (listed as expected to fail)"),
    ("newly-flaky", "Newly flaky (failed, then passed on re-run)"),
    ("newly-skipped", "Newly skipped"),
    ("fixed", "Fixed"),
)
FOLDED = (
    (("still-failing", "still-crashing"), "known failure{s} unchanged"),
    (("expected-failure",), "expected failure{s} (expectations file)"),
    (("added",), "added test{s}"),
    (("removed",), "removed test{s}"),
)


def issue_link(issue: object, repo_url: str | None) -> str | None:
    """The link for an expectation's issue, only when it is an issue or pull request of
    ``repo_url``, the repository the trusted caller reports to. The issue comes from a
    results.json or an expectations file a PR can change, and a link from the bot's comment
    to any issue makes GitHub record a cross-reference there; so anything else is shown as
    code. The link is rebuilt from ``repo_url`` and the number, never copied."""
    match = ISSUE_URL.match(issue) if isinstance(issue, str) and repo_url else None
    if match is None or match["repo"].lower() != repo_url.rstrip("/").lower():
        return None
    return f"{repo_url.rstrip('/')}/issues/{int(match['number'])}"


def _item(change: Change, repo_url: str | None = None) -> str:
    implied = change.level == "file" or change.test.startswith((f"{change.file}.", f"test.{change.file}."))
    where = "" if implied else f" in {code(change.file)}"
    line = f"- {code(change.test)}{where} · {_state(change.base)} → {_state(change.head)}"
    if change.detail:
        line += f": {code(change.detail, MAX_DETAIL)}"
    if change.reason:
        line += f" — {code(change.reason, MAX_DETAIL)}"
    link = issue_link(change.issue, repo_url)
    if link:
        line += f" ([issue]({link}))"
    elif change.issue:
        line += f" (issue {code(change.issue, MAX_DETAIL)})"
    return line


def _state(value) -> str:
    return value if value in STATES else code(value, 20)


def _items(changes: list[Change], repo_url: str | None) -> list[str]:
    lines = [_item(c, repo_url) for c in changes[:MAX_ITEMS]]
    if len(changes) > MAX_ITEMS:
        lines.append(f"- … and {len(changes) - MAX_ITEMS} more (results.json has them all)")
    return lines


def render_verdict(comparison: Comparison) -> str:
    """The verdict line, in code as a whole: it names a branch and a commit, and a comparison
    read back from a results.json is as untrusted as the rest of that file."""
    return code(comparison.verdict, 400)


def render_comparison(comparison: Comparison, *, heading: str = "###", repo_url: str | None = None) -> str:
    if comparison.runtime:      # a further runtime's own comparison (results.json `runtimes`)
        lines = [f"{heading} Under {code(comparison.runtime, 60)}: {render_verdict(comparison)}", ""]
    else:
        lines = [f"{heading} Δ {render_verdict(comparison)}", ""]
    for kind, title in SECTIONS:
        found = comparison.of(kind)
        if found:
            lines += [f"**{title} ({len(found)})**", "", *_items(found, repo_url), ""]
    if comparison.renamed:
        renames = ", ".join(f"{code(r['from'])} → {code(r['to'])}" for r in comparison.renamed[:MAX_ITEMS])
        lines += [f"Renamed files: {renames}", ""]
    for kinds, title in FOLDED:
        found = comparison.of(*kinds)
        if found:
            title = title.format(s="" if len(found) == 1 else "s")
            lines += [f"<details><summary>{len(found)} {title}</summary>", "", *_items(found, repo_url), "", "</details>", ""]
    rows = [d for d in comparison.durations if d.get("base") is not None]
    if rows:
        lines += ["<details><summary>Slowest files: time vs base</summary>", "",
                  "| file | base | head | change |", "|---|---|---|---|"]
        for row in rows:
            change = row["change"]
            ratio = f" ({change / row['base'] * 100:+.0f}%)" if row["base"] else ""
            lines.append(f"| {code(row['file'], table=True)} | {row['base']:.1f} s | {row['head']:.1f} s | "
                         f"{change:+.1f} s{ratio} |")
        lines += ["", "</details>", ""]
    expectations = comparison.expectations
    if expectations and expectations.get("not_seen") and not comparison.runtime:
        patterns = ", ".join(code(p) for p in expectations["not_seen"][:MAX_ITEMS])
        lines += [f"Expected failures not seen in this run: {patterns}", ""]
    for further in comparison.runtimes:
        lines += [render_comparison(further, heading=heading + "#", repo_url=repo_url), ""]
    return "\n".join(lines)


def fold_under_delta(comparison: dict, body: list[str], repo_url: str | None = None) -> list[str]:
    """A report's lines led by the delta, the full results folded below it."""
    try:
        delta = render_comparison(Comparison.from_dict(comparison), repo_url=repo_url)
    except Exception:     # noqa: BLE001 - a malformed section (a fork's file) must not stop the report
        delta = "### Δ the comparison in results.json could not be read"
    return [delta, "", "<details><summary>All results</summary>", "", *body, "</details>", ""]
