"""A builder whose checkout keeps failing is red, never green: the Buildbot master records a
build that ended before the CLI started as a results.json of its own (outcome `error`, the
failed step as the one stage, no tests; steps/upload.py) and stores it through the same
`record_run` as every build (steps/status_report.py). The status side must count those runs."""

from __future__ import annotations

import re

import pytest

from emscripten_python.results.model import Run, Stage
from emscripten_python.status import create_app, record_run
from emscripten_python.status.export import export
from emscripten_python.status.ingest import ingest
from status_factory import make_run

BUILDER = "emscripten node"


def _early_end(url: str, tmp_path, n: int, *, builder: str = BUILDER, stopped: bool = False):
    """The results.json the master writes for a build that ended in its checkout, stored as
    the master's hook stores every build."""
    run = Run(origin={"kind": "buildbot", "builder": builder, "url": f"https://buildbot.invalid/#/builders/1/builds/{n}"},
              source={"branch": "3.13", "commit": None},
              stages=[Stage("checkout", "cancelled" if stopped else "failed")])
    if stopped:
        run.cancelled = {"command": "checkout", "signal": "stop", "at": run.created}
    run.decide_outcome()
    path = tmp_path / f"early-{n}.json"
    run.save(path)
    assert record_run(path, url, origin="buildbot", builder=builder, branch="3.13",
                      build_url=run.origin["url"]) == "inserted"
    return run


@pytest.fixture
def broken(store, tmp_path):
    """(client, the three early-end runs): a green, stable lane whose checkout then fails."""
    for hour in range(12):
        ingest(store, make_run(branch="3.13", builder=BUILDER, hours=hour))
    runs = [_early_end(store.url, tmp_path, n) for n in range(3)]
    return create_app(store.url).test_client(), runs


def test_a_lane_whose_checkout_keeps_failing_is_red(broken):
    client, runs = broken
    assert [r.outcome for r in runs] == ["error"] * 3
    cell = next(c for c in client.get("/api/overview.json").get_json()["cells"] if c["builder"] == BUILDER)
    assert cell["state"] == "red" and cell["streak"] == 3 and cell["stable"] is False, cell
    assert "red for 3 runs" in client.get("/index.html").get_data(as_text=True)
    assert "failing" in client.get("/badge/3.13.svg").get_data(as_text=True)
    [verdict] = client.get("/api/pep11.json").get_json()["branches"]
    assert verdict["stable"] is False and verdict["builders"][0]["last"][:3] == ["error"] * 3
    branch = client.get("/branch/3.13.html").get_data(as_text=True)
    assert '<span class="tag red">red for 3</span>' in branch
    page = client.get(f"/run/{runs[-1].run_id}.html").get_data(as_text=True)
    assert "checkout" in page and "error" in page
    for path in ("/flaky.html", "/crashes.html", "/pep11.html", "/api/flaky.json"):
        assert client.get(path).status_code == 200, path


def test_a_stop_during_checkout_neither_greens_nor_breaks_the_red(broken, store, tmp_path):
    client, _ = broken
    stopped = _early_end(store.url, tmp_path, 9, stopped=True)
    assert stopped.outcome == "cancelled"
    cell = next(c for c in client.get("/api/overview.json").get_json()["cells"] if c["builder"] == BUILDER)
    assert cell["state"] == "red" and cell["streak"] == 3, cell


def test_a_builder_that_never_checked_out_is_red_not_pending(broken, store, tmp_path):
    client, _ = broken
    for n in range(2):
        _early_end(store.url, tmp_path, 20 + n, builder="emscripten browser")
    cell = next(c for c in client.get("/api/overview.json").get_json()["cells"] if c["builder"] == "emscripten browser")
    assert cell["state"] == "red" and cell["streak"] == 2, cell
    assert "failing" in client.get("/badge/3.13.svg").get_data(as_text=True)


def test_failed_checkouts_export(broken, store, tmp_path):
    _, runs = broken
    site = tmp_path / "site"
    export(store.url, site)
    text = (site / "run" / f"{runs[-1].run_id}.html").read_text()
    assert "checkout" in text
    assert re.search(r'class="[^"]*red', (site / "index.html").read_text())
