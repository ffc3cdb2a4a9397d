"""Which lines of a step's output a GitHub Actions runner acts on as workflow commands.

Written from the runner's source, not from the code under test (actions/runner
src/Runner.Common/ActionCommand.cs and src/Runner.Worker/ActionCommandManager.cs @
079cdb1d05fe): output is split into lines at \\n, \\r and \\r\\n (.NET ReadLine); a line is a
command when, after leading whitespace, it starts with ``::`` and has a second ``::``
(TryParseV2), or when it holds ``##[`` followed by a ``]`` anywhere (TryParse, tried when the
first fails). ``::stop-commands::TOKEN`` turns processing off until a line whose command is
TOKEN. Any command-shaped line counts here, registered name or not (a stop token is any name).
"""

from __future__ import annotations

import re

LINE_END = re.compile(r"\r\n|\r|\n")

# The project's own lines (emscripten_python/github/action.py): annotations whose properties
# have , and : escaped; the stop and resume lines around each emscripten-python process.
_PROPERTY = r"(?:file|line|title)=[^,:]*"
OWN = re.compile(rf"::(?:error|warning)(?: {_PROPERTY}(?:,{_PROPERTY})*)?::(?!.*##\[).*"
                 r"|::stop-commands::[0-9a-f]{32}|::[0-9a-f]{32}::")


def _command(line: str) -> str | None:
    """The command name the runner reads in ``line``, else None."""
    trimmed = line.lstrip()
    if trimmed.startswith("::"):
        end = trimmed.find("::", 2)
        if end >= 0:
            return trimmed[2:end].split(" ")[0]
    start = line.find("##[")
    if start >= 0 and line.find("]", start) >= 0:
        return line[start + 3:line.find("]", start)].split(" ")[0]
    return None


def acted_on(output: str) -> list[str]:
    """The lines of ``output`` the runner would act on, honouring stop-commands."""
    acted, token = [], None
    for line in LINE_END.split(output):
        name = _command(line)
        if name is None:
            continue
        if token is not None:
            if name == token:
                token = None
                acted.append(line)
            continue
        if name == "stop-commands":
            token = line.lstrip()[len("::stop-commands::"):]
        acted.append(line)
    return acted


def unexpected(stdout: str, stderr: str = "") -> list[str]:
    """Command lines that are not the project's own well-formed ones. stderr is read apart
    from stdout by the runner (so a stop on stdout may not have been seen yet): every
    command-shaped line there counts."""
    lines = acted_on(stdout) + [line for line in LINE_END.split(stderr) if _command(line) is not None]
    return [line for line in lines if not OWN.fullmatch(line.strip())]


def stops_resumed(stdout: str) -> bool:
    """Every stop-commands is followed by its resume (commands are on at the end)."""
    token = None
    for line in acted_on(stdout):
        if line.strip().startswith("::stop-commands::"):
            token = line.strip()[len("::stop-commands::"):]
        elif token is not None and line.strip() == f"::{token}::":
            token = None
    return token is None
