"""Shared by the release tests (not conftest.py: every test folder has a `conftest` module)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The version's one source, read as text: the tests check what the builds and the CLI make of it.
VERSION = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "emscripten_python" / "__init__.py").read_text(), re.M)[1]
