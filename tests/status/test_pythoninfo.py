"""results.json `pythoninfo` on the run page and api/run: stored bounded, escaped, folded (issue 13)."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, inspect, text

from emscripten_python.status import create_app
from emscripten_python.status import migrations
from emscripten_python.status.ingest import PYTHONINFO_KEYS, PYTHONINFO_VALUE, ingest
from emscripten_python.status.models import Base
from emscripten_python.status.store import Store
from status_factory import make_run

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"
RLO = "\u202e"


def _pythoninfo() -> dict:
    host = {"sys.version": "3.13.15 (main) [Clang 20]", "platform.platform": "Emscripten-4.0.12-wasm32-32bit",
            "sysconfig[HOST_GNU_TYPE]": "wasm32-unknown-emscripten",
            f"evil{RLO}key{XSS}": f"value {XSS} {RLO}gnp.exe", "long.value": "x" * 5000}
    # More keys than the store keeps: a Run built in Python skips the file validation.
    host.update({f"zz.key{i:04d}": str(i) for i in range(PYTHONINFO_KEYS + 50)})
    return {"build": {"status": "warning", "log": "logs/pythoninfo-build.log", "info": {}},
            "host": {"status": "succeeded", "log": "logs/pythoninfo-host.log", "info": host},
            "other": {"status": "ignored", "info": {"x": "y"}}}


def test_pythoninfo_is_shown_folded_escaped_and_bounded(store):
    run = make_run(branch="main", builder="node")
    run.pythoninfo = _pythoninfo()
    ingest(store, run)
    client = create_app(store.url).test_client()
    html = client.get(f"/run/{run.run_id}.html").get_data(as_text=True)
    section = html[html.index("<h2>pythoninfo</h2>"):html.index("<h2>Crashes")]
    # Folded: every interpreter in its own <details>, nothing open.
    assert section.count('<details class="pythoninfo">') == 2 and " open" not in section
    assert "pythoninfo of the build Python (native) (warning: it failed)" in section
    assert f"pythoninfo of the wasm interpreter ({PYTHONINFO_KEYS} keys)" in section
    # The key lines first (pythoninfo_markdown.SHOWN_KEYS), then all of them.
    shown = section[:section.index("All ")]
    assert "wasm32-unknown-emscripten" in shown and "Emscripten-4.0.12-wasm32-32bit" in shown
    assert f"All {PYTHONINFO_KEYS} keys" in section
    # Escaped, no direction override, and bounded.
    assert "<script>" not in html and "<img src=x" not in html and "&lt;script&gt;" in section
    assert RLO not in html
    assert "x" * PYTHONINFO_VALUE in section and "x" * (PYTHONINFO_VALUE + 1) not in section
    assert f"zz.key{PYTHONINFO_KEYS + 10:04d}" not in section
    assert "ignored" not in section

    data = client.get(f"/api/run/{run.run_id}.json").get_json()
    assert set(data["pythoninfo"]) == {"build", "host"}
    assert data["pythoninfo"]["build"] == {"status": "warning", "log": "logs/pythoninfo-build.log", "info": {}}
    host = data["pythoninfo"]["host"]
    assert len(host["info"]) == PYTHONINFO_KEYS and len(host["info"]["long.value"]) == PYTHONINFO_VALUE
    assert host["info"][f"evil{RLO}key{XSS}"] == f"value {XSS} {RLO}gnp.exe"   # JSON: as recorded, escaped by JSON


def test_run_without_pythoninfo_has_no_section(store):
    run = make_run(branch="main", builder="node")
    ingest(store, run)
    client = create_app(store.url).test_client()
    assert "<h2>pythoninfo</h2>" not in client.get(f"/run/{run.run_id}.html").get_data(as_text=True)
    assert client.get(f"/api/run/{run.run_id}.json").get_json()["pythoninfo"] == {}


def test_v2_store_gets_the_pythoninfo_and_runtimes_columns(db_url):
    """A store of schema 2 (no runs.pythoninfo, no runs.runtimes): opened, it is migrated
    (schema 3 and 4); its runs still show."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        conn.execute(text("ALTER TABLE runs DROP COLUMN pythoninfo"))
        conn.execute(text("ALTER TABLE runs DROP COLUMN runtimes"))
        conn.execute(text("INSERT INTO schema_version (version, applied) VALUES (2, '2026-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO runs (run_id, digest, created, ingested, origin, builder, branch, outcome, duration, "
            "files_total, files_bad, files_crashed, files_flaky, tests_run, stages, artifacts, errors) VALUES "
            "('old', 'd', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'buildbot', 'node', 'main', "
            "'success', 1.0, 0, 0, 0, 0, 0, '[]', '[]', '[]')"))
        conn.execute(text("INSERT INTO lanes (branch, builder, origin) VALUES ('main', 'node', 'buildbot')"))
    engine.dispose()
    store = Store(db_url)
    try:
        assert {"pythoninfo", "runtimes"} <= {c["name"] for c in inspect(store.engine).get_columns("runs")}
        with store.reader() as session:
            assert session.scalar(text("SELECT max(version) FROM schema_version")) == migrations.SCHEMA_VERSION
        client = create_app(store.url).test_client()
        page = client.get("/run/old.html")
        assert page.status_code == 200 and "<h2>pythoninfo</h2>" not in page.get_data(as_text=True)
        assert client.get("/index.html").status_code == 200 and client.get("/branch/main.html").status_code == 200
        run = make_run(branch="main", builder="node", hours=5)
        run.pythoninfo = {"host": {"status": "succeeded", "log": None, "info": {"sys.version": "3.13.15"}}}
        ingest(store, run)
        assert re.search(r"sys\.version</bdi></th><td><code><bdi>3\.13\.15",
                         client.get(f"/run/{run.run_id}.html").get_data(as_text=True))
    finally:
        store.close()
