"""Issue 21 item 8: CI logs (stderr without a terminal) are never hard-wrapped at 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A real process with stderr on a pipe: what a CI runner gives the CLI.
pytestmark = pytest.mark.allow_subprocess

LONG = "/var/lib/buildbot/workers/wasm32-emscripten/node-3.13/build/cpython/builddir/emscripten-node/" \
       "Lib/test/test_concurrent_futures/test_process_pool.py failed with a message longer than a line"


def _say_without_a_terminal(message: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TERM")}
    done = subprocess.run([sys.executable, "-c", "import sys; from emscripten_python.building.stages import say; "
                           "say(sys.argv[1])", message], capture_output=True, text=True, timeout=60,
                          env={**environ, **env}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_long_line_stays_one_line_in_a_ci_log():
    assert len(LONG) > 160
    assert _say_without_a_terminal(LONG) == LONG + "\n"


def test_a_narrow_columns_setting_does_not_wrap_it_either():
    assert _say_without_a_terminal(LONG, COLUMNS="40") == LONG + "\n"


def test_several_lines_and_markup_like_text_come_out_as_they_are():
    text = "[bold]not markup[/bold] " + "x" * 200 + "\nsecond line"
    assert _say_without_a_terminal(text) == text + "\n"
