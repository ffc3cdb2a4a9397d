"""The comparison as Markdown: the delta first, everything known folded into <details>.

Every test name, file name, branch and message here comes from a results.json that a fork
may have written, so each one goes through `code` or `text` before it reaches Markdown.
"""

from __future__ import annotations

import re

from .compare import CASE_STATES, FILE_STATES, Change, Comparison
from .untrusted import code_span as code

MAX_ITEMS = 50           # per list; the rest is counted, and is in results.json
MAX_DETAIL = 200
# A state of ours (compare.py) is shown plain; anything else in code. Escaping is not
# enough: GitHub links #N, GH-N, SHAs, www. and :emoji: in text even after a backslash.
STATES = frozenset({*FILE_STATES.values(), *CASE_STATES.values(), "absent", "not-run", "unknown"})
# The only issue links kept as links: plainly a GitHub issue or pull request.
ISSUE_URL = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/(?:issues|pull)/[0-9]+\Z")

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


def _item(change: Change) -> str:
    implied = change.level == "file" or change.test.startswith((f"{change.file}.", f"test.{change.file}."))
    where = "" if implied else f" in {code(change.file)}"
    line = f"- {code(change.test)}{where} · {_state(change.base)} → {_state(change.head)}"
    if change.detail:
        line += f": {code(change.detail, MAX_DETAIL)}"
    if change.reason:
        line += f" — {code(change.reason, MAX_DETAIL)}"
    if isinstance(change.issue, str) and ISSUE_URL.match(change.issue):
        line += f" ([issue]({change.issue}))"
    elif change.issue:
        line += f" (issue {code(change.issue, MAX_DETAIL)})"
    return line


def _state(value) -> str:
    return value if value in STATES else code(value, 20)


def _items(changes: list[Change]) -> list[str]:
    lines = [_item(c) for c in changes[:MAX_ITEMS]]
    if len(changes) > MAX_ITEMS:
        lines.append(f"- … and {len(changes) - MAX_ITEMS} more (results.json has them all)")
    return lines


def render_verdict(comparison: Comparison) -> str:
    """The verdict line, in code as a whole: it names a branch and a commit, and a comparison
    read back from a results.json is as untrusted as the rest of that file."""
    return code(comparison.verdict, 400)


def render_comparison(comparison: Comparison, *, heading: str = "###") -> str:
    if comparison.runtime:      # a further runtime's own comparison (results.json `runtimes`)
        lines = [f"{heading} Under {code(comparison.runtime, 60)}: {render_verdict(comparison)}", ""]
    else:
        lines = [f"{heading} Δ {render_verdict(comparison)}", ""]
    for kind, title in SECTIONS:
        found = comparison.of(kind)
        if found:
            lines += [f"**{title} ({len(found)})**", "", *_items(found), ""]
    if comparison.renamed:
        renames = ", ".join(f"{code(r['from'])} → {code(r['to'])}" for r in comparison.renamed[:MAX_ITEMS])
        lines += [f"Renamed files: {renames}", ""]
    for kinds, title in FOLDED:
        found = comparison.of(*kinds)
        if found:
            title = title.format(s="" if len(found) == 1 else "s")
            lines += [f"<details><summary>{len(found)} {title}</summary>", "", *_items(found), "", "</details>", ""]
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
        lines += [render_comparison(further, heading=heading + "#"), ""]
    return "\n".join(lines)


def fold_under_delta(comparison: dict, body: list[str]) -> list[str]:
    """A report's lines led by the delta, the full results folded below it."""
    try:
        delta = render_comparison(Comparison.from_dict(comparison))
    except Exception:     # noqa: BLE001 - a malformed section (a fork's file) must not stop the report
        delta = "### Δ the comparison in results.json could not be read"
    return [delta, "", "<details><summary>All results</summary>", "", *body, "</details>", ""]
