"""Optional faces: import a module if it (and its extra) is installed, else None."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_optional(name: str) -> ModuleType | None:
    """The module, or None when it or a third-party package it needs is not installed.

    A missing module *of ours* that the face imports is a bug, not an absent extra: raised.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing = exc.name or ""
        if missing.split(".")[0] == "emscripten_python" and not name.startswith(missing):
            raise
        return None
