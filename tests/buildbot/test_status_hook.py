"""The status face's master hook: results.json of finished builds into the store, the dashboard."""

from __future__ import annotations

import re

import pytest
from buildbot_helpers import FakeMaster, make_run, results_json
from sqlalchemy import select
from werkzeug.test import Client

from emscripten_python.steps import status_report as status_hook
from emscripten_python.status.models import RunRow
from emscripten_python.status.store import Store
from emscripten_python.steps.upload import uploaded_path

BUILDER = "Emscripten main"
BUILD_URL = "http://buildbot.example.org/#/builders/3/builds/17"


def uploaded(root, builder_slug="Emscripten-main", number=17, run=None):
    """results.json where EmscriptenUpload puts it under the master's artifacts directory."""
    path = root / "artifacts" / builder_slug / str(number) / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(results_json(run or make_run("passed", "failed", "crashed", "flaky")))
    return path


def build_dict(properties: dict, *, number=17, builder=BUILDER, url=BUILD_URL, results=2) -> dict:
    """Shaped like the build a BuildStatusGenerator hands the reporter (getDetailsForBuild)."""
    return {"buildid": 40 + number, "number": number, "builderid": 3, "results": results, "complete": True,
            "state_string": "failed test", "url": url,
            "builder": {"builderid": 3, "name": builder, "tags": ["emscripten", "tier-3"]},
            "properties": {"buildername": (builder, "Builder"), "buildnumber": (number, "Build"),
                           **{name: (value, "EmscriptenUpload") for name, value in properties.items()}}}


def stored(db_url: str) -> list[RunRow]:
    store = Store(db_url)
    try:
        with store.reader() as session:
            return list(session.execute(select(RunRow)).scalars())
    finally:
        store.close()


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'status.sqlite'}"


def test_finished_build_lands_in_the_store_as_buildbot(tmp_path, db_url):
    path = uploaded(tmp_path)
    build = build_dict({"results_url": "http://artifacts.test/Emscripten-main/17/results.json",
                        "results_path": str(path), "branch": "main", "emscripten_outcome": "failure"})

    assert status_hook.ingest_build(build, db_url=db_url, say=lambda _: None) == "inserted"

    [row] = stored(db_url)
    assert (row.origin, row.builder, row.branch, row.build_url, row.pr) == ("buildbot", BUILDER, "main", BUILD_URL, None)
    assert (row.run_id, row.outcome, row.files_total, row.files_crashed) == ("0123456789abcdef", "failure", 4, 1)
    # The same build reported again (a reconfig, a replayed event) changes nothing.
    assert status_hook.ingest_build(build, db_url=db_url, say=lambda _: None) == "unchanged"
    assert len(stored(db_url)) == 1


def test_relative_master_path_without_base_url(tmp_path, db_url):
    # No BASE_URL and a relative upload dir: results_url is the path from the master's basedir.
    uploaded(tmp_path, number=5)
    build = build_dict({"results_url": "artifacts/Emscripten-main/5/results.json",
                        "branch": "refs/pull/123/merge"}, number=5)

    assert status_hook.ingest_build(build, db_url=db_url, basedir=tmp_path, say=lambda _: None) == "inserted"

    [row] = stored(db_url)
    assert (row.branch, row.pr, row.origin) == ("refs/pull/123/merge", 123, "buildbot")


def test_build_without_results_stores_nothing(tmp_path, db_url):
    messages = []
    only_a_url = build_dict({"results_url": "http://artifacts.test/Emscripten-main/17/results.json"})
    gone = build_dict({"results_path": str(tmp_path / "missing" / "results.json")})
    assert status_hook.ingest_build(only_a_url, db_url=db_url, say=messages.append) is None
    assert status_hook.ingest_build(gone, db_url=db_url, say=messages.append) is None
    assert status_hook.ingest_build(build_dict({}), db_url=db_url, say=messages.append) is None
    assert len(messages) == 3 and all("nothing to store" in m for m in messages)
    assert stored(db_url) == []


def test_uploaded_path_prefers_the_master_path(tmp_path):
    assert uploaded_path({"results_path": "/srv/a/results.json", "results_url": "https://x/results.json"}) \
        == tmp_path.__class__("/srv/a/results.json")
    assert uploaded_path({"results_url": "https://x/results.json"}) is None
    assert uploaded_path({"results_url": "rel/results.json"}, basedir=tmp_path) == tmp_path / "rel/results.json"
    assert uploaded_path({}) is None


class DetachedReporter(status_hook.StatusIngestReporter):
    master = None    # a plain attribute instead of the service parent's master


def reporter(db_url, basedir) -> status_hook.StatusIngestReporter:
    service = DetachedReporter(status_hook.generators([BUILDER]), db_url=db_url)
    service.db_url = db_url            # what reconfigService sets when the master starts it
    service.master = FakeMaster(basedir)
    return service


def test_reporter_ingests_each_build_of_the_report(tmp_path, db_url, synchronous_threads):
    first, second = uploaded(tmp_path, number=1), uploaded(tmp_path, number=2, run=make_run("passed"))
    service = reporter(db_url, tmp_path)
    reports = [{"builds": [build_dict({"results_path": str(first)}, number=1)]},
               {"builds": [build_dict({"results_path": str(second)}, number=2)]}]
    done = service.sendMessage(reports)
    assert done.called and not isinstance(done.result, Exception)
    # Both builds carry the same run_id in the helper's runs: the second replaces the first.
    [row] = stored(db_url)
    assert row.outcome == "success"


def test_a_broken_store_or_file_never_fails_the_master(tmp_path, synchronous_threads):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    service = reporter("nosuchdriver://nowhere/db", tmp_path)
    errors = []
    done = service.sendMessage([{"builds": [build_dict({"results_path": str(uploaded(tmp_path))}),
                                            build_dict({"results_path": str(bad)}, number=18)]}])
    done.addErrback(errors.append)
    assert done.called and errors == []


def test_configure_adds_the_reporter_and_the_dashboard(monkeypatch, db_url):
    monkeypatch.setenv("EP_STATUS_DB", db_url)
    config = {"www": {"port": 8010, "plugins": {}}, "services": []}
    status_hook.configure(config, [BUILDER, "Emscripten PR"])

    [service] = config["services"]
    assert isinstance(service, status_hook.StatusIngestReporter)
    [generator] = service._config_args[0]    # the generators, until the master starts it
    assert generator.builders == [BUILDER, "Emscripten PR"]
    [dashboard] = config["www"]["plugins"]["wsgi_dashboards"]
    assert {key: dashboard[key] for key in ("name", "caption", "order", "icon")} == {
        "name": "emscripten-status", "caption": "Emscripten status", "order": 20, "icon": "FaChartArea"}
    assert isinstance(dashboard["app"], status_hook.LazyStatusApp) and dashboard["app"].db_url == db_url


def test_dashboard_opens_the_store_on_first_request(tmp_path, db_url):
    path = uploaded(tmp_path)
    status_hook.ingest_build(build_dict({"results_path": str(path), "branch": "main"}), db_url=db_url,
                             say=lambda _: None)
    app = status_hook.LazyStatusApp(db_url)
    response = Client(app).get("/index.html")
    assert response.status_code == 200
    assert BUILDER in response.get_data(as_text=True)
    assert Client(app).get("/api/overview.json").status_code == 200


def test_dashboard_answers_503_while_the_store_is_down():
    app = status_hook.LazyStatusApp("nosuchdriver://nowhere/db")
    response = Client(app).get("/index.html")
    assert response.status_code == 503


def test_dashboard_links_and_badge_resolve_inside_the_web_ui(tmp_path, db_url):
    # The web UI fetches index.html and shows its HTML at http://master/#/emscripten-status:
    # a relative link or badge there would resolve against the master's root (the defect).
    path = uploaded(tmp_path)
    status_hook.ingest_build(build_dict({"results_path": str(path), "branch": "main"}), db_url=db_url,
                             say=lambda _: None)
    app = status_hook.LazyStatusApp(db_url)
    app.buildbot_api = type("Api", (), {"master": type("Master", (), {
        "config": type("Config", (), {"buildbotURL": "https://ci.example.org/bb/"})()})()})()
    html = Client(app).get("/index.html").get_data(as_text=True)
    base = "https://ci.example.org/bb/plugins/wsgi_dashboards/emscripten-status/"
    assert f'href="{base}pep11.html"' in html
    assert f'src="{base}badge/main.svg"' in html
    hrefs = re.findall(r'(?:href|src)="([^"#]+)"', html)
    assert hrefs and [h for h in hrefs if not re.match(r"(data:|https?://)", h)] == []     # nothing relative
    # Without a master (status serve, a static export) the links stay relative.
    plain = Client(status_hook.LazyStatusApp(db_url)).get("/index.html").get_data(as_text=True)
    assert 'href="pep11.html"' in plain


# -- the bisect builder's answers ------------------------------------------------------------------

BISECT_BUILDER = "Emscripten bisect"


def bisect_uploaded(root, number: int, **changes) -> str:
    """bisect.json where EmscriptenUpload puts a bisect build's upload."""
    import json
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parents[1] / "status"))
    from status_factory import make_bisection
    path = root / "artifacts" / "Emscripten-bisect" / str(number) / "bisect.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**make_bisection(), **changes}))
    return str(path)


def test_a_finished_bisection_is_recorded_under_its_builder_and_branch(tmp_path, db_url):
    from emscripten_python.status.bisections import for_branch
    path = bisect_uploaded(tmp_path, 3, origin={"kind": "local"})
    build = build_dict({"bisect_path": path, "bisect_state": "found", "branch": "main"}, number=3,
                       builder=BISECT_BUILDER)
    messages = []
    assert status_hook.ingest_bisect_build(build, db_url=db_url, say=messages.append) == "inserted"
    assert status_hook.ingest_bisect_build(build, db_url=db_url, say=messages.append) == "unchanged"
    assert "Emscripten bisect build 3: inserted: bisection of test_os on main / Emscripten bisect" in messages[0]
    store = Store(db_url)
    with store.reader() as session:
        [row] = for_branch(session, "main")
        assert (row.origin, row.builder, row.build_url) == ("buildbot", BISECT_BUILDER, BUILD_URL)
    store.close()


def test_an_unfinished_or_missing_bisection_records_nothing(tmp_path, db_url):
    cancelled = bisect_uploaded(tmp_path, 4, state="cancelled", first_bad=None)
    messages = []
    for properties in ({"bisect_path": cancelled, "bisect_state": "cancelled"}, {"bisect_state": "found"},
                       {"bisect_path": str(tmp_path / "gone.json"), "bisect_state": "found"}):
        build = build_dict(properties, number=4, builder=BISECT_BUILDER)
        assert status_hook.ingest_bisect_build(build, db_url=db_url, say=messages.append) is None
    assert all("no finished bisection to record" in m for m in messages) and len(messages) == 3
    assert not (tmp_path / "status.sqlite").exists()      # the store was not even opened


def test_a_hostile_bisect_json_is_refused_and_logged_never_stored(tmp_path, db_url, synchronous_threads):
    """The worker wrote bisect.json (a PR can't reach this builder, but the file is checked anyway):
    a refused file raises in the hook, which the reporter logs; the store is not opened."""
    from emscripten_python.errors import ResultsError
    path = bisect_uploaded(tmp_path, 5, tests=["<script>alert(1)</script>"])
    build = build_dict({"bisect_path": path, "bisect_state": "found"}, number=5, builder=BISECT_BUILDER)
    with pytest.raises(ResultsError, match=r"tests\[0\]"):
        status_hook.ingest_bisect_build(build, db_url=db_url, say=lambda _: None)
    class Detached(status_hook.BisectRecordReporter):
        master = None    # as DetachedReporter

    service = Detached(status_hook.generators([BISECT_BUILDER]), db_url=db_url)
    service.db_url, service.master = db_url, FakeMaster(tmp_path)
    errors = []
    done = service.sendMessage([{"builds": [build]}])
    done.addErrback(errors.append)
    assert done.called and errors == []
    assert not (tmp_path / "status.sqlite").exists()


def test_configure_records_bisections_only_of_factories_that_ask(monkeypatch, db_url):
    from buildbot.config.builder import BuilderConfig

    from emscripten_python.steps.bisect import EmscriptenBisectFactory
    monkeypatch.setenv("EP_STATUS_DB", db_url)
    builders = [BuilderConfig(name=name, workernames=["w"], factory=EmscriptenBisectFactory(
        repourl="https://example.org/cpython.git", record_status=record)) for name, record in
        ((BISECT_BUILDER, True), ("Emscripten bisect, unrecorded", False))]
    config = {"www": {"port": 8010, "plugins": {}}, "services": [], "builders": builders}
    status_hook.configure(config, [BUILDER])
    runs, bisections = config["services"]
    assert type(runs) is status_hook.StatusIngestReporter and isinstance(bisections, status_hook.BisectRecordReporter)
    [generator] = bisections._config_args[0]
    assert generator.builders == [BISECT_BUILDER] and bisections._config_kwargs["db_url"] == db_url
