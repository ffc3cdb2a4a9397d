"""Backends for the status tests: a SQLite file per test, and a throwaway PostgreSQL cluster
(Debian's package) started once per session and given a fresh database per test."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from emscripten_python.status.store import Store
from status_support import free_port, require_system


def _as_postgres(command: list[str]) -> list[str]:
    # The server refuses to run as root; as any other user it runs as that user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server():
    """`postgresql+psycopg://postgres@127.0.0.1:PORT` of a cluster in a temporary directory."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    require_system(initdbs[-1] if initdbs else "/usr/lib/postgresql/VERSION/bin/initdb", "postgresql")
    bindir = os.path.dirname(initdbs[-1])
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    home = tempfile.mkdtemp(prefix="emscripten-python-pg-")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data, port = os.path.join(home, "data"), free_port()
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(home, "log"), "-o", options,
                                 "-w", "-t", "60", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgres_server):
    import psycopg

    name = f"status_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


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
