"""The status face's own error, printed by the CLI as `error: …` with its exit code."""

from ..errors import EmscriptenPythonError


class StatusError(EmscriptenPythonError):
    """The status store cannot be opened, or its schema is newer than this emscripten-python."""

    exit_code = 50
