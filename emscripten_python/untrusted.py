"""Untrusted text (test names, messages, tracebacks, URLs from a results.json a fork may have
written) made inert for Markdown, HTML and the Actions runner's stdout.

The rule is simple: untrusted text only ever appears inside code. GitHub renders nothing in
code (no emphasis, HTML, image, link, autolink, @mention, #issue or commit reference), so
``code_span`` (inline), ``code_block`` (multi-line) and ``html_code`` (inside our own raw
HTML such as ``<summary>``) are all a renderer needs.
``neutralise_commands`` keeps text printed to a runner's stdout from being read as a
workflow command (``::add-mask::``, ``::set-output``, ``::stop-commands::``, ``##[...]``).
``actions_safe`` makes one input-derived value (a branch name, a verdict) safe to print on
one line of a CLI's stdout or stderr.
"""

from __future__ import annotations

import html
import re

# C0/C1 controls except tab and newline; line/paragraph separators; bidi embeddings,
# overrides and isolates (they can make text display differently from what it is).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_BACKTICKS = re.compile(r"`+")
# A line start for the Actions runner: after \n and also after a lone \r (it reads lines
# with .NET's ReadLine, which ends a line at either).
_COMMAND = re.compile(r"(?:^|(?<=\r))(\s*)(::|##\[)", re.M)
WORD_JOINER = "\u2060"


def clean(text: object) -> str:
    """``text`` as a string with line ends normalised and control characters dropped."""
    value = "" if text is None else str(text)
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _shorten(value: str, limit: int | None) -> str:
    return value if limit is None or len(value) <= limit else value[:max(0, limit - 1)] + "…"


def code_span(text: object, limit: int | None = 300, *, table: bool = False) -> str:
    """One inline code span holding ``text`` on one line; it cannot end early (its backtick
    fence is longer than any run inside) and, with ``table``, cannot split a table cell."""
    value = _shorten(" ".join(clean(text).split()), limit)
    if not value:
        return "` `"
    if table:
        value = value.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(value)), default=0) + 1)
    pad = " " if value[0] in "` " or value[-1] in "` " else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def code_block(text: object, limit: int | None = None, info: str = "") -> str:
    """A fenced code block holding ``text``: the fence is longer than any backtick run in it,
    so no line inside can close it. Ends without a newline."""
    value = _shorten(clean(text).strip("\n"), limit)
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(value)), default=0) + 1)
    return f"{fence}{info}\n{value}\n{fence}"


def html_code(text: object, limit: int | None = 300) -> str:
    """``text`` for use inside raw HTML: one line (a blank line would end the HTML block),
    HTML-escaped, and inside <code> so GitHub makes no mention, link or reference of it."""
    value = _shorten(" ".join(clean(text).split()), limit)
    return f"<code>{html.escape(value, quote=True)}</code>"


def neutralise_commands(text: str) -> str:
    """Break every line that the Actions runner would read as a workflow command."""
    return _COMMAND.sub(lambda m: m[1] + m[2][0] + WORD_JOINER + m[2][1:], text)


# The runner's two command forms (actions/runner src/Runner.Common/ActionCommand.cs):
# `::name ...::data` at the start of a line after leading whitespace (TryParseV2), and the
# older `##[name ...]data` anywhere in a line (TryParse finds it with IndexOf).
_LEGACY_COMMAND = "##["
_LINE_START_COMMAND = re.compile(r"\A(\s*)::")


def actions_safe(text: object) -> str:
    """``text`` (derived from input) as one line no Actions runner reads as a workflow command.

    ``%``, carriage return and newline are written as ``%25``, ``%0D`` and ``%0A`` (the
    runner's own escaping of command data), so the value cannot start a new line; other
    control characters are dropped; a leading ``::`` gets a word joiner between its colons
    and every ``##[`` one after its ``##``. It reads the same to a person.
    """
    value = "" if text is None else str(text)
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    value = _CONTROL.sub("", value)
    value = value.replace(_LEGACY_COMMAND, "##" + WORD_JOINER + "[")
    return _LINE_START_COMMAND.sub(lambda m: m[1] + ":" + WORD_JOINER + ":", value)


__all__ = ["actions_safe", "clean", "code_block", "code_span", "html_code", "neutralise_commands"]
