"""The status page: a read-only Flask app over the store (also mounted by Buildbot's wsgi-dashboards).

Every URL looks like a file (index.html, branch/3.13.html, api/overview.json, badge/3.13.svg)
and every link is relative, so `status export` can save the pages as they are for a static host.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, jsonify, render_template, request
from markupsafe import Markup
from flask.json.provider import DefaultJSONProvider

from ..report.pythoninfo_markdown import SHOWN_KEYS
from . import bisections, compare_views, insight, svg
from .checks import PR_MAX, strip_bidi
from .serialize import flaky_json, health_json, pr_json, run_json
from .store import Store
from .window import EXPORT_ENV

# Only numbers a stored PR can have: a larger one is 404, not an integer the database
# driver cannot bind (SQLite: OverflowError, a 500).
PR_ROUTE = f"<int(min=1, max={PR_MAX}):number>"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
TIER3_ENV = "EMSCRIPTEN_PYTHON_TIER3_BUILDERS"
# The same headers on every response; a badge is never cached (image proxies would keep a
# stale "passing"), a page only briefly.
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer"}


def _finite(value):
    """JSON has no NaN or Infinity: non-finite numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class _StrictJSON(DefaultJSONProvider):
    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:   # a NaN from a store written before ingest refused them
            return super().dumps(_finite(obj), **kwargs)


class _ReadOnlyFlask(Flask):
    """Every route answers GET and HEAD, anything else 405 with ``Allow: GET, HEAD``
    (docs/status.rst). Flask would answer OPTIONS itself on every route (200, and OPTIONS
    in Allow); the pages are for reading only, and no browser needs a preflight for them."""

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=False, **options):
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=provide_automatic_options,
                                    **options)


def tier3_from_env() -> frozenset[str] | None:
    """$EMSCRIPTEN_PYTHON_TIER3_BUILDERS, comma-separated, or None for the default rule."""
    raw = os.environ.get(TIER3_ENV, "")
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    return names or None


def create_app(db_url: str | None = None, tier3_builders: list[str] | frozenset[str] | None = None) -> Flask:
    """The WSGI app on the store at `db_url` (default store when None). GET only.

    `tier3_builders`: the builders whose branch builds decide the PEP 11 verdict and the
    badges (default: $EMSCRIPTEN_PYTHON_TIER3_BUILDERS, else every builder whose runs come
    from Buildbot, so a GitHub Actions or local builder never counts)."""
    app = _ReadOnlyFlask(__name__, static_folder=None)   # no /static route: the pages have no files of their own
    app.json = _StrictJSON(app)
    store = Store(db_url)
    app.extensions["emscripten_python_status"] = store
    app.config["TIER3_BUILDERS"] = frozenset(tier3_builders) if tier3_builders else tier3_from_env()

    @app.before_request
    def _session():
        g.session = store.reader()

    @app.teardown_request
    def _close(_exc):
        session = g.pop("session", None)
        if session is not None:
            session.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-cache, max-age=0")
        return response

    _filters(app)
    _pages(app)
    _api(app)
    compare_views.register(app)     # compare, test history, run delta (compare_views.py)
    return app


LINK_BASE = "emscripten_python.link_base"     # WSGI environ key: absolute URL of the site root


def _link(path: str) -> str:
    """`path` (from the site root) relative to the page being rendered; absolute when the host
    says where the site is (the Buildbot dashboard, whose HTML the web UI shows at /#/…)."""
    prefix = g.get("link_prefix")
    if prefix is None:   # once per request: a page has thousands of links
        prefix = g.link_prefix = request.environ.get(LINK_BASE) or "../" * (request.path.count("/") - 1)
    return prefix + quote(path)


def _href(path: str) -> Markup:
    """` href="…"` of an <a> to `path` (from the site root); nothing, so the link is plain
    text, when `status export` does not hold that page (window.py: a run outside its window)."""
    window = request.environ.get(EXPORT_ENV)
    if window is not None and not window.holds(path):
        return Markup("")
    return Markup(' href="%s"') % _link(path)


def _ago(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _tier3() -> frozenset[str] | None:
    return current_app.config["TIER3_BUILDERS"]


def _no_bidi(value):
    """Every value a template prints: direction controls from results.json removed, so a
    name cannot reorder the page's text around it (the templates also isolate each one in
    <bdi>, for right-to-left letters)."""
    if not isinstance(value, str) or value.isascii():   # isascii: O(1), and most values are
        return value
    return Markup(strip_bidi(value)) if isinstance(value, Markup) else strip_bidi(value)


def _filters(app: Flask) -> None:
    app.jinja_env.finalize = _no_bidi
    app.jinja_env.globals.update(link=_link, href=_href, svg=svg, insight=insight, pythoninfo_keys=SHOWN_KEYS)
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if isinstance(d, datetime) else "–"
    app.jinja_env.filters["pct"] = lambda x: "–" if x is None else f"{x * 100:.0f}%"
    app.jinja_env.filters["secs"] = lambda s: "–" if s is None else f"{s / 60:.1f} min" if s >= 120 else f"{s:.1f} s"
    app.jinja_env.filters["state"] = insight.state_of
    # Autoescaping does not stop a javascript: link from results.json; only web links become links.
    app.jinja_env.filters["web_url"] = lambda url: bool(url) and url.lower().startswith(("https://", "http://"))


def _pages(app: Flask) -> None:
    @app.get("/")
    @app.get("/index.html")
    def overview():
        return render_template("overview.html", grid=insight.overview(g.session, _tier3()))

    @app.get("/branch/<path:branch>.html")
    def branch(branch: str):
        healths = [insight.health(g.session, b, c) for b, c in insight.groups(g.session, branch)]
        if not healths:
            abort(404)
        return render_template("branch.html", branch=branch, healths=healths,
                               crashes=insight.crashes(g.session, branch, limit=20),
                               bisections=bisections.for_branch(g.session, branch))

    @app.get(f"/pr/{PR_ROUTE}.html")
    def pull_request(number: int):
        runs = insight.pr_runs(g.session, number) or abort(404)
        return render_template("pr.html", number=number, runs=runs)

    @app.get("/run/<path:run_id>.html")   # path: a store from before validation may hold a "/"
    def run(run_id: str):
        row = insight.run_detail(g.session, run_id) or abort(404)
        return render_template("run.html", run=row)

    @app.get("/flaky.html")
    def flaky():
        return render_template("flaky.html", flaky=insight.flaky_tests(g.session))

    @app.get("/crashes.html")
    def crashes():
        return render_template("crashes.html", crashes=insight.crashes(g.session))

    @app.get("/pep11.html")
    def pep11():
        return render_template("pep11.html", branches=insight.pep11(g.session, tier3_builders=_tier3()))

    @app.get("/badge/<path:branch>.svg")
    def badge(branch: str):
        if not insight.groups(g.session, branch):
            abort(404)
        result = next(iter(insight.pep11(g.session, branch, tier3_builders=_tier3())), None)
        if result is None:
            color, message = "pending", "no Tier 3 builder"
        else:
            states = {h.state for h in result["builders"]}
            color = "red" if "red" in states else "green" if states == {"green"} else "pending"
            message = {"red": "failing", "green": "passing", "pending": "pending"}[color]
            if result["stable"]:
                message += ", stable"
        return Response(svg.badge(f"emscripten {strip_bidi(branch)}", message, color), mimetype="image/svg+xml",
                        headers={"Cache-Control": "no-cache, max-age=0, must-revalidate"})


def _api(app: Flask) -> None:
    @app.get("/api/overview.json")
    def api_overview():
        grid = insight.overview(g.session, _tier3())
        return jsonify({"window": insight.WINDOW, "branches": grid["branches"], "builders": grid["builders"],
                        "tier3_builders": grid["tier3"], "cells": [health_json(h) for h in grid["cells"].values()],
                        "pull_requests": [pr_json(p.number, p.branch, [p.last]) for p in grid["prs"]]})

    @app.get("/api/branch/<path:branch>.json")
    def api_branch(branch: str):
        healths = [insight.health(g.session, b, c) for b, c in insight.groups(g.session, branch)]
        if not healths:
            abort(404)
        return jsonify({"branch": branch, "builders": [health_json(h, runs=True) for h in healths],
                        "bisections": [bisections.bisection_json(b) for b in bisections.for_branch(g.session, branch)]})

    @app.get(f"/api/pr/{PR_ROUTE}.json")
    def api_pr(number: int):
        runs = insight.pr_runs(g.session, number) or abort(404)
        return jsonify(pr_json(number, runs[0].branch, runs))

    @app.get("/api/run/<path:run_id>.json")
    def api_run(run_id: str):
        return jsonify(run_json(insight.run_detail(g.session, run_id) or abort(404)))

    @app.get("/api/flaky.json")
    def api_flaky():
        return jsonify({"rule": insight.FLAKY_RULE, "tests": [flaky_json(f) for f in insight.flaky_tests(g.session)]})

    @app.get("/api/pep11.json")
    def api_pep11():
        return jsonify({"rule": insight.STABLE_RULE, "branches": [
            {"branch": p["branch"], "stable": p["stable"],
             "builders": [{"builder": h.builder, "stable": h.stable,
                           "last": [r.outcome for r in h.finished]} for h in p["builders"]]}
            for p in insight.pep11(g.session, tier3_builders=_tier3())]})
