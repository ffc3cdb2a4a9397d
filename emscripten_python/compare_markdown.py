"""The comparison as Markdown: the delta first, everything known folded into <details>.

Every test name, file name, branch and message here comes from a results.json that a fork
may have written, so each one goes through `code` or `text` before it reaches Markdown.
"""

from __future__ import annotations

import re

from .compare import Change, Comparison, base_label

MAX_ITEMS = 50           # per list; the rest is counted, and is in results.json
MAX_NAME = 300
MAX_DETAIL = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&\"'=:])")

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


def _flat(value: str, limit: int) -> str:
    value = _CONTROL.sub(" ", value).strip()
    return value if len(value) <= limit else value[:limit - 1] + "…"


def code(value: str, limit: int = MAX_NAME) -> str:
    """An untrusted string as one inline code span: no Markdown, HTML, mention or link inside
    it is interpreted, and it cannot end the span early, span lines or split a table cell."""
    value = _flat(value, limit).replace("|", "¦")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def text(value: str, limit: int = MAX_DETAIL) -> str:
    """An untrusted string as plain text: punctuation escaped, no mention, no HTML."""
    value = _PUNCT.sub(r"\\\1", _flat(value, limit))
    return value.replace("@", "@\u2060")


def _item(change: Change) -> str:
    implied = change.level == "file" or change.test.startswith((f"{change.file}.", f"test.{change.file}."))
    where = "" if implied else f" in {code(change.file)}"
    line = f"- {code(change.test)}{where} · {change.base} → {change.head}"
    if change.detail:
        line += f": {code(change.detail, MAX_DETAIL)}"
    if change.reason:
        line += f" — {text(change.reason)}"
    if change.issue and change.issue.startswith(("https://", "http://")) and not re.search(r"[\s()<>]", change.issue):
        line += f" ([issue]({change.issue}))"
    return line


def _items(changes: list[Change]) -> list[str]:
    lines = [_item(c) for c in changes[:MAX_ITEMS]]
    if len(changes) > MAX_ITEMS:
        lines.append(f"- … and {len(changes) - MAX_ITEMS} more (results.json has them all)")
    return lines


def render_verdict(comparison: Comparison) -> str:
    """The verdict line with the base's name made safe (the verdict text itself is ours)."""
    label = base_label(comparison.base)
    safe = comparison.verdict.replace(f"vs {label}", f"vs {code(label, 80)}", 1) if comparison.base else comparison.verdict
    if comparison.base is None and comparison.baseline_missing:
        safe = safe.replace(f"(no baseline: {comparison.baseline_missing})",
                            f"(no baseline: {text(comparison.baseline_missing)})")
    return safe


def render_comparison(comparison: Comparison, *, heading: str = "###") -> str:
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
            lines.append(f"| {code(row['file'])} | {row['base']:.1f} s | {row['head']:.1f} s | "
                         f"{change:+.1f} s{ratio} |")
        lines += ["", "</details>", ""]
    expectations = comparison.expectations
    if expectations and expectations.get("not_seen"):
        patterns = ", ".join(code(p) for p in expectations["not_seen"][:MAX_ITEMS])
        lines += [f"Expected failures not seen in this run: {patterns}", ""]
    return "\n".join(lines)
