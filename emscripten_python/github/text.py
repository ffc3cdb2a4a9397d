"""Cutting Markdown to GitHub's size limits without leaving it broken."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*```")


def _closing(in_fence: bool, open_details: int) -> list[str]:
    return ["```"] * in_fence + ["</details>"] * max(0, open_details)


def truncate_markdown(text: str, limit: int, details_url: str | None = None) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest prefix of whole lines
    that fits together with the closing of any open code block or <details> and a note
    saying how much was left out and where the rest is."""
    if len(text) <= limit:
        return text
    where = f"; full results: {details_url}" if details_url else "; full results are in results.json"
    # The note's number has at most as many digits as len(text): reserve that much.
    reserve = len(f"\n\n**Truncated:** {len(text):,} more characters{where}")
    kept: list[str] = []
    size = 0
    in_fence, open_details = False, 0
    for line in text.splitlines():
        fence = in_fence ^ bool(_FENCE.match(line))
        details = open_details + line.count("<details>") - line.count("</details>")
        closing = "\n".join(_closing(fence, details))
        if size + len(line) + 1 + len(closing) + reserve > limit:
            break
        kept.append(line)
        size += len(line) + 1
        in_fence, open_details = fence, details
    note = f"**Truncated:** {len(text) - size:,} more characters{where}"
    return "\n".join(kept + _closing(in_fence, open_details) + ["", note])
