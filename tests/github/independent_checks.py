"""Shared by the independent checks: running `emscripten-python report --github` as a separate
process (with DEBUG logging on) and looking for a token in every encoding a server could echo."""

from __future__ import annotations

import base64
import binascii
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

# Run the real CLI, with every logger at DEBUG so PyGithub's and urllib3's request logs are seen.
# (PyGithub sets its "github" logger to INFO on import: set it back to DEBUG.)
LAUNCH = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); "
          "import github; logging.getLogger('github').setLevel(logging.DEBUG); "
          "from emscripten_python.cli.main import main; sys.exit(main(sys.argv[1:]))")


def start_report(out: Path, base_url: str, token: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": token, "PYTHONUNBUFFERED": "1", **(env or {})}
    command = [sys.executable, "-c", LAUNCH, "report", "--out", str(out), "--github", "--repo", "python/cpython",
               "--base-url", base_url, *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=out)


def token_forms(token: str) -> set[str]:
    """The token as a server or proxy might echo it, plus pieces long enough to identify it:
    plain, URL-encoded, hex, and the part of base64 that depends only on the token for each of
    the three positions it can start at (prefix bytes 0, 1 or 2 before it)."""
    raw = token.encode()
    forms = {token, token[4:20], token[-16:], quote(token, safe=""), quote_plus(token), raw.hex(),
             binascii.hexlify(raw).decode().upper()}
    for before in range(3):
        text = base64.b64encode(b"x" * before + raw).decode()
        first = 4 * ((before + 2) // 3)               # groups mixing prefix bytes are skipped
        last = 4 * ((before + len(raw)) // 3)          # and so is the group mixing what follows
        middle = text[first:last]
        for form in (middle, middle.replace("+", "-").replace("/", "_")):
            forms.update({form, form[:16], form[-16:]})
    return {f for f in forms if len(f) >= 12}


def leaks(text: str, token: str) -> list[str]:
    return sorted(form for form in token_forms(token) if form in text)
