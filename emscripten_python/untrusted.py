"""Untrusted text (test names, messages, tracebacks, URLs from a results.json a fork may have
written) made inert for Markdown, HTML and the Actions runner's stdout.

The rule is simple: untrusted text only ever appears inside code. GitHub renders nothing in
code (no emphasis, HTML, image, link, autolink, @mention, #issue or commit reference), so
``code_span`` (inline), ``code_block`` (multi-line) and ``html_code`` (inside our own raw
HTML such as ``<summary>``) are all a renderer needs.
``actions_safe`` is the one rule for text printed where a GitHub Actions runner reads it
(stdout, stderr, the data and properties of our own ``::error``/``::warning`` lines): nothing
in it is read as a workflow command (``::add-mask::``, ``::stop-commands::``, ``##[...]``).
"""

from __future__ import annotations

import html
import re

# C0/C1 controls except tab and newline; line/paragraph separators; bidi embeddings,
# overrides and isolates (they can make text display differently from what it is).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_BACKTICKS = re.compile(r"`+")
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


# The runner's two command forms (actions/runner src/Runner.Common/ActionCommand.cs @
# 079cdb1d05fe): `::name ...::data` at the start of a line after leading whitespace
# (TryParseV2 trims with .NET's TrimStart, which Python's \s covers), and the older
# `##[name ...]data` anywhere in a line (TryParse finds it with IndexOf); the
# manager (src/Runner.Worker/ActionCommandManager.cs) tries both on every line. The runner
# splits output into lines with .NET's ReadLine: at \n, \r and \r\n only.
_LEGACY_COMMAND = "##["
_LINE_START_COMMAND = re.compile(r"^(\s*)::", re.M)


def actions_safe(text: object, *, multiline: bool = False) -> str:
    """``text`` (derived from input) as output no Actions runner reads as a workflow command.

    By default one line: ``%``, carriage return and newline are written as ``%25``, ``%0D``
    and ``%0A`` (the runner's own escaping of command data), so the value cannot start a new
    line. With ``multiline`` (a report printed whole) line ends are kept, a lone carriage
    return becoming a newline. Either way other control characters are dropped, a ``::`` at
    a line start gets a word joiner between its colons and every ``##[`` one after its
    ``##``, and characters that cannot be written as UTF-8 (lone surrogates from undecodable
    bytes in an environment variable) are written as escapes instead of failing the print.
    It reads the same to a person.
    """
    value = "" if text is None else str(text)
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    else:
        value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    value = _CONTROL.sub("", value)
    value = value.replace(_LEGACY_COMMAND, "##" + WORD_JOINER + "[")
    return _LINE_START_COMMAND.sub(lambda m: m[1] + ":" + WORD_JOINER + ":", value)


__all__ = ["actions_safe", "clean", "code_block", "code_span", "html_code"]
