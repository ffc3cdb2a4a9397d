"""Fixtures for the GitHub face: a fake GitHub server on 127.0.0.1 and an example run."""

from __future__ import annotations

import pytest
from fake_github import FakeGitHub
from gh_helpers import CLIENT_TIMEOUT, EXAMPLE, TOKEN

from emscripten_python.results.model import Run
from emscripten_python.results.validation import load_validated


@pytest.fixture
def fake():
    with FakeGitHub(tokens=(TOKEN,), hold=CLIENT_TIMEOUT + 1.0) as server:
        yield server


@pytest.fixture
def example_run() -> Run:
    return load_validated(EXAMPLE)
