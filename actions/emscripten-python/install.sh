#!/usr/bin/env bash
# Installs emscripten-python from the action's own checkout (the ref the workflow named in
# `uses:`), into a private venv so the caller's Python environment is left alone.
set -euo pipefail
venv="${RUNNER_TEMP:?}/emscripten-python/venv"
"${EP_SETUP_PYTHON:?}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${GITHUB_ACTION_PATH:?}/../..[github]"
echo "python=$venv/bin/python" >> "${GITHUB_OUTPUT:?}"
