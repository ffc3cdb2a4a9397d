"""`python -m emscripten_python`: the same as the `emscripten-python` command."""

import sys

from .cli.main import main

sys.exit(main())
