"""The pythoninfo lines of the Markdown summary (sections written by pipeline.pythoninfo_stage).

pythoninfo comes from results.json, which a fork may write: every value goes into a fenced
code block whose fence is longer than any run of backticks in it, so nothing in it can end
the block or be read as Markdown or HTML.
"""

from __future__ import annotations

import re

from ..results.model import Run

# What tells two interpreters apart at a glance; the rest is in the log and results.json.
SHOWN_KEYS = ("sys.version", "platform.platform", "sys.thread_info", "sysconfig[HOST_GNU_TYPE]",
              "sysconfig[MULTIARCH]", "sys._emscripten_info")
MAX_VALUE = 200


def _fenced(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def pythoninfo_markdown(run: Run) -> list[str]:
    sections = run.pythoninfo if isinstance(getattr(run, "pythoninfo", None), dict) else {}
    lines: list[str] = []
    for which in ("build", "host"):
        section = sections.get(which)
        if not isinstance(section, dict):
            continue
        info = section.get("info") if isinstance(section.get("info"), dict) else {}
        shown = [f"{key}: {str(info[key])[:MAX_VALUE]}" for key in SHOWN_KEYS if key in info]
        status = "warning: it failed" if section.get("status") == "warning" else f"{len(info)} keys"
        title = "the build Python (native)" if which == "build" else "the wasm interpreter"
        lines += [f"<details><summary>pythoninfo of {title} ({status})</summary>", "",
                  _fenced("\n".join(shown) or "(nothing recorded)"), "", "</details>", ""]
    if lines:
        lines[:0] = ["### pythoninfo", ""]
    return lines
