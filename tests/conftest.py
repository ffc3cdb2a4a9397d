"""Suite-wide: no test may write into the user's real Tier 3 status store."""

import os

# The CLI records every run/test into the default store; tests that check this point it
# at a temporary database themselves.
os.environ.setdefault("EMSCRIPTEN_PYTHON_NO_RECORD", "1")
