"""Backends for the status tests: a SQLite file per test, and a throwaway PostgreSQL cluster
(Debian's package) started once per session and given a fresh database per test."""

from __future__ import annotations

import pytest

from emscripten_python.status.store import Store
from status_support import new_database, postgres_cluster


@pytest.fixture(scope="session")
def postgres_server():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` of a cluster in a temporary directory."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def postgresql_url(postgres_server):
    return new_database(postgres_server)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'status.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """Each test using this runs on both backends."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(db_url):
    opened = Store(db_url)
    yield opened
    opened.close()
