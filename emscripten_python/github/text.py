"""Cutting Markdown to GitHub's size limits without leaving it broken."""

from __future__ import annotations

import re

# A fence line: up to 3 spaces, then 3 or more backticks (untrusted text is fenced with a
# fence longer than any backtick run inside it, emscripten_python/untrusted.py).
_FENCE = re.compile(r"^ {0,3}(`{3,})")


def _fence_after(fence: str, line: str) -> str:
    """The open fence after ``line`` ("" when outside a code block)."""
    match = _FENCE.match(line)
    if not match:
        return fence
    if not fence:
        return match[1]
    # Only a line of backticks at least as long as the opening fence closes it.
    return "" if len(match[1]) >= len(fence) and not line.strip().strip("`") else fence


def _closing(fence: str, open_details: int) -> list[str]:
    return [fence] * bool(fence) + ["</details>"] * max(0, open_details)


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
    in_fence, open_details = "", 0
    for line in text.splitlines():
        fence = _fence_after(in_fence, line)
        # <details> is only ours outside code blocks; inside, it is quoted text.
        details = open_details if (in_fence or fence) else open_details + line.count("<details>") - line.count("</details>")
        closing = "\n".join(_closing(fence, details))
        if size + len(line) + 1 + len(closing) + reserve > limit:
            break
        kept.append(line)
        size += len(line) + 1
        in_fence, open_details = fence, details
    note = f"**Truncated:** {len(text) - size:,} more characters{where}"
    return "\n".join(kept + _closing(in_fence, open_details) + ["", note])
