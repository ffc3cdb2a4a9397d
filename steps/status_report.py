"""The status face on a Buildbot master: the dashboard in the web UI and the results ingest.

``configure(config, builder_names)`` (called by master/master.cfg through
emscripten_python.steps.hooks) does two things:

* mounts the status page (``create_app``) as a dashboard of the ``wsgi_dashboards`` www
  plugin (package ``buildbot-wsgi-dashboards``, in the ``buildbot`` extra), when installed;
* adds ``StatusIngestReporter``: every finished build of ``builder_names`` has the
  ``results.json`` it uploaded stored, with origin ``buildbot``, its builder, branch, PR and
  build URL;
* adds ``BisectRecordReporter`` for the bisect builders made with
  ``EmscriptenBisectFactory(record_status=True)``: a finished bisection's uploaded
  ``bisect.json`` is recorded (``status/bisections.py``), under its builder and branch.

The store is ``$EP_STATUS_DB`` (a SQLAlchemy URL), else the status store's default
(``$EMSCRIPTEN_PYTHON_STATUS_DB``, else a SQLite file in the user data directory). Nothing
here can stop the master: the store is opened on the dashboard's first request, and an
ingest that fails is logged and the build's report goes on.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Callable

from twisted.internet import defer
from twisted.python import log


from .hooks import FinishedBuildReporter, build_properties, builder_name, finished_builds, pr_number
from .upload import uploaded_path
# The status extra: without it the hook is skipped (an ImportError naming flask or sqlalchemy).
from ..status.bisections import RECORDED_STATES, record_bisection
from ..status.ingest import record_run
from ..status.web import LINK_BASE, create_app

DB_ENV = "EP_STATUS_DB"
DASHBOARD = "emscripten-status"


def db_url() -> str | None:
    """$EP_STATUS_DB, or None for the status store's default."""
    return os.environ.get(DB_ENV) or None


# -- what is ingested --------------------------------------------------------------------------

def ingest_build(build: dict, *, db_url: str | None = None, basedir: str | os.PathLike | None = None,
                 say: Callable[[str], None] = log.msg) -> str | None:
    """Store the results.json `build` uploaded: "inserted", "updated", "unchanged", or None
    when the build uploaded none. Blocking (run it in a thread); errors propagate."""
    properties = build_properties(build)
    builder, number = builder_name(build, properties), build.get("number", properties.get("buildnumber"))
    path = uploaded_path(properties, "results", basedir)
    if path is None or not path.is_file():
        say(f"status: {builder} build {number}: no results.json on the master "
            f"({path or 'no results_path property'}); nothing to store")
        return None
    # A PR build is filed under its PR and base branch ("basename", set by Buildbot's GitHub hook).
    result = record_run(path, db_url, origin="buildbot", builder=builder, branch=properties.get("branch") or None,
                        pr=pr_number(properties), build_url=build.get("url"),
                        base_branch=properties.get("basename") or properties.get("github.base.ref") or None)
    say(f"status: {builder} build {number}: {result} {path}")
    return result


def ingest_bisect_build(build: dict, *, db_url: str | None = None, basedir: str | os.PathLike | None = None,
                        say: Callable[[str], None] = log.msg) -> str | None:
    """Record the bisect.json a bisect build uploaded (status/bisections.py checks it before
    opening the store): "inserted" or "unchanged"; None when the bisection did not finish
    (cancelled, stopped by an error) or uploaded no bisect.json. Blocking; errors propagate."""
    properties = build_properties(build)
    builder, number = builder_name(build, properties), build.get("number", properties.get("buildnumber"))
    path = uploaded_path(properties, "bisect", basedir)
    # bisect_state: what the step read back from bisect.json; only a finished bisection is
    # recorded (the file itself is checked again when it is read).
    if properties.get("bisect_state") not in RECORDED_STATES or path is None or not path.is_file():
        say(f"status: {builder} build {number}: no finished bisection to record "
            f"(state {properties.get('bisect_state')!r}, bisect.json {path or 'not uploaded'})")
        return None
    recorded = record_bisection(path, db_url, origin="buildbot", builder=builder,
                                branch=properties.get("branch") or None, build_url=build.get("url"))
    say(f"status: {builder} build {number}: {recorded.describe()}")
    return recorded.result


def generators(builder_names: list[str]) -> list:
    return finished_builds(builder_names)


class StatusIngestReporter(FinishedBuildReporter):
    """Stores each finished build's results.json in the status store."""

    name = "emscripten_status_ingest"

    def checkConfig(self, generators, db_url=None):
        super().checkConfig(generators)

    @defer.inlineCallbacks
    def reconfigService(self, generators, db_url=None):
        self.db_url = db_url
        yield super().reconfigService(generators)

    def handle_build(self, build: dict) -> None:
        ingest_build(build, db_url=self.db_url, basedir=self.master.basedir)


class BisectRecordReporter(StatusIngestReporter):
    """Records each finished bisection of a bisect builder in the status store."""

    name = "emscripten_status_bisections"

    def handle_build(self, build: dict) -> None:
        ingest_bisect_build(build, db_url=self.db_url, basedir=self.master.basedir)


# -- the dashboard ---------------------------------------------------------------------------

class LazyStatusApp:
    """The status WSGI app, created on the first request: loading the master's configuration
    neither opens nor creates the store, and a store that is down answers 503 (and is tried
    again on the next request) instead of stopping the master."""

    def __init__(self, db_url: str | None = None) -> None:
        self.db_url = db_url
        self.buildbot_api = None     # set by the wsgi_dashboards plugin
        self._app = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._app is None:
                self._app = create_app(self.db_url)
            return self._app

    def __call__(self, environ, start_response):
        try:
            app = self._get()
        except Exception as exc:
            log.err(exc, "status: cannot open the status store for the dashboard")
            start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"The status store is not available; see the master's log.\n"]
        # The web UI injects the dashboard's HTML into its own page (at the master's root, /#/…),
        # so relative links and the badge would resolve there: make them absolute.
        master = getattr(self.buildbot_api, "master", None)
        root = getattr(getattr(master, "config", None), "buildbotURL", None)
        if root:
            environ[LINK_BASE] = f"{root.rstrip('/')}/plugins/wsgi_dashboards/{DASHBOARD}/"
        return app(environ, start_response)


def dashboard_installed() -> bool:
    return importlib.util.find_spec("buildbot_wsgi_dashboards") is not None


def configure(config: dict, builder_names: list[str]) -> None:
    url = db_url()
    if dashboard_installed():
        www = config.setdefault("www", {})
        plugins = www.setdefault("plugins", {})
        plugins.setdefault("wsgi_dashboards", []).append({
            "name": DASHBOARD,                 # the URL: /#/emscripten-status
            "caption": "Emscripten status",
            "app": LazyStatusApp(url),
            "order": 20,
            "icon": "FaChartArea",        # a react-icons name, as Buildbot 4 resolves them
        })
    else:
        log.msg("status: buildbot-wsgi-dashboards is not installed; no status dashboard in the web UI")
    config.setdefault("services", []).append(StatusIngestReporter(generators(builder_names), db_url=url))
    # Bisect builders whose factory says so (EmscriptenBisectFactory(record_status=True)).
    bisecting = [b.name for b in config.get("builders", []) if getattr(b.factory, "record_status", False)]
    if bisecting:
        config["services"].append(BisectRecordReporter(generators(bisecting), db_url=url))


__all__ = ["DASHBOARD", "DB_ENV", "BisectRecordReporter", "LazyStatusApp", "StatusIngestReporter", "configure",
           "ingest_bisect_build", "ingest_build"]
