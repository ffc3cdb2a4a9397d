"""What GitHub would turn into a link, a mention, a reference or an emoji in rendered Markdown,
written from GitHub's documentation ("Autolinked references and URLs", "Basic writing and
formatting syntax": mentions, emoji; the GFM spec: autolinks extension), not from our renderer.

GitHub renders Markdown to HTML, then links references in the *text* of that HTML, skipping
text inside ``<code>``, ``<pre>`` and ``<a>``. A backslash escape (``\\#123``) only changes the
Markdown source: the text node is still ``#123``, and GitHub links it. So the scan is over text
outside code, after Markdown parsing (markdown-it-py, GitHub-like setup), of both Markdown text
and the text inside raw HTML.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

# GitHub's autolinked references: URLs, www. links and emails (GFM autolink extension),
# @user and @org/team, #N, GH-N, owner/repo#N, user#N, commit SHAs (7-40 hex) alone or as
# user@SHA / owner/repo@SHA, and :emoji: shortcodes.
PATTERNS = {
    "url": re.compile(r"(?i)\b(?:https?|ftp)://[^\s<]+"),
    "www": re.compile(r"(?i)(?<![\w.])www\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+"),
    "email": re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+"),
    "mention": re.compile(r"(?<![A-Za-z0-9_`])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?"),
    "issue": re.compile(r"(?<![\w&/#])#\d+\b"),
    "gh-issue": re.compile(r"(?i)\bGH-\d+\b"),
    "repo-issue": re.compile(r"\b[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?#\d+\b"),
    "sha": re.compile(r"(?<![\w@/])(?:[A-Za-z0-9-]+(?:/[A-Za-z0-9_.-]+)?@)?[0-9a-f]{7,40}(?!\w)"),
    "emoji": re.compile(r"(?<![A-Za-z0-9]):[a-z0-9_+-]+:(?![A-Za-z0-9])"),
}

# Our own HTML around untrusted text (markdown.py, compare_markdown.py, reporter.py).
OWN_TAGS = {"details", "summary", "b", "code", "sub"}


def parser() -> MarkdownIt:
    """CommonMark with raw HTML, tables, strikethrough and linkify: close to GitHub's GFM."""
    return MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "strikethrough", "linkify"])


def references(text: str) -> list[tuple[str, str]]:
    found = []
    for kind, pattern in PATTERNS.items():
        found += [(kind, m[0]) for m in pattern.finditer(text)]
    return found


def _html_text(content: str, in_code: bool) -> tuple[list[str], list[str], bool]:
    """(text outside <code>, tags) of raw HTML; ``in_code`` carries over between pieces."""
    texts, tags = [], []
    for piece in re.split(r"(<!--.*?-->|<[^>]*>)", content, flags=re.S):
        if piece.startswith("<!--"):
            continue
        tag = re.match(r"</?\s*([A-Za-z][A-Za-z0-9-]*)", piece) if piece.startswith("<") else None
        if tag:
            name = tag[1].lower()
            tags.append(name)
            if name == "code":
                in_code = not piece.startswith("</")
            continue
        if not in_code:
            texts.append(html.unescape(piece))
    return texts, tags, in_code


def scan(markdown: str, trusted_links: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Every (kind, text) that GitHub would render as something other than plain text:
    references in text outside code, links other than ``trusted_links``, images, and HTML
    tags other than our own."""
    found: list[tuple[str, str]] = []
    in_code = False

    def walk(tokens, in_link: bool) -> None:
        nonlocal in_code
        for token in tokens:
            if token.type in ("code_inline", "code_block", "fence"):
                continue
            if token.type == "image":
                found.append(("image", token.attrs.get("src", "")))
                continue
            if token.type == "link_open":
                href = token.attrs.get("href", "")
                if href not in trusted_links:
                    found.append(("link", href))
                in_link = True
            elif token.type == "link_close":
                in_link = False
            elif token.type in ("html_inline", "html_block"):
                if token.content.lstrip().startswith("<!-- emscripten-python report:"):
                    continue
                texts, tags, in_code = _html_text(token.content, in_code)
                found.extend(("html", t) for t in tags if t not in OWN_TAGS)
                for text in texts:
                    found.extend(references(text))
            elif token.type == "text" and not in_code and not in_link:
                found.extend(references(token.content))
            if token.children:
                walk(token.children, in_link)

    walk(parser().parse(markdown), False)
    return found
