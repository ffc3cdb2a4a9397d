"""One exception hierarchy; each class has its own documented exit code (docs/cli.rst).

The CLI prints `error: <message>` for these and exits with `exit_code`, never a traceback:
they are the user's or the environment's problem, not the program's.
"""

from __future__ import annotations


class EmscriptenPythonError(Exception):
    exit_code = 1


class UsageError(EmscriptenPythonError):
    """The command line is wrong: an option's value out of range, or options that contradict
    each other (argparse's own usage errors exit 2 as well)."""

    exit_code = 2


class SourceError(EmscriptenPythonError):
    """The --source is missing, unreadable, or not a CPython tree."""

    exit_code = 10


class ToolchainNotFound(EmscriptenPythonError):
    """No emcc on PATH / in $EMSDK, or emsdk could not install the pinned version."""

    exit_code = 11


class ToolchainMismatch(EmscriptenPythonError):
    """The active emcc is not the version the checkout pins (only an error with --strict-toolchain)."""

    exit_code = 12


class ToolchainBroken(EmscriptenPythonError):
    """emcc is there but the smoke check shows it cannot produce a working program."""

    exit_code = 13


class MirrorError(EmscriptenPythonError):
    """--mirror lacks a source the build needs offline."""

    exit_code = 14


class BrowserUnavailable(EmscriptenPythonError):
    """The browser smoke test cannot start: no Chromium at the given path, or no Playwright."""

    exit_code = 15


class BuildError(EmscriptenPythonError):
    """A build stage exited non-zero; the message names the stage and its log."""

    exit_code = 20


class TestRunError(EmscriptenPythonError):
    """The test stage could not produce results at all (no interpreter, no output)."""

    __test__ = False   # not a pytest test class

    exit_code = 21


class TestsFailed(EmscriptenPythonError):
    """Tests ran and some failed or crashed; results are complete on disk."""

    __test__ = False

    exit_code = 30


class BisectError(EmscriptenPythonError):
    """`bisect` cannot start or cannot decide: a ref that is not a commit, GOOD not an ancestor
    of BAD on its first-parent line, a checkout with uncommitted changes, or the endpoints not
    showing the failure (GOOD fails, or BAD passes or does not build)."""

    exit_code = 60


class BisectInconclusive(EmscriptenPythonError):
    """`bisect` finished, but commits that could not be tested (they do not build) leave a
    range of several commits rather than one first bad commit; bisect.json names the range."""

    exit_code = 61


class Cancelled(EmscriptenPythonError):
    """SIGTERM or SIGINT stopped the command (Buildbot's stop button, Ctrl-C, a CI cancel).

    Node process groups are killed and results.json records outcome `cancelled` before the
    CLI exits with 130, the shell's code for an interrupted command, whichever signal it was.
    """

    exit_code = 130


class ResultsError(EmscriptenPythonError):
    """A results.json is missing, malformed, or of an unknown schema version."""

    exit_code = 40


class BundleError(EmscriptenPythonError):
    """`test --from-bundle`: the bundle is unreadable, fails its sha256 manifest, or lacks a layout."""

    exit_code = 41


class ReportDeliveryError(EmscriptenPythonError):
    """GitHub did not take (part of) the report; results stay on disk to re-send."""

    exit_code = 50


class StatusStoreError(EmscriptenPythonError):
    """The status store cannot be opened, or its schema is newer than this emscripten-python."""

    exit_code = 51


class DiskFull(EmscriptenPythonError, OSError):
    """No space left on the device: the message names the path, its free space and what was needed.

    Also an OSError, so best-effort writes that already shrug off an OSError still do.
    """

    exit_code = 52
