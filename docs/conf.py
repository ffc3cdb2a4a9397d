"""Sphinx configuration for the emscripten-python documentation.

Plain reStructuredText, no extensions and no network access: the docs build offline with
``sphinx-build -W -b html docs <outdir>``.
"""

import re
from pathlib import Path

# The package's version (its single source, emscripten_python.__version__), read from the file
# so the docs build without the package installed.
_init = Path(__file__).resolve().parent.parent / "emscripten_python" / "__init__.py"
release = re.search(r'^__version__\s*=\s*"([^"]+)"', _init.read_text(), re.M).group(1)

project = "emscripten-python"
author = "the emscripten-python contributors"
copyright = "the emscripten-python contributors"
version = ".".join(release.split(".")[:2])

extensions = []
root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

# Literal blocks are console output, not Python.
highlight_language = "text"
pygments_style = "sphinx"

html_theme = "alabaster"
html_static_path = []
html_title = f"emscripten-python {release}"
