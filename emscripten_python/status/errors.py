"""The status face's error (exit code 51), defined with the others in emscripten_python.errors."""

from ..errors import StatusStoreError as StatusError

__all__ = ["StatusError"]
