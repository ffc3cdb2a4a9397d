"""Artifacts of a run copied to the master and linked from the build.

Each lands in UPLOAD_DIR/<builder>/<build number>/<file name>; a web server that serves
UPLOAD_DIR at BASE_URL makes the links work (the Buildbot web UI does not serve files).
"""

from __future__ import annotations

import posixpath
import re

from buildbot.process.properties import renderer
from buildbot.process.results import SUCCESS
from buildbot.steps.transfer import FileUpload


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


class EmscriptenUpload(FileUpload):
    """Uploads one file of the run; sets `<kind>_url` (the URL, or the master path without one)."""

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
            self.setProperty(f"{self.kind}_url", self.url or self.masterdest, type(self).__name__)
        return result
