#!/usr/bin/env bash
# Installs emscripten-python from the action's own checkout (the ref the workflow named in
# `uses:`), into a private venv so the caller's Python environment is left alone.
#
# This job may hold a token with write permission, so nothing is resolved at install time:
# every third-party package comes from requirements-report.txt, pinned by version and SHA-256
# (pip refuses any other file), as wheels only (no setup.py runs); emscripten-python itself is
# built from the checkout without downloading anything; `pip check` then proves that the
# pinned set satisfies its dependencies. Regenerate the pins with scripts/update-report-requirements.
set -euo pipefail
action="${GITHUB_ACTION_PATH:?}"
venv="${RUNNER_TEMP:?}/emscripten-python/venv"
"${EP_SETUP_PYTHON:?}" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --require-hashes --only-binary :all: -r "$action/requirements-report.txt"
"${pip[@]}" install --quiet --no-deps --no-build-isolation --no-index "$action/../.."
"${pip[@]}" check
echo "python=$venv/bin/python" >> "${GITHUB_OUTPUT:?}"
