"""Build and test CPython for wasm32-emscripten, crash-proof, with structured results."""

__version__ = "0.1.0"
