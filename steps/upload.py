"""Artifacts of a run copied to the master and linked from the build.

Each lands in UPLOAD_DIR/<builder>/<build number>/<file name>; a web server that serves
UPLOAD_DIR at BASE_URL makes the links work (the Buildbot web UI does not serve files).
The master's own reporters (the status ingest, the PR report) find the files through the
`<kind>_path` property, the absolute path on the master, whether or not there is a URL.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from datetime import datetime, timezone

from buildbot.process.properties import renderer
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS
from buildbot.steps.transfer import FileUpload
from twisted.internet import threads

from ..results.model import Run, Stage
from .command import RESULTS_MAXSIZE
from .stages import TOOLCHAIN_STARTED_PROPERTY


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "builder"


def artifact_location(root: str, workersrc):
    """Renders ROOT/<builder>/<number>/<basename of workersrc> (a path or a URL)."""

    @renderer
    def location(props):
        def join(source):
            return posixpath.join(root.rstrip("/"), _slug(props.getProperty("buildername")),
                                  str(props.getProperty("buildnumber")), posixpath.basename(source))
        return props.render(workersrc).addCallback(join)

    return location


def uploaded_path(properties: dict, kind: str = "results", basedir: str | os.PathLike | None = None) -> Path | None:
    """The master-side path of a build's upload of `kind`, from its (plain name -> value) properties.

    `<kind>_path` first; else `<kind>_url` when it is a path rather than a URL (builds made
    before `<kind>_path` existed, without BASE_URL). A relative path is taken from `basedir`
    (the master's directory, which is where FileUpload wrote it). None when neither is set.
    """
    for name in (f"{kind}_path", f"{kind}_url"):
        value = properties.get(name)
        if not value or not isinstance(value, str) or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
            continue
        path = Path(value).expanduser()
        return path if path.is_absolute() or basedir is None else Path(basedir) / path
    return None


class EmscriptenUpload(FileUpload):
    """Uploads one file of the run; sets `<kind>_url` (the URL, or the master path without one)
    and `<kind>_path` (always the absolute path on the master)."""

    def __init__(self, kind: str, workersrc, *, upload_dir="artifacts", base_url=None, **kwargs):
        self.kind = kind
        kwargs.setdefault("name", f"upload-{kind}")
        kwargs.setdefault("alwaysRun", True)
        kwargs.setdefault("flunkOnFailure", False)
        kwargs.setdefault("warnOnFailure", True)
        super().__init__(workersrc=workersrc, masterdest=artifact_location(upload_dir, workersrc),
                         url=artifact_location(base_url, workersrc) if base_url else None,
                         urlText=kind, **kwargs)

    async def run(self):
        result = await super().run()
        if result == SUCCESS:
            self.set_location_properties()
        return result

    def set_location_properties(self) -> None:
        self.setProperty(f"{self.kind}_url", self.url or self.masterdest, type(self).__name__)
        # FileUpload wrote relative to the master's working directory (its basedir).
        self.setProperty(f"{self.kind}_path", os.path.abspath(os.path.expanduser(self.masterdest)),
                         type(self).__name__)


class EmscriptenResultsUpload(EmscriptenUpload):
    """upload-results: the run's results.json, from the worker once the CLI has started (the
    toolchain step); when there is none (the checkout failed or was stopped, clean-previous
    failed, the CLI could not start) the master writes it: outcome `error`, or `cancelled` after
    a Stop, with the step that ended the build as the run's one stage, so the build is recorded
    like every other early end. A missing file is not worth a warning: that step says why."""

    def __init__(self, workersrc, *, branch: str | None = None, **kwargs):
        """branch: the factory's branch, for a build whose own `branch` property is empty (forced)."""
        kwargs.setdefault("warnOnFailure", False)
        # The worker ran the PR's code: no more than every reader accepts reaches the master's
        # disk; a larger one fails the upload.
        kwargs.setdefault("maxsize", RESULTS_MAXSIZE)
        super().__init__("results", workersrc, **kwargs)
        self.branch = branch

    async def run(self):
        if self.getProperty(TOOLCHAIN_STARTED_PROPERTY) and await super().run() == SUCCESS:
            return SUCCESS
        run = self.early_end_run(await self.build.getUrl())
        await threads.deferToThread(run.save, Path(os.path.expanduser(self.masterdest)))
        self.set_location_properties()
        self.descriptionDone = f"recorded: {run.outcome} in {run.stages[0].name}"
        return SUCCESS

    def early_end_run(self, build_url: str) -> Run:
        ended = next((step for step in self.build.executedSteps
                      if step.results in (FAILURE, EXCEPTION, CANCELLED)), None)
        stage = _slug(ended.name if ended is not None else "checkout")
        stopped = self.build.stopped or (ended is not None and ended.results == CANCELLED)
        run = Run(origin={"kind": "buildbot", "builder": self.getProperty("buildername"), "url": build_url},
                  source={"branch": self.getProperty("branch") or self.branch,
                          "commit": self.getProperty("got_revision") or self.getProperty("revision") or None},
                  stages=[Stage(stage, "cancelled" if stopped else "failed")])
        if stopped:
            run.cancelled = {"command": stage, "signal": "stop",
                             "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        run.decide_outcome()
        return run
