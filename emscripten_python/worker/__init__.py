"""Provisioning a Buildbot worker for Emscripten builds: `emscripten-python worker doctor|create`."""
